"""The token vault: one folder shared by the server extension and every kernel of the user.

Connections, their tokens, and pending authorizations, each in its own file, encrypted with
Fernet (``cryptography``), written atomically, and locked per connection across threads and
processes (``filelock``). Layout::

    <home>/                     0700
        vault.key               0600, only when the key lives in a file (see ``keys``)
        connections/<name>.box  one saved connection
        pending/<hash>.box      one pending authorization, keyed by a hash of its state
        locks/<name>.lock       the cross-process lock of a connection
        locks/~key.lock         held while a new key is made (see ``keys``)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, cast

from cryptography.fernet import Fernet, InvalidToken
from filelock import FileLock, Timeout

from .errors import (
    ConfigurationError,
    PendingForAnotherConnection,
    VaultLocked,
    VaultUnreadable,
    VaultWriteError,
)
from .files import FILE_MODE, atomic_write, private_folder
from .keys import find_key, load_key
from .records import ConnectionRecord, ConnectionSummary, PendingSignIn, summarize

log = logging.getLogger(__name__)

HOME_ENV = "BOX_WIDGET_HOME"
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
PENDING_LIFETIME = 600.0
PENDING_LIMIT = 32
LOCK_TIMEOUT = 60.0
_PENDING_LOCK = "~pending"
_thread_locks: dict[tuple[str, str], threading.RLock] = {}
_thread_locks_guard = threading.Lock()
#: How many times the thread holding each connection's lock has taken it (0: not held).
_depths: dict[tuple[str, str], int] = {}


def default_home() -> Path:
    """``$BOX_WIDGET_HOME``, else ``<jupyter data dir>/box_widget``."""
    configured = os.environ.get(HOME_ENV, "").strip()
    if configured:
        return Path(configured).expanduser()
    from jupyter_core.paths import jupyter_data_dir

    return Path(jupyter_data_dir()) / "box_widget"


def check_name(name: str) -> str:
    """A connection name: letters, digits, ``_ . -``, up to 64 characters."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        msg = (
            f"{name!r} is not a valid connection name: use letters, digits, '_', '.' or '-' "
            "(up to 64 characters, starting with a letter or digit)"
        )
        raise ConfigurationError(msg)
    return name


