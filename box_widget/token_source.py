"""Where a session gets its access tokens: the one interface ``BoxSession`` depends on.

Exactly one process may spend a connection's refresh token (the token authority); every other
process asks it for short-lived access tokens. A token source is that asking, seen from the
session. Adding a place tokens come from is adding one class with these two methods:

========================  ===================================================================
``VaultTokenSource``      ``tokens``: the vault folder on this machine; refreshes under the
                          connection's cross-process lock (single-flight), saving each new pair
``ServerTokenSource``     ``server_source``: the Jupyter server, for a connection made with
                          the server's Box app (``app: "server"``: no secret here); it
                          refreshes through its vault, with its secret as configured now
``HubTokenSource``        ``hub_client``: the hub's box-widget service, for every connection
                          in hub mode (``hub_connection``); the service refreshes
========================  ===================================================================

The last two share ``authority.AuthorityTokenSource``: a token authority at a URL, asked with
a token, for access tokens only.

``for_record`` picks the source of a saved connection; in hub mode there is no saved
connection here, and ``HubConnection.session`` uses the service's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .records import ConnectionRecord, Token
    from .vault import Vault


class TokenSource(Protocol):
    """Gives a session the access token to send, and a new one when Box refuses it."""

    #: The connection's name (for messages and reprs; never a secret).
    name: str

    def fresh(self) -> Token:
        """The token to send now: refreshed first if it is about to expire."""
        ...

    def refresh(self, failed: str | None = None) -> Token:
        """A token that is neither expiring nor ``failed`` (an access token Box refused)."""
        ...


def reopened(vault: Vault, name: str) -> TokenSource:
    """The token source of connection ``name`` of ``vault``, as an unpickled one reopens it
    (a ``ReauthorizationRequired`` saying where it looked if that vault has no such token)."""
    from .errors import ReauthorizationRequired

    record = vault.load(name)
    if record is None or not record.get("token"):
        msg = (
            f"Connection {name!r} is not in the vault at {vault.home} on this machine, so this "
            "process cannot use it. Give it the vault (the same folder and key), or use the "
            "file system (box://) from a notebook under Jupyter, whose workers get a grant."
        )
        raise ReauthorizationRequired(msg, connection=name)
    return for_record(vault, name, record)


def for_record(vault: Vault, name: str, record: ConnectionRecord) -> TokenSource:
    """The token source of a saved connection: the Jupyter server for one made with the
    server's app (seeded with the vault's access token: no request while it lasts), else the
    vault, refreshing with the connection's own Client ID and Secret."""
    from .records import uses_server_app
    from .revoke import own_client

    if uses_server_app(record):
        from .server_source import ServerTokenSource

        return ServerTokenSource(name, token=record.get("token"))
    from .tokens import VaultTokenSource

    return VaultTokenSource(vault, name, record, own_client(record))
