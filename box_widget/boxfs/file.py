"""``BoxFile``: a Box file opened by ``BoxFileSystem.open``.

Reading fetches byte ranges (HTTP ``Range``) through fsspec's block cache, so seeking in a large
file reads only what is needed. Writing collects the bytes in a temporary spool (memory up to a
few MiB, then disk) and uploads them when the file is closed: one request for small files, an
upload session for large ones. Leaving a ``with`` block by an exception uploads nothing.
"""

from __future__ import annotations

import tempfile
from types import TracebackType
from typing import TYPE_CHECKING, Any

from fsspec.spec import AbstractBufferedFile

from .download import Download
from .errors import translated

if TYPE_CHECKING:
    from .spec import BoxFileSystem

#: Bytes a write keeps in memory before its spool moves to a temporary file.
SPOOL_MEMORY = 8 * 1024 * 1024


class BoxFile(AbstractBufferedFile):  # type: ignore[misc]
    """A file in Box, read by ranges or written on close."""

    fs: BoxFileSystem

    def __init__(self, fs: BoxFileSystem, path: str, mode: str = "rb", **kwargs: Any) -> None:
        if mode not in {"rb", "wb", "xb"}:
            msg = f"Box files open as 'rb', 'wb' or 'xb', not {mode!r} (Box cannot append)"
            raise NotImplementedError(msg)
        if mode == "xb" and fs.exists(path):
            raise FileExistsError(17, "A file or folder of that name is already in Box", path)
        super().__init__(fs, path, mode, **kwargs)
        self._download: Download | None = None
        self._spool: Any = None

    # --- reading ---------------------------------------------------------------------------
    def _fetch_range(self, start: int, end: int) -> bytes:
        if self._download is None:
            self._download = Download(self.fs.session, self.details["id"])
        with translated(self.path):
            return self._download.read_range(start, end)

    # --- writing ---------------------------------------------------------------------------
    def _initiate_upload(self) -> None:
        # closed by _upload_chunk(final=True) or discard(), after the caller's last write
        self._spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115

    def _upload_chunk(self, final: bool = False) -> bool:
        self._spool.write(self.buffer.getbuffer())
        if final:
            size = self._spool.tell()
            self._spool.seek(0)
            try:
                self.fs.write_from(self._spool, size, self.path, exclusive=self.mode == "xb")
            finally:
                self._spool.close()
        return True

    def discard(self) -> None:
        if self._spool is not None:
            self._spool.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None and self.writable():
            self.discard()
            self.closed = True
            return
        self.close()
