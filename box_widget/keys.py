"""Where the vault's encryption key comes from: ``BOX_WIDGET_KEY``, the OS keyring, or a key file.

The key is a Fernet key (``cryptography``). The first source that works wins:

1. ``BOX_WIDGET_KEY``: set it yourself (for example from a JupyterHub secret); it is explicit, so
   it takes precedence;
2. the OS keyring (macOS Keychain, Windows Credential Locker, Secret Service on a Linux desktop),
   one entry per vault folder; skipped where no real keyring backend exists (headless Linux,
   containers; ``keyrings.alt``'s file backends, priority below 1, are not one) or when
   ``BOX_WIDGET_KEYRING=0``. A new entry is made under the vault's ``locks/~key.lock``, after
   reading again, so processes opening a new vault at once agree on one key;
3. a key file ``vault.key`` in the vault folder, mode 0600. The file encrypts the records at rest,
   but anyone who can read the folder can read the key too: the form says so.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from cryptography.fernet import Fernet
from filelock import FileLock, Timeout

from .errors import BoxWidgetError, ConfigurationError
from .files import FILE_MODE, atomic_write, private_file, private_folder

log = logging.getLogger(__name__)

KEY_ENV = "BOX_WIDGET_KEY"
KEYRING_ENV = "BOX_WIDGET_KEYRING"
KEYRING_SERVICE = "box-widget"
KEY_FILE = "vault.key"
#: The lock taken to make a keyring entry ("~" keeps it apart from connection names).
KEY_LOCK = "~key.lock"
KEY_LOCK_TIMEOUT = 60.0
#: Below this priority a keyring backend is not an OS keyring (keyrings.alt's files: 0.5).
MIN_KEYRING_PRIORITY = 1


def load_key(home: Path, *, create: bool = True) -> tuple[bytes, str]:
    """The vault key for ``home`` and where it came from (``env``, ``keyring`` or ``file``).

    Without ``create`` (the vault already holds connections), no new key is made: a missing one
    is a ConfigurationError that says how to restore it.
    """
    configured = os.environ.get(KEY_ENV, "").strip()
    if configured:
        return _checked(configured.encode(), f"the {KEY_ENV} environment variable"), "env"
    key = _keyring_key(home, create)
    if key is not None:
        return key, "keyring"
    return _file_key(home, create), "file"


def find_key(home: Path) -> tuple[bytes, str] | None:
    """The vault key for ``home`` if one exists, and where it came from; None if none exists
    yet. Makes nothing: no key, no keyring entry, no file or folder."""
    configured = os.environ.get(KEY_ENV, "").strip()
    if configured:
        return _checked(configured.encode(), f"the {KEY_ENV} environment variable"), "env"
    key = _keyring_key(home, create=False)
    if key is not None:
        return key, "keyring"
    path = home / KEY_FILE
    if path.is_file():
        return _file_key(home, create=False), "file"
    return None


def _checked(key: bytes, where: str) -> bytes:
    try:
        Fernet(key)
    except ValueError:
        msg = (
            f"The vault key in {where} is not a valid key. Make one with: python -c "
            '"from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
        )
        raise ConfigurationError(msg) from None
    return key


def _keyring_key(home: Path, create: bool) -> bytes | None:
    if os.environ.get(KEYRING_ENV, "1").strip().lower() in {"0", "false", "no", "off"}:
        return None
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        if (
            isinstance(backend, fail.Keyring)
            or getattr(backend, "priority", 0) < MIN_KEYRING_PRIORITY
        ):
            return None
        account = str(home.resolve())
        if not create:  # the connections were saved with some key: maybe the file's
            stored = keyring.get_password(KEYRING_SERVICE, account)
        else:  # read again under the lock: another process may be making the key right now
            with _key_lock(home):
                stored = keyring.get_password(KEYRING_SERVICE, account)
                if stored is None:
                    stored = Fernet.generate_key().decode()
                    keyring.set_password(KEYRING_SERVICE, account, stored)
        if stored is None:
            return None
        return _checked(stored.encode(), "the OS keyring")
    except BoxWidgetError:
        raise
    except Exception as exc:  # any keyring failure means "no keyring here"
        log.info("OS keyring unavailable (%s); using the key file", type(exc).__name__)
        return None


@contextlib.contextmanager
def _key_lock(home: Path) -> Iterator[None]:
    """The vault's cross-process lock for making its key."""
    locks = private_folder(home / "locks")
    lock = FileLock(locks / KEY_LOCK, timeout=KEY_LOCK_TIMEOUT, mode=FILE_MODE)
    try:
        lock.acquire()
    except Timeout:
        msg = (
            f"Another process held {locks / KEY_LOCK} for {KEY_LOCK_TIMEOUT:g} s while making "
            "the vault's key; try again, or restart the stuck kernel."
        )
        raise BoxWidgetError(msg) from None
    try:
        yield
    finally:
        lock.release()


def _file_key(home: Path, create: bool) -> bytes:
    path = home / KEY_FILE
    with contextlib.suppress(FileNotFoundError):
        private_file(path)
        return _checked(path.read_bytes().strip(), str(path))
    if not create:
        msg = (
            f"The vault {home} holds saved connections, but the key they were encrypted "
            f"with is missing: {path} is gone, {KEY_ENV} is not set and no OS keyring holds "
            f"one. Nothing was changed. Restore {path} from a backup (or set {KEY_ENV} to "
            f"that key); to start over instead, move {home / 'connections'} aside and "
            "connect again."
        )
        raise ConfigurationError(msg)
    key = Fernet.generate_key()
    try:
        atomic_write(path, key, exclusive=True)
    except FileExistsError:  # another process made it first: use theirs
        return _checked(path.read_bytes().strip(), str(path))
    return key
