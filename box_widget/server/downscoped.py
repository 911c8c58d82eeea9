"""The downscoped tokens the server gives workers whose grant asks for them.

Per grant, the last token Box's token exchange gave (``TokenClient.downscope``) and the parent
access token it came from: reused while that parent is the connection's current token and it is
not expiring nor refused by a worker; else exchanged again. A downscoped token has no refresh
token and lives no longer than its parent, so workers come back at the parent's expiry.
"""

from __future__ import annotations

import threading

from ..oauth import TokenClient
from ..records import Token
from ..token_api import fingerprint
from ..tokens import expiring, normalize


class DownscopedTokens:
    """Downscoped tokens by grant id, exchanged once per parent token (single-flight)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_grant: dict[str, tuple[str, Token]] = {}

    def token(
        self,
        grant_id: str,
        parent: Token,
        client: TokenClient,
        scopes: tuple[str, ...],
        failed: object = None,
    ) -> Token:
        """A downscoped token of ``parent`` for grant ``grant_id``; ``failed``: the fingerprint
        of a downscoped token a worker had refused."""
        with self._lock:
            cached = self._by_grant.get(grant_id)
            if cached is not None:
                parent_value, token = cached
                if (
                    parent_value == parent["access_token"]
                    and not expiring(token)
                    and failed != fingerprint(token["access_token"])
                ):
                    return token
            token = normalize(client.downscope(parent["access_token"], scopes))
            self._by_grant[grant_id] = (parent["access_token"], token)
            return token

    def forget(self, grant_id: str) -> None:
        with self._lock:
            self._by_grant.pop(grant_id, None)
