"""The vault's token source: a connection's token, refreshed once for every thread and process.

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
from .errors import (
    AnswerInDoubt,
    AnswerLost,
    BoxWidgetError,
    LostRefresh,
    ReauthorizationRequired,
    VaultWriteError,
)
from .oauth import TokenClient, expiry_margin
from .records import ConnectionRecord, RefreshMark, Token, signed_out, signed_out_words
from .vault import Vault

log = logging.getLogger(__name__)
#: The vault field marking a refresh in flight: ``{"pid", "at"}`` of the process that spends the
#: refresh token; left behind only when that process never learnt Box's answer.
REFRESHING = "refreshing"


def normalize(token: dict[str, Any]) -> Token:
    """The fields of a token worth saving, with an absolute ``expires_at``."""
    expires_in = float(token.get("expires_in") or 3600)
    kept = Token(
        access_token=str(token["access_token"]),
        expires_in=expires_in,
        expires_at=float(token.get("expires_at") or time.time() + expires_in),
    )
    if token.get("refresh_token"):
        kept["refresh_token"] = str(token["refresh_token"])
    if token.get("token_type"):
        kept["token_type"] = str(token["token_type"])
    return kept


def expiring(token: Token, now: float | None = None) -> bool:
    """Whether ``token`` is expired or within its refresh margin."""
    now = time.time() if now is None else now
    return now >= float(token["expires_at"]) - expiry_margin(float(token["expires_in"]))


def _started() -> RefreshMark:
    """The mark of a refresh this process starts now."""
    return RefreshMark(pid=os.getpid(), at=time.time())


def _lost_mark(exc: AnswerLost, started: RefreshMark) -> RefreshMark:
    """``started``, saying that Box's answer was lost, and the status Box failed with, if any."""
    mark = RefreshMark(pid=started["pid"], at=started["at"], lost=True)
    if isinstance(exc, AnswerInDoubt):
        mark["status"] = exc.status
    return mark


def _without_mark(record: ConnectionRecord) -> ConnectionRecord:
    record = record.copy()
    record.pop("refreshing", None)
    return record