class Vault:
    """Encrypted records in a private folder, with per-connection cross-process locks."""

    def __init__(
        self,
        home: str | os.PathLike[str] | None = None,
        *,
        create: bool = True,
        key: tuple[bytes, str] | None = None,
    ) -> None:
        """Open the vault in ``home``. With ``create=False`` (the read-only commands), make
        nothing: no folder, no key; a vault without a key yet reads as empty (``key_source``
        is ``"none"``) and cannot be written. ``key``: the key and its source, given (the hub
        service's one key for every hub user's vault), instead of looking for one."""
        self.home = Path(home).expanduser() if home is not None else default_home()
        if create or self.home.is_dir():
            private_folder(self.home)
        for sub in ("connections", "pending", "locks"):  # tighten what a copy left open
            if (self.home / sub).is_dir():
                private_folder(self.home / sub)
        # A vault that holds connections never gets a new key made for it: that would hide the
        # key that opens them (a deleted vault.key, an unset BOX_WIDGET_KEY).
        holds = key is None and bool(self.names())
        if key is not None:
            found: tuple[bytes, str] | None = key
        else:
            found = (
                load_key(self.home, create=not holds) if create or holds else find_key(self.home)
            )
        secret, self.key_source = found or (None, "none")
        self._fernet = Fernet(secret) if secret is not None else None

    def __repr__(self) -> str:
        return f"Vault(home={str(self.home)!r}, key_source={self.key_source!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled: the folder only (never the key); reopened making nothing new."""
        return (reopen, (str(self.home),))

    def status(self) -> dict[str, Any]:
        """Where the vault is and how it is protected (no secrets)."""
        return {"home": str(self.home), "encrypted": True, "key_source": self.key_source}

    # --- connections ----------------------------------------------------------------------
    def names(self) -> list[str]:
        """The saved connections' names."""
        folder = self.home / "connections"
        if not folder.is_dir():
            return []
        return sorted(p.stem for p in folder.glob("*.box") if NAME.fullmatch(p.stem))

    def load(self, name: str) -> ConnectionRecord | None:
        """A saved connection, or None if there is none; VaultUnreadable if it cannot be read or
        holds another connection (a renamed or swapped file; records without a name load)."""
        path = self._connection_path(name)
        record = self._read(path)
        if record is not None and "name" in record and record["name"] != name:
            held = record["name"]
            reason = (
                f"it holds another connection ({held!r}), not {name!r}: it was renamed or copied"
            )
            raise VaultUnreadable(path, reason)
        return cast("ConnectionRecord | None", record)

    def summary(self, name: str) -> ConnectionSummary:
        """What may be shown of a saved connection (an unreadable one says so)."""
        try:
            return summarize(name, self.load(name))
        except VaultUnreadable as exc:
            return ConnectionSummary(name=name, error="unreadable", problem=exc.what)

    def save(self, name: str, record: ConnectionRecord) -> None:
        """Write a connection; an unreadable old file is moved aside, never overwritten."""
        path = self._connection_path(name)
        try:
            self._read(path)
        except VaultUnreadable:
            aside = path.with_name(f"{path.name}.unreadable-{time.time_ns()}")
            os.replace(path, aside)
            log.warning("moved the unreadable vault file %s aside to %s", path, aside)
        self._write(path, record)

    def delete(self, name: str) -> bool:
        """Remove a saved connection; whether there was one."""
        try:
            self._connection_path(name).unlink()
        except FileNotFoundError:
            return False
        return True

    def lock(self, name: str, timeout: float = LOCK_TIMEOUT) -> AbstractContextManager[None]:
        """Hold connection ``name``'s lock: one thread of one process at a time (reentrant)."""
        return self._lock(check_name(name), timeout)

    @contextmanager
    def _lock(self, name: str, timeout: float) -> Iterator[None]:
        deadline = time.monotonic() + timeout
        key = (str(self.home.resolve()), name)
        with _thread_locks_guard:
            thread_lock = _thread_locks.setdefault(key, threading.RLock())
        if not thread_lock.acquire(timeout=timeout):
            raise self._busy(name, timeout)
        try:
            if _depths.get(key):  # this thread holds the file lock already: enter again
                _depths[key] += 1
                try:
                    yield
                finally:
                    _depths[key] -= 1
                return
            locks = private_folder(self.home / "locks")
            remaining = max(0.0, deadline - time.monotonic())
            file_lock = FileLock(locks / f"{name}.lock", timeout=remaining, mode=FILE_MODE)
            try:
                file_lock.acquire()
            except Timeout:
                raise self._busy(name, timeout) from None
            _depths[key] = 1
            try:
                yield
            finally:
                _depths[key] = 0
                file_lock.release()
        finally:
            thread_lock.release()

    @staticmethod
    def _busy(name: str, timeout: float) -> VaultLocked:
        return VaultLocked(
            f"Connection {name!r} stayed locked by another thread or process "
            f"for {timeout:g} s; try again, or restart the stuck kernel."
        )

    # --- pending authorizations --------------------------------------------------------------
    def add_pending(self, state: str, record: PendingSignIn) -> None:
        """Record a pending authorization; the oldest beyond the limit, and expired ones, go."""
        with self._lock(_PENDING_LOCK, LOCK_TIMEOUT):
            now = time.time()
            live = []
            for path in private_folder(self.home / "pending").glob("*.box"):
                try:
                    created = float((self._read(path) or {}).get("created_at", 0))
                except VaultUnreadable:
                    created = 0.0
                if now - created > PENDING_LIFETIME:
                    path.unlink(missing_ok=True)
                else:
                    live.append((created, path))
            live.sort()  # oldest first, by the time recorded inside each (file times can tie)
            for _, path in live[: max(0, len(live) - PENDING_LIMIT + 1)]:
                path.unlink(missing_ok=True)
            self._write(self._pending_path(state), {**record, "created_at": now})

    def has_pending(self, state: str) -> bool:
        """Whether a pending authorization file exists for ``state`` (no lock, not read)."""
        return self._pending_path(state).is_file()

    def take_pending(self, state: str, *, name: str | None = None) -> PendingSignIn | None:
        """Remove and return the pending authorization for ``state``; None if unknown or
        expired. Each state can be taken once. With ``name``, one started for another
        connection raises ``PendingForAnotherConnection`` and stays pending."""
        with self._lock(_PENDING_LOCK, LOCK_TIMEOUT):
            path = self._pending_path(state)
            try:
                record = self._read(path)
            except VaultUnreadable as exc:
                log.warning("dropped an unreadable pending authorization: %s", exc.path)
                record = None
            if record is not None and name is not None and record.get("name") != name:
                raise PendingForAnotherConnection(str(record.get("name")))
            path.unlink(missing_ok=True)
        if record is None or time.time() - float(record.get("created_at", 0)) > PENDING_LIFETIME:
            return None
        return cast("PendingSignIn", record)

    # --- files --------------------------------------------------------------------------------
    def _connection_path(self, name: str) -> Path:
        return self.home / "connections" / f"{check_name(name)}.box"

    def _pending_path(self, state: str) -> Path:
        digest = hashlib.sha256(state.encode("utf-8", "surrogatepass")).hexdigest()
        return self.home / "pending" / f"{digest[:40]}.box"

    def _cipher(self) -> Fernet:
        if self._fernet is None:
            msg = f"The vault {self.home} has no key yet: it was opened only to read."
            raise ConfigurationError(msg)
        return self._fernet

    def _read(self, path: Path) -> dict[str, Any] | None:
        try:
            token = path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            record = json.loads(self._cipher().decrypt(token))
        except InvalidToken:
            raise VaultUnreadable(
                path, "it does not decrypt with the current key, or it was damaged"
            ) from None
        except ValueError:
            raise VaultUnreadable(path, "its contents are damaged") from None
        if not isinstance(record, dict):
            raise VaultUnreadable(path, "its contents are damaged")
        return record

    def _write(self, path: Path, record: ConnectionRecord | PendingSignIn) -> None:
        try:
            atomic_write(path, self._cipher().encrypt(json.dumps(record).encode()))
        except OSError as exc:
            raise VaultWriteError(path, exc.strerror or type(exc).__name__) from None


def reopen(home: str) -> Vault:
    """The vault in ``home`` as an unpickled one opens: using its key, making nothing new."""
    return Vault(home, create=False)
