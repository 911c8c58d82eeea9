"""The token source of a connection made with the Jupyter server's Box app: the server.

Such a connection holds no secret (``app: "server"``): this process asks its Jupyter server
(``local_server``) for access tokens over the token API (``protocol.CONNECTIONS_PATH``), and the
server refreshes it with its secret as configured now. This process holds access tokens only.
"""

from __future__ import annotations

from typing import Any

import requests

from .errors import AuthorityUnreachable, BoxWidgetError
from .local_server import LocalServer, find_server
from .protocol import connection_path, token_path
from .records import Token
from .remote_source import AskingTokenSource

#: What to do when the server cannot be found or reached, after what happened.
HOW_TO = (
    "This connection uses the Jupyter server's Box app, whose secret only that server holds: "
    "run this in a notebook on that server, or connect with your own Client ID and Client "
    "Secret."
)


class ServerTokenSource(AskingTokenSource):
    """A token source (see ``token_source``) that asks the Jupyter server for access tokens.

    ``token``: an access token to start with (its expiry known; e.g. the vault's), so that the
    first request need not ask; ``server``: found from this process (``find_server``) when not
    given. One request at a time per source: threads waiting for a new token share it.
    Pickled, it carries the connection's name only (no token, not the server's login token).
    """

    authority = "the Jupyter server"

    def __init__(
        self, name: str, *, token: Token | None = None, server: LocalServer | None = None
    ) -> None:
        super().__init__(name, token=token)
        self._server = server

    def __repr__(self) -> str:
        return f"ServerTokenSource(connection={self.name!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ServerTokenSource, (self.name,))

    def revoke(self) -> bool:
        """Have the server revoke this connection at Box and delete it; whether there was one."""
        with self._lock:
            self._forget()
            return bool(self._ask("DELETE", connection_path(self.name)).get("revoked"))

    def _ask_token(self, body: dict[str, Any]) -> dict[str, Any]:
        return self._ask("POST", token_path(self.name), body)

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
        return self._read(response, server.url)

    def _not_understood(self, where: str, status: int) -> BoxWidgetError:
        if status in (301, 302, 303, 307, 308, 401, 403):
            why = (
                "refused this process's login token, or your Jupyter account lacks the "
                "'write' permission on box_widget"
            )
        elif status == 404:
            why = "has no box-widget token API (its box_widget extension is off, or older)"
        else:
            why = f"answered HTTP {status}"
        msg = f"The Jupyter server at {where} {why}. {HOW_TO}"
        return AuthorityUnreachable(msg, tried=(where,), connection=self.name)
