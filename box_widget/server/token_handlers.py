"""The token API: the Jupyter server as the token authority of connections made with its app.

A connection made with the server's Box app (``app: "server"``) holds no secret; its kernels ask
here for access tokens (``ServerTokenSource``), and the server refreshes it through the vault's
single-flight refresh (``VaultTokenSource``) with ``c.BoxWidgetApp.client_secret`` as configured
at that moment, only ever sending it to the Box addresses configured here. It also revokes such
connections. The routes and answers are ``protocol``'s (``CONNECTIONS_PATH``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from tornado import web

from ..endpoints import BoxEndpoints
from ..errors import BoxWidgetError, ConfigurationError, TokenAPIRefused
from ..oauth import TokenClient
from ..records import ConnectionRecord, Token, signed_out_words, uses_server_app
from ..revoke import revoke_saved
from ..token_api import (
    KINDS,
    Answer,
    answer_off_loop,
    error_answer,
    fingerprint,
    json_object,
    token_answer,
)
from ..tokens import VaultTokenSource
from ..vault import check_name
from .handlers import BoxHandlerMixin

T = TypeVar("T")


def refused(what: str, name: str, *, kind: str) -> TokenAPIRefused:
    """The token API's refusal of a request; ``kind`` is one of ``protocol.ERROR_KINDS``."""
    return TokenAPIRefused(what, connection=name, kind=kind, action=KINDS[kind][0].action)


class TokenAPIHandler(BoxHandlerMixin, APIHandler):
    """What the token API's handlers share: the checks, and every answer's form."""

    def _client(self, name: str, record: ConnectionRecord) -> TokenClient:
        """The server's app's token client for a connection made with it, else a refusal."""
        if not uses_server_app(record):
            msg = (
                f"Connection {name!r} was made with its own Client ID and Secret, not the "
                "Jupyter server's Box app: the process using it refreshes it itself."
            )
            raise refused(msg, name, kind="not_server_app")
        why = self.box.differs(record.get("client_id"), record.get("endpoints"))
        if why is not None:
            msg = (
                f"Connection {name!r} was made with the Jupyter server's Box app, but the "
                f"server now {why}; its secret was sent nowhere. Connect again."
            )
            raise refused(msg, name, kind="server_app_changed")
        endpoints = BoxEndpoints.from_dict(record["endpoints"])
        return TokenClient(endpoints, record["client_id"], self.box.client_secret)

    async def _answer(self, work: Callable[[], T], done: Callable[[T], dict[str, Any]]) -> None:
        """Run ``work`` off the event loop, then answer ``done(result)``, or the error in words
        (never token material): ``token_api.answer_off_loop``."""
        self._send(await answer_off_loop(work, done))

    def _fail(self, kind: str, exc: BoxWidgetError) -> None:
        """Answer the refusal ``exc``, of ``kind`` (one of ``protocol.ERROR_KINDS``)."""
        self._send(Answer(error_answer(kind, exc), KINDS[kind][1], kind, exc))

    def _send(self, answer: Answer) -> None:
        self.set_header("Cache-Control", "no-store")
        if answer.error is not None:
            connection = answer.error.connection
            self.log.info("box-widget: token API: connection %r: %s", connection, answer.kind)
        self.set_status(answer.status)
        self.finish(json.dumps(answer.body))

    def _saved(self, name: str) -> ConnectionRecord:
        """The server's vault's record of connection ``name``, or a ``not_found`` refusal."""
        vault = self.box.vault
        record = vault.load(check_name(name))
        if record is not None and "token" not in record and record.get("signed_out_at"):
            raise refused(signed_out_words(name), name, kind="reauthorization_required")
        if record is None or not record.get("token"):
            msg = f"The Jupyter server's vault ({vault.home}) has no connection {name!r}."
            raise refused(msg, name, kind="not_found")
        return record

    def _refreshed(
        self, name: str, record: ConnectionRecord, client: TokenClient, failed: Any
    ) -> Token:
        """A fresh token through the vault's single-flight refresh; ``failed``: the refused
        token's fingerprint, if any (a token refreshed since then by anyone is not the refused
        one, and is adopted: ``refresh`` re-reads under the lock)."""
        source = VaultTokenSource(self.box.vault, name, record, client)
        stored = record["token"]["access_token"]
        if not (isinstance(failed, str) and failed == fingerprint(stored)):
            return source.fresh()  # the saved token, unless expiring (then under the lock)
        return source.refresh(failed=stored)

    def _body(self) -> dict[str, Any]:
        """The request's JSON object body (``{}`` if empty), else a 400."""
        body = json_object(self.request.body)
        if body is None:
            raise web.HTTPError(400, "the body must be a JSON object")
        return body


class TokenHandler(TokenAPIHandler):
    """``POST box-widget/api/connections/<name>/token``: a fresh access token (see ``protocol``)."""

    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        failed = self._body().get("failed")
        await self._answer(lambda: self._fresh(name, failed), token_answer)

    def _fresh(self, name: str, failed: Any) -> Token:
        record = self._saved(name)
        return self._refreshed(name, record, self._client(name, record), failed)


class ConnectionHandler(TokenAPIHandler):
    """``DELETE box-widget/api/connections/<name>``: revoke at Box, delete from the vault."""

    @web.authenticated
    @authorized
    async def delete(self, name: str) -> None:
        await self._answer(lambda: self._revoke(name), lambda revoked: {"revoked": revoked})

    def _revoke(self, name: str) -> bool:
        vault = self.box.vault
        record = vault.load(check_name(name))
        if record is not None and not uses_server_app(record):
            self._client(name, record)  # raises: the kernel revokes its own connections
        return revoke_saved(vault, name, self._client_or_why)

    def _client_or_why(self, record: ConnectionRecord) -> TokenClient | str:
        """Under the lock: the server's client, or (its app changed) why Box cannot be told."""
        try:
            return self._client(record["name"], record)
        except TokenAPIRefused as exc:
            if exc.kind == "not_server_app":
                raise
            return exc.what
        except ConfigurationError as exc:  # a malformed saved endpoint
            return exc.what
