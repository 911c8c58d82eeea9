"""Box's API errors as the ``OSError`` subclasses that fsspec users catch."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from contextlib import contextmanager

from ..errors import BoxAPIError

#: Box's ``code`` for a name that is taken, and for a folder that still holds items.
CONFLICT_CODES = {"item_name_in_use", "name_temporarily_reserved"}
NOT_EMPTY_CODES = {"folder_not_empty"}


def os_error(exc: BoxAPIError, path: str) -> OSError:
    """The ``OSError`` for a Box error about ``path``; Box's code and request id are in its
    message (``exc.message``) and ``exc`` is kept as the cause."""
    message = exc.message
    if exc.status == 404:
        return FileNotFoundError(errno.ENOENT, message, path)
    if exc.status == 409 and exc.code in CONFLICT_CODES:
        return FileExistsError(errno.EEXIST, message, path)
    if exc.status == 403:
        if exc.code == "storage_limit_exceeded":
            message = f"Your Box storage is full (quota reached). {message}"
        return PermissionError(errno.EACCES, message, path)
    if exc.status == 400 and exc.code in NOT_EMPTY_CODES:
        return OSError(errno.ENOTEMPTY, message, path)
    return OSError(errno.EIO, message, path)


@contextmanager
def translated(path: str) -> Iterator[None]:
    """Raise Box errors met inside the block as the matching ``OSError``."""
    try:
        yield
    except BoxAPIError as exc:
        raise os_error(exc, path) from exc


def not_found(path: str) -> FileNotFoundError:
    """The error for a path that names nothing in Box."""
    return FileNotFoundError(errno.ENOENT, "No such file or folder in Box", path)
