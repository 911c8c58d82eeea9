"""A connection's current token, refreshed once for all threads and processes that share it.

Box refresh tokens work once: two kernels refreshing the same connection at the same time would
break it (``invalid_grant``). So a refresh takes the connection's vault lock, re-reads the vault,
adopts a token another process already refreshed, and only otherwise spends the refresh token,
saving the new pair before anyone uses the new access token.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from .errors import ReauthorizationRequired
from .oauth import TokenClient, expiry_margin
from .vault import Vault

log = logging.getLogger(__name__)
TOKEN_FIELDS = ("access_token", "refresh_token", "token_type", "expires_in", "expires_at")


def normalize(token: dict[str, Any]) -> dict[str, Any]:
    """The fields of a token worth saving, with an absolute ``expires_at``."""
    kept = {k: token[k] for k in TOKEN_FIELDS if token.get(k) is not None}
    kept["expires_in"] = float(kept.get("expires_in", 3600))
    kept.setdefault("expires_at", time.time() + kept["expires_in"])
    kept["expires_at"] = float(kept["expires_at"])
    return kept


def connected(record: dict[str, Any] | None) -> bool:
    """Whether a saved connection can still get an access token (a refresh token, or a live
    client-credentials token)."""
    token = (record or {}).get("token") or {}
    return bool(token.get("refresh_token") or
                (token and time.time() < float(token.get("expires_at", 0))))


def expiring(token: dict[str, Any], now: float | None = None) -> bool:
    """Whether ``token`` is expired or within its refresh margin."""
    now = time.time() if now is None else now
    return now >= float(token["expires_at"]) - expiry_margin(float(token["expires_in"]))


class TokenKeeper:
    """Holds one connection's token in memory; refreshes through the vault, single-flight."""

    def __init__(self, vault: Vault, name: str, record: dict[str, Any], client: TokenClient):
        self.vault = vault
        self.name = name
        self.client = client
        self._record = record
        if not record.get("token"):
            msg = f"Connection {name!r} has no token yet: connect it first."
            raise ReauthorizationRequired(msg)
        self._token: dict[str, Any] = record["token"]

    def __repr__(self) -> str:
        return f"TokenKeeper(connection={self.name!r})"

    @property
    def token(self) -> dict[str, Any]:
        """The token in use (the caller must not show it anywhere)."""
        return self._token

    def fresh(self) -> dict[str, Any]:
        """The token to send now, refreshed first if it is about to expire."""
        token = self._token
        return self.refresh() if expiring(token) else token

    def refresh(self, failed: str | None = None) -> dict[str, Any]:
        """A token that is not expiring and not ``failed`` (an access token Box refused).

        Under the connection's lock: re-read the vault; adopt its token if another thread or
        process refreshed already; else refresh at Box and save before returning.
        """
        with self.vault.lock(self.name):
            record = self.vault.load(self.name)
            if record is None or not record.get("token"):
                msg = (f"Connection {self.name!r} was disconnected (its vault record is gone). "
                       f"Connect again: Generate in the form, or `box-widget login {self.name}`.")
                raise ReauthorizationRequired(msg)
            stored = record["token"]
            if stored["access_token"] != failed and not expiring(stored):
                self._adopt(record)
                return self._token
            new = normalize(self._grant(stored))
            record = {**record, "token": new, "refreshed_at": time.time()}
            self.vault.save(self.name, record)
            log.info("connection %r: token refreshed", self.name)
            self._adopt(record)
            return self._token

    def _grant(self, stored: dict[str, Any]) -> dict[str, Any]:
        record = self._record
        if record.get("kind") == "client_credentials":
            return self.client.client_credentials(record["subject_type"], record["subject_id"])
        if not stored.get("refresh_token"):
            msg = f"Connection {self.name!r} has no refresh token: connect it again."
            raise ReauthorizationRequired(msg)
        return self.client.refresh(stored["refresh_token"], name=self.name)

    def _adopt(self, record: dict[str, Any]) -> None:
        self._record = record
        self._token = record["token"]
