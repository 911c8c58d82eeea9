"""A connection's current token, refreshed once for all threads and processes that share it.

Box refresh tokens work once: two kernels refreshing the same connection at the same time would
break it (``invalid_grant``). So a refresh takes the connection's vault lock, re-reads the vault,
adopts a token another process already refreshed, and only otherwise spends the refresh token,
saving the new pair before anyone uses the new access token.

Before spending it, the refresh marks itself in the vault (process id and time): that proves the
vault can be written, and if the answer never comes back (the process is killed, the connection
drops after Box rotated the token) whoever tries next learns exactly what happened.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from typing import Any

from . import audit
from .errors import BoxWidgetError, ReauthorizationRequired
from .oauth import AnswerInDoubt, AnswerLost, TokenClient, expiry_margin
from .vault import Vault, VaultWriteError

log = logging.getLogger(__name__)
TOKEN_FIELDS = ("access_token", "refresh_token", "token_type", "expires_in", "expires_at")
#: The vault field marking a refresh in flight: ``{"pid", "at"}`` of the process that spends the
#: refresh token; left behind only when that process never learnt Box's answer.
REFRESHING = "refreshing"


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
    return bool(
        token.get("refresh_token") or (token and time.time() < float(token.get("expires_at", 0)))
    )


def expiring(token: dict[str, Any], now: float | None = None) -> bool:
    """Whether ``token`` is expired or within its refresh margin."""
    now = time.time() if now is None else now
    return now >= float(token["expires_at"]) - expiry_margin(float(token["expires_in"]))


def _what_happened(exc: AnswerLost) -> dict[str, Any]:
    """For a refresh mark: Box's answer was lost, and the status Box failed with, if any."""
    status = exc.status if isinstance(exc, AnswerInDoubt) else None
    return {"lost": True, **({"status": status} if status else {})}


