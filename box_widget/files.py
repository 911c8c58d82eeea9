"""Private files: a 0700 folder, 0600 files, written atomically (temp file, fsync, rename).

On Windows there are no POSIX modes (``chmod`` sets only the read-only flag): the user profile's
ACLs protect the vault folder, so modes are neither checked nor tightened there. Windows also
lacks ``os.fchmod`` before Python 3.13, and cannot open a folder to fsync it; see ``_restrict``
and ``_fsync_folder``.
"""

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
#: Whether files have POSIX permission bits (not on Windows).
POSIX_MODES = os.name != "nt"


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
    if not POSIX_MODES:
        return
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
            _restrict(handle.fileno(), temp)
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


def _restrict(fd: int, path: str) -> None:
    """Make a new file 0600: through its descriptor, or by path where ``os.fchmod`` is missing
    (Windows before Python 3.13; the file is not yet filled, so nothing is exposed)."""
    fchmod = getattr(os, "fchmod", None)
    if fchmod is None:
        os.chmod(path, FILE_MODE)
    else:
        fchmod(fd, FILE_MODE)


def _fsync_folder(folder: Path) -> None:
    """Flush the folder's entry of a renamed file. Where a folder cannot be opened (Windows
    answers EACCES), skip it: the rename still happened whole, it may just not be on disk yet
    when the power goes, and then the old file is there instead."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except PermissionError:
        log.debug("cannot open %s to flush it (as on Windows); not flushed", folder)
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
