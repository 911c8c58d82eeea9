"""Disconnecting a saved connection: revoke its tokens at Box, delete it from the vault.

Done by whoever holds the Box app's secret: a kernel, for a connection made with its own Client
ID and Secret (``BoxConnection.revoke``); the Jupyter server, for one made with the server's app
(its token API's ``DELETE``).
"""

from __future__ import annotations

from collections.abc import Callable

from . import audit
from .endpoints import BoxEndpoints
from .errors import BoxWidgetError
from .oauth import TokenClient
from .records import ConnectionRecord
from .vault import Vault

#: The Box app's token client for a saved connection, or why Box cannot be told (in words).
ClientFor = Callable[[ConnectionRecord], "TokenClient | str"]


def own_client(record: ConnectionRecord) -> TokenClient:
    """The token client of a connection made with its own Client ID and Secret."""
    endpoints = BoxEndpoints.from_dict(record["endpoints"])
    return TokenClient(endpoints, record["client_id"], record["client_secret"] or "")


def revoke_saved(
    vault: Vault, name: str, client_for: ClientFor = own_client, **details: str
) -> bool:
    """Revoke connection ``name``'s tokens at Box and delete it; whether there was one
    (``details``: more for its audit event, e.g. the hub admin who revoked it).

    Under the connection's lock from reading the tokens to deleting them: a refresh by another
    thread or process cannot slip in between and leave a new pair live at Box. When Box cannot
    be told, the connection is still deleted here, and a ``BoxWidgetError`` says so.
    """
    with vault.lock(name):
        record = vault.load(name)
        if record is None:
            return False
        failures: list[str] = []
        if "token" in record:  # else Box refused its tokens already: nothing to revoke
            client = client_for(record)
            failures = [client] if isinstance(client, str) else client.revoke_pair(record["token"])
        vault.delete(name)
    audit.record(vault.home, name, "revoke", at_box=not failures, **details)
    if failures:
        msg = (
            "Disconnected on this machine (the tokens are deleted from the vault), but "
            f"Box could not be told to revoke them: {failures[0]} The access token stops "
            "working within the hour; revoke the app's access in Box's account settings "
            "to be sure."
        )
        raise BoxWidgetError(msg, connection=name)
    return True