class LostRefresh(ReauthorizationRequired):
    """Box refuses the saved refresh token because an earlier refresh's answer was lost."""

    def __init__(
        self, message: str, *, mark: dict[str, Any], error: str | None = None, description: str = ""
    ) -> None:
        super().__init__(message, error=error, description=description)
        #: The refresh mark of the refresh whose answer was lost (process, time, what happened).
        self.mark = mark


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
        self._unsaved: tuple[str | None, dict[str, Any]] | None = None

    def __repr__(self) -> str:
        return f"TokenKeeper(connection={self.name!r})"

    @property
    def token(self) -> dict[str, Any]:
        """The token in use (the caller must not show it anywhere)."""
        return self._token

    def fresh(self) -> dict[str, Any]:
        """The token to send now, refreshed first if it is about to expire."""
        if self._unsaved is not None:  # a refreshed token the vault could not take: try again
            with self.vault.lock(self.name):
                record = self.vault.load(self.name)
                if record is not None:
                    self._with_unsaved(record)
        token = self._token
        return self.refresh() if expiring(token) else token

    def refresh(self, failed: str | None = None) -> dict[str, Any]:
        """A token that is not expiring and not ``failed`` (an access token Box refused).

        Under the connection's lock: re-read the vault; adopt its token if another thread or
        process refreshed already; else mark the refresh as started in the vault (which also
        proves the vault can be written before the single-use refresh token is spent), refresh
        at Box, and save before returning.
        """
        with self.vault.lock(self.name):
            record = self.vault.load(self.name)
            if record is None or not record.get("token"):
                msg = (
                    f"Connection {self.name!r} was disconnected (its vault record is gone). "
                    f"Connect again: Generate in the form, or `box-widget login {self.name}`."
                )
                audit.record(
                    self.vault.home, self.name, "reauthorization-required", reason="no vault record"
                )
                raise ReauthorizationRequired(msg)
            record = self._with_unsaved(record)
            stored = record["token"]
            if stored["access_token"] != failed and not expiring(stored):
                self._adopt(record)
                return self._token
            started = {"pid": os.getpid(), "at": time.time()}
            self.vault.save(self.name, {**record, REFRESHING: started})
            try:
                new = normalize(self._grant(stored, record.get(REFRESHING)))
            except BaseException as exc:
                self._failed(record, started, exc)
                raise
            record = {k: v for k, v in record.items() if k != REFRESHING}
            record.update(token=new, refreshed_at=time.time())
            self._save_refreshed(record, spent=stored.get("refresh_token"))
            log.info("connection %r: token refreshed", self.name)
            audit.record(self.vault.home, self.name, "refresh")
            self._adopt(record)
            return self._token

    def _failed(self, record: dict[str, Any], started: dict[str, Any], exc: BaseException) -> None:
        """After a failed refresh: take the mark back (Box said no, or never got it), unless
        Box may have acted on it (its answer lost, or a 500/502/504): then the mark stays, saying
        what happened, so that whoever tries next learns it; audit it."""
        if isinstance(exc, AnswerLost | LostRefresh):
            mark = exc.mark if isinstance(exc, LostRefresh) else {**started, **_what_happened(exc)}
            with contextlib.suppress(VaultWriteError):
                self.vault.save(self.name, {**record, REFRESHING: mark})
        else:
            with contextlib.suppress(VaultWriteError):
                self.vault.save(self.name, record)
        if isinstance(exc, BoxWidgetError):
            event = (
                "reauthorization-required"
                if isinstance(exc, ReauthorizationRequired)
                else "refresh-failed"
            )
            audit.record(
                self.vault.home,
                self.name,
                event,
                error=type(exc).__name__,
                oauth_error=getattr(exc, "error", None),
            )

    def _grant(self, stored: dict[str, Any], unfinished: dict[str, Any] | None) -> dict[str, Any]:
        record = self._record
        if record.get("kind") == "client_credentials":
            return self.client.client_credentials(record["subject_type"], record["subject_id"])
        if not stored.get("refresh_token"):
            msg = f"Connection {self.name!r} has no refresh token: connect it again."
            raise ReauthorizationRequired(msg)
        try:
            try:
                return self.client.refresh(stored["refresh_token"], name=self.name)
            except AnswerLost as lost:
                what = _what_happened(lost)
                audit.record(
                    self.vault.home, self.name, "refresh-unanswered", status=what.get("status")
                )
                unfinished = {"pid": os.getpid(), "at": time.time(), **what}
                # Box may never have processed it: the same refresh token once more.
                try:
                    return self.client.refresh(stored["refresh_token"], name=self.name)
                except AnswerLost as again:
                    back = (
                        "Box is back" if isinstance(again, AnswerInDoubt) else "the network is back"
                    )
                    again.args = (
                        f"{again} The saved refresh token of connection "
                        f"{self.name!r} is kept: try again when {back}. If Box then "
                        "refuses it (it had replaced it already), connect again.",
                    )
                    raise again from None
        except ReauthorizationRequired as exc:
            if unfinished is None:
                raise
            raise LostRefresh(
                self._lost_message(unfinished, exc),
                mark=unfinished,
                error=exc.error,
                description=exc.description,
            ) from None

    def _lost_message(self, unfinished: dict[str, Any], exc: ReauthorizationRequired) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(unfinished["at"])))
        if unfinished.get("status"):
            how = f"Box answered it with a server error, HTTP {unfinished['status']}"
        elif unfinished.get("lost"):
            how = "its connection to Box broke after the request was sent"
        else:
            how = "the process was stopped, or its connection to Box broke"
        return (
            f"Connection {self.name!r} must be connected again: a refresh started by "
            f"process {unfinished['pid']} at {when} never got Box's answer saved ({how}, "
            "after Box had already replaced the refresh token), and Box no longer accepts "
            "the saved one "
            f"({exc.error}: {exc.description}). Box's refresh tokens work once, so this "
            "cannot be repaired here. Connect again: click Generate in the connection "
            f"form, or run `box-widget login {self.name}`."
        )

    def _save_refreshed(self, record: dict[str, Any], spent: str | None) -> None:
        """Save a refreshed token; if the vault cannot take it (a full disk), keep it in memory
        so that nothing is lost, and try again at every use until it is saved."""
        try:
            self.vault.save(self.name, record)
            self._unsaved = None
        except VaultWriteError as exc:
            first = self._unsaved is None
            self._unsaved = (spent, record)
            if not first:
                return
            log.error(
                "connection %r: Box replaced the refresh token, but the vault could not "
                "save the new one (%s). This process keeps using it and saves it as soon "
                "as it can; other processes must wait for that.",
                self.name,
                exc,
            )
            audit.record(self.vault.home, self.name, "save-failed", error="VaultWriteError")

    def _with_unsaved(self, record: dict[str, Any]) -> dict[str, Any]:
        """The vault's record, or the newer one this process could not save yet (saved now,
        if the vault still holds the refresh token it replaced)."""
        if self._unsaved is None:
            return record
        spent, newer = self._unsaved
        if (record.get("token") or {}).get("refresh_token") != spent:
            self._unsaved = None  # the connection was connected again meanwhile: theirs wins
            return record
        self._save_refreshed(newer, spent)
        return newer

    def _adopt(self, record: dict[str, Any]) -> None:
        self._record = record
        self._token = record["token"]
