"""Where a session gets its access tokens: the one interface ``BoxSession`` depends on.

Exactly one process may spend a connection's refresh token (the token authority); every other
process asks it for short-lived access tokens. A token source is that asking, seen from the
session. Adding a place tokens come from is adding one class with these two methods:

========================  ===================================================================
``VaultTokenSource``      ``tokens``: the vault folder on this machine; refreshes under the
                          connection's cross-process lock (single-flight), saving each new pair
========================  ===================================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .records import Token


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
