"""Private files: a 0700 folder, 0600 files, written atomically (temp file, fsync, rename)."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
from pathlib import Path

log = logging.getLogger(__name__)

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """Create ``path`` (and parents) if needed, and make it 0700."""
    path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    _tighten(path, FOLDER_MODE)
    return path


def private_file(path: Path) -> Path:
    """Make an existing file 0600 (FileNotFoundError if there is none)."""
    _tighten(path, FILE_MODE)
    return path


def _tighten(path: Path, wanted: int) -> None:
    found = stat.S_IMODE(path.stat().st_mode)
    if found != wanted:
        path.chmod(wanted)
        if found & 0o077:
            log.warning(
                "%s was open to other users (mode %o); box-widget made it private "
                "(%o). If others could read it, revoke and reconnect the connections "
                "it holds.",
                path,
                found,
                wanted,
            )


def atomic_write(path: Path, data: bytes, *, exclusive: bool = False) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never a part.

    With ``exclusive``, fail with ``FileExistsError`` instead of replacing an existing file.
    """
    folder = private_folder(path.parent)
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), FILE_MODE)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if exclusive:
            os.link(temp, path)  # fails if path exists; atomic
            os.unlink(temp)
        else:
            os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_folder(folder)


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
