"""The token source of a connection made with the Jupyter server's Box app: the server.

Such a connection holds no secret (``app: "server"``): this process asks its Jupyter server
(``local_server``) for access tokens over the token API (``protocol.CONNECTIONS_PATH``), and the
server refreshes it with its secret as configured now. This process holds access tokens only.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import requests

from .errors import AuthorityUnreachable, BoxWidgetError
from .local_server import LocalServer, find_server
from .protocol import connection_path, token_path
from .records import Token
from .token_api import error_from, fingerprint, token_from_answer
from .tokens import expiring

log = logging.getLogger(__name__)

#: What to do when the server cannot be found or reached, after what happened.
HOW_TO = (
    "This connection uses the Jupyter server's Box app, whose secret only that server holds: "
    "run this in a notebook on that server, or connect with your own Client ID and Client "
    "Secret."
)


class ServerTokenSource:
    """A token source (see ``token_source``) that asks the Jupyter server for access tokens.

    ``token``: an access token to start with (its expiry known; e.g. the vault's), so that the
    first request need not ask; ``server``: found from this process (``find_server``) when not
    given. One request at a time per source: threads waiting for a new token share it.
    """

    def __init__(
        self, name: str, *, token: Token | None = None, server: LocalServer | None = None
    ) -> None:
        self.name = name
        self._server = server
        self._lock = threading.Lock()
        self._token: Token | None = None
        if token is not None:
            self._token = Token(
                access_token=token["access_token"],
                expires_in=token["expires_in"],
                expires_at=token["expires_at"],
            )

    def __repr__(self) -> str:
        return f"ServerTokenSource(connection={self.name!r})"

    def fresh(self) -> Token:
        """The token to send now: a new one from the server if it is about to expire."""
        token = self._token
        if token is not None and not expiring(token):
            return token
        return self.refresh()

    def refresh(self, failed: str | None = None) -> Token:
        """A token that is not expiring and not ``failed`` (an access token Box refused); only
        its fingerprint is sent to the server."""
        with self._lock:
            token = self._token
            if token is not None and token["access_token"] != failed and not expiring(token):
                return token  # another thread got a new one meanwhile
            body = {"failed": fingerprint(failed)} if failed else {}
            answer = self._ask("POST", token_path(self.name), body)
            self._token = token_from_answer(answer)
            log.debug("connection %r: access token from the Jupyter server", self.name)
            return self._token

    def revoke(self) -> bool:
        """Have the server revoke this connection at Box and delete it; whether there was one."""
        with self._lock:
            self._token = None
            return bool(self._ask("DELETE", connection_path(self.name)).get("revoked"))

    def _ask(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            server = self._server or find_server()
        except AuthorityUnreachable as exc:
            msg = f"{exc.what} {HOW_TO}"
            raise AuthorityUnreachable(msg, tried=exc.tried, connection=self.name) from None
        self._server = server
        try:
            response = server.request(method, path, body)
        except requests.RequestException as exc:
            msg = (
                f"The Jupyter server at {server.url} (process {server.pid}) did not answer "
                f"({type(exc).__name__}). {HOW_TO}"
            )
            raise AuthorityUnreachable(
                msg, tried=(server.url,), connection=self.name, action="retry"
            ) from None
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code == 200 and isinstance(answer, dict):
            return answer
        if isinstance(answer, dict) and "error" in answer and "message" in answer:
            raise error_from(answer, self.name)
        raise self._not_understood(server, response.status_code)

    def _not_understood(self, server: LocalServer, status: int) -> BoxWidgetError:
        if status in (301, 302, 303, 307, 308, 401, 403):
            why = (
                "refused this process's login token, or your Jupyter account lacks the "
                "'write' permission on box_widget"
            )
        elif status == 404:
            why = "has no box-widget token API (its box_widget extension is off, or older)"
        else:
            why = f"answered HTTP {status}"
        msg = f"The Jupyter server at {server.url} {why}. {HOW_TO}"
        return AuthorityUnreachable(msg, tried=(server.url,), connection=self.name)
