"""The token source of a connection made with the Jupyter server's Box app: the server.

Such a connection holds no secret (``app: "server"``): this process asks its Jupyter server
(``local_server``) for access tokens over the token API (``protocol.CONNECTIONS_PATH``), and the
server refreshes it with its secret as configured now. This process holds access tokens only.
The asking is ``authority.AuthorityTokenSource``'s, shared with the hub's service.
"""

from __future__ import annotations

from .authority import Authority, AuthorityTokenSource
from .errors import AuthorityUnreachable
from .local_server import HOW_TO, find_server
from .protocol import CONNECTIONS_PATH

__all__ = ["HOW_TO", "ServerTokenSource"]


class ServerTokenSource(AuthorityTokenSource):
    """A token source that asks the Jupyter server this process runs under (found with
    ``find_server`` when not given as ``authority``) for access tokens."""

    prefix = CONNECTIONS_PATH

    def find(self) -> Authority:
        """The Jupyter server that started this process, or ``AuthorityUnreachable``."""
        try:
            return find_server()
        except AuthorityUnreachable as exc:
            msg = f"{exc.what} {HOW_TO}"
            raise AuthorityUnreachable(msg, tried=exc.tried, connection=self.name) from None
