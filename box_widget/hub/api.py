"""The service's JSON API for a hub user's kernels and server (HUB_CONTRACT.md, "Routes").

Every route works in the vault of the token's hub user only: another user's connection is
indistinguishable from a missing one (404 ``not_found``). Errors are ``token_api``'s answers
(kind, words, action; never token material).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from tornado import web

from .._version import __version__
from ..errors import BoxWidgetError
from ..token_api import answer_off_loop, token_answer
from .auth import HubAPIHandler
from .service import refused
from .users import KEY_SOURCE

log = logging.getLogger(__name__)
T = TypeVar("T")


class BoxAPIHandler(HubAPIHandler):
    """A user route: runs its work off the event loop and answers JSON."""

    async def run(self, work: Callable[[], T], done: Callable[[T], dict[str, Any]]) -> None:
        """Run ``work`` off the event loop, then answer ``done(result)``, or the error as
        ``token_api.error_answer`` (``token_api.answer_off_loop``)."""
        answer = await answer_off_loop(work, done)
        if answer.error is not None:
            self.log_refusal(answer.kind, answer.error)
        self.answer(answer.body, answer.status)

    def log_refusal(self, kind: str, exc: BoxWidgetError) -> None:
        """The service's log line of a refused request (words: never token material)."""
        who = self.hub_model.get("name")
        log.info("hub user %r: connection %r: %s", who, exc.connection, kind)


class StatusHandler(BoxAPIHandler):
    """``GET api/status``: the service, its Box app (never the secret), your connections."""

    async def get(self) -> None:
        hub_user = self.hub_user
        box = self.box

        def status() -> dict[str, Any]:
            vault = box.vaults.for_user(hub_user)
            return {
                "version": __version__,
                "mode": "hub",
                "hub_user": hub_user,
                "client_id": box.client_id or None,
                "endpoints": box.endpoints.to_dict(),
                "callback_path": self.settings["callback_path"],
                "redirect_uri": self.configured_redirect_uri or None,
                "client_secret_configured": bool(box.client_secret),
                "vault": {"key_source": KEY_SOURCE},
                "connections": [vault.summary(n).to_status() for n in vault.names()],
            }

        await self.run(status, lambda answer: answer)


class ConnectionHandler(BoxAPIHandler):
    """``GET api/connections/<name>``: its summary; ``DELETE``: revoked at Box, deleted."""

    async def get(self, name: str) -> None:
        hub_user = self.hub_user

        def summary() -> dict[str, Any]:
            vault = self.box.vaults.for_user(hub_user)
            if vault.load(name) is None:
                msg = f"You have no Box connection {name!r}."
                raise refused(msg, name, kind="not_found")
            return vault.summary(name).to_status()

        await self.run(summary, lambda answer: answer)

    async def delete(self, name: str) -> None:
        hub_user = self.hub_user
        await self.run(lambda: self.box.revoke(hub_user, name), lambda r: {"revoked": r})


class SignInHandler(BoxAPIHandler):
    """``POST api/connections/<name>/sign-in``: Box's authorize URL, pending for this user."""

    async def post(self, name: str) -> None:
        hub_user, redirect_uri = self.hub_user, self.redirect_uri()
        self.body()
        await self.run(lambda: self.box.start_sign_in(hub_user, name, redirect_uri), dict)


class CompleteHandler(BoxAPIHandler):
    """``POST api/connections/<name>/complete``: the headless path (the pasted address)."""

    async def post(self, name: str) -> None:
        hub_user = self.hub_user
        redirected = self.body().get("redirected_url")
        if not isinstance(redirected, str):
            raise web.HTTPError(400, "send {'redirected_url': the address Box sent you to}")
        await self.run(
            lambda: self.box.complete(hub_user, name, redirected), lambda user: {"user": user}
        )


class TokenHandler(BoxAPIHandler):
    """``POST api/connections/<name>/token``: a fresh access token and its expiry only."""

    async def post(self, name: str) -> None:
        hub_user = self.hub_user
        failed = self.body().get("failed")
        await self.run(lambda: self.box.token(hub_user, name, failed), token_answer)


class AuditHandler(BoxAPIHandler):
    """``GET api/connections/<name>/audit``: this connection's audit events."""

    async def get(self, name: str) -> None:
        hub_user = self.hub_user
        await self.run(
            lambda: self.box.audit_events(hub_user, name), lambda events: {"events": events}
        )