class VaultTokenSource:
    """A token source (see ``token_source``) backed by the vault: holds one connection's token
    in memory and refreshes it through the vault, single-flight across threads and processes.
    """

    def __init__(
        self, vault: Vault, name: str, record: ConnectionRecord, client: TokenClient
    ) -> None:
        self.vault = vault
        self.name = name
        self.client = client
        self._record = record
        if "token" not in record:
            msg = (
                signed_out_words(name)
                if record.get("signed_out_at")
                else f"Connection {name!r} has no token yet."
            )
            raise ReauthorizationRequired(msg, connection=name)
        self._token: Token = record["token"]
        self._unsaved: tuple[str | None, ConnectionRecord] | None = None

    def __repr__(self) -> str:
        return f"VaultTokenSource(connection={self.name!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled: the vault's folder and the connection's name (no token, no secret); the
        copy reads the vault where it is unpickled (the same machine and folder)."""
        from .token_source import reopened

        return (reopened, (self.vault, self.name))

    @property
    def token(self) -> Token:
        """The token in use (the caller must not show it anywhere)."""
        return self._token

    def fresh(self) -> Token:
        """The token to send now, refreshed first if it is about to expire."""
        if self._unsaved is not None:  # a refreshed token the vault could not take: try again
            with self.vault.lock(self.name):
                record = self.vault.load(self.name)
                if record is not None:
                    self._with_unsaved(record)
        token = self._token
        return self.refresh() if expiring(token) else token

    def refresh(self, failed: str | None = None) -> Token:
        """A token that is not expiring and not ``failed`` (an access token Box refused).

        Under the connection's lock: re-read the vault; adopt its token if another thread or
        process refreshed already; else mark the refresh as started in the vault (which also
        proves the vault can be written before the single-use refresh token is spent), refresh
        at Box, and save before returning.
        """
        with self.vault.lock(self.name):
            record = self.vault.load(self.name)
            if record is None or "token" not in record:
                raise self._gone(record)
            record = self._with_unsaved(record)
            stored = record["token"]
            if stored["access_token"] != failed and not expiring(stored):
                self._adopt(record)
                return self._token
            started = _started()
            self.vault.save(self.name, {**record, "refreshing": started})
            try:
                new = normalize(self._grant(stored, record.get("refreshing")))
            except BaseException as exc:
                self._failed(record, started, exc)
                raise
            record = {**_without_mark(record), "token": new, "refreshed_at": time.time()}
            self._save_refreshed(record, spent=stored.get("refresh_token"))
            log.info("connection %r: token refreshed", self.name)
            audit.record(self.vault.home, self.name, "refresh")
            self._adopt(record)
            return self._token

    def _failed(self, record: ConnectionRecord, started: RefreshMark, exc: BaseException) -> None:
        """After a failed refresh: take the mark back (Box said no, or never got it), unless
        Box may have acted on it (its answer lost, or a 500/502/504): then the mark stays, saying
        what happened, so that whoever tries next learns it; audit it."""
        if isinstance(exc, AnswerLost | LostRefresh):
            mark = exc.mark if isinstance(exc, LostRefresh) else _lost_mark(exc, started)
            with contextlib.suppress(VaultWriteError):
                self.vault.save(self.name, {**record, "refreshing": mark})
        elif isinstance(exc, ReauthorizationRequired) and record.get("kind") == "oauth":
            # Box refused the refresh token: nothing here can revive it. The dead tokens go;
            # the summary then says "sign in again" (the form, ``box-widget list``, the hub).
            with contextlib.suppress(VaultWriteError):
                self.vault.save(self.name, signed_out(record))
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

    def _gone(self, record: ConnectionRecord | None) -> ReauthorizationRequired:
        """The error (audited) when the connection has no tokens left to refresh."""
        if record is not None and record.get("signed_out_at"):
            msg = signed_out_words(self.name)
            reason = "signed out"
        else:
            msg = f"Connection {self.name!r} was disconnected (its vault record is gone)."
            reason = "no vault record"
        audit.record(self.vault.home, self.name, "reauthorization-required", reason=reason)
        return ReauthorizationRequired(msg, connection=self.name)

    def _grant(self, stored: Token, unfinished: RefreshMark | None) -> dict[str, Any]:
        record = self._record
        if record.get("kind") == "client_credentials":
            return self.client.client_credentials(record["subject_type"], record["subject_id"])
        refresh_token = stored.get("refresh_token")
        if not refresh_token:
            msg = f"Connection {self.name!r} has no refresh token."
            raise ReauthorizationRequired(msg, connection=self.name)
        try:
            try:
                return self.client.refresh(refresh_token, name=self.name)
            except AnswerLost as lost:
                unfinished = _lost_mark(lost, _started())
                audit.record(
                    self.vault.home,
                    self.name,
                    "refresh-unanswered",
                    status=unfinished.get("status"),
                )
                # Box may never have processed it: the same refresh token once more.
                try:
                    return self.client.refresh(refresh_token, name=self.name)
                except AnswerLost as again:
                    back = (
                        "Box is back" if isinstance(again, AnswerInDoubt) else "the network is back"
                    )
                    again.what = (
                        f"{again.what} The saved refresh token of connection "
                        f"{self.name!r} is kept: try again when {back}. If Box then "
                        "refuses it (it had replaced it already), connect again."
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
                connection=self.name,
            ) from None

    def _lost_message(self, unfinished: RefreshMark, exc: ReauthorizationRequired) -> str:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(unfinished["at"])))
        if unfinished.get("status"):
            how = f"Box answered it with a server error, HTTP {unfinished.get('status')}"
        elif unfinished.get("lost"):
            how = "its connection to Box broke after the request was sent"
        else:
            how = "the process was stopped, or its connection to Box broke"
        return (
            f"Connection {self.name!r} must be connected again: a refresh started by "
            f"process {unfinished['pid']} at {when} never got Box's answer saved ({how}, "
            "after Box had already replaced the refresh token), and Box no longer accepts "
            f"the saved one ({exc.error}: {exc.description}). Box's refresh tokens work once, "
            "so this cannot be repaired here."
        )

    def _save_refreshed(self, record: ConnectionRecord, spent: str | None) -> None:
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

    def _with_unsaved(self, record: ConnectionRecord) -> ConnectionRecord:
        """The vault's record, or the newer one this process could not save yet (saved now,
        if the vault still holds the refresh token it replaced)."""
        if self._unsaved is None:
            return record
        spent, newer = self._unsaved
        if record["token"].get("refresh_token") != spent:
            self._unsaved = None  # the connection was connected again meanwhile: theirs wins
            return record
        self._save_refreshed(newer, spent)
        return newer

    def _adopt(self, record: ConnectionRecord) -> None:
        self._record = record
        self._token = record["token"]
