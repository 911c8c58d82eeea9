"""File bytes kept out of the emulator's memory: on disk in a folder it owns, or generated.

Uploaded content goes to files in a temporary folder the emulator creates on first write and
removes when it stops. Seeded text files stay in memory (a few bytes). A generated blob holds
no bytes at all: they are computed as they stream, so that a test can download a gigabyte and
measure the client rather than the emulator.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import tempfile
import threading
import weakref
from collections.abc import Iterable, Iterator
from pathlib import Path

CHUNK = 1024 * 1024


class Blob:
    """The bytes of one file version: their size, SHA-1 and a way to stream a range of them."""

    size: int
    _sha1: str | None = None

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes ``start`` to ``end`` (exclusive; default: to the end), in pieces."""
        raise NotImplementedError

    @property
    def sha1(self) -> str:
        """The hex SHA-1 of the whole blob (computed once, on first use)."""
        if self._sha1 is None:
            digest = hashlib.sha1()  # noqa: S324 - Box's own digest
            for chunk in self.chunks():
                digest.update(chunk)
            self._sha1 = digest.hexdigest()
        return self._sha1

    def read(self) -> bytes:
        """All the bytes (for small files and tests)."""
        return b"".join(self.chunks())

    def discard(self) -> None:
        """Free whatever holds the bytes."""


class BytesBlob(Blob):
    """Bytes in memory: the seeded text files."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.size = len(data)

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        end = self.size if end is None else end
        for offset in range(start, end, CHUNK):
            yield self.data[offset : min(offset + CHUNK, end)]


class DiskBlob(Blob):
    """Bytes in a file on disk."""

    def __init__(self, path: Path, size: int, sha1: str | None = None) -> None:
        self.path = path
        self.size = size
        self._sha1 = sha1

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        end = self.size if end is None else end
        with self.path.open("rb") as fh:
            fh.seek(start)
            remaining = end - start
            while remaining > 0:
                chunk = fh.read(min(CHUNK, remaining))
                if not chunk:
                    return
                remaining -= len(chunk)
                yield chunk

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def generated_block(seed: int, index: int) -> bytes:
    """Block ``index`` (1 MiB) of a generated blob: a seeded random pattern stamped with the
    block's index, so that every block differs and a misplaced range shows."""
    return index.to_bytes(8, "big") + _pattern(seed)[8:]


_patterns: dict[int, bytes] = {}


def _pattern(seed: int) -> bytes:
    if seed not in _patterns:
        _patterns[seed] = random.Random(seed).randbytes(CHUNK)  # noqa: S311 - test data
    return _patterns[seed]


def generated_chunks(
    size: int, seed: int = 0, start: int = 0, end: int | None = None
) -> Iterator[bytes]:
    """The bytes ``start`` to ``end`` of the generated content of ``size`` bytes."""
    end = size if end is None else min(end, size)
    offset = start
    while offset < end:
        index, within = divmod(offset, CHUNK)
        block = generated_block(seed, index)
        piece = block[within : min(CHUNK, within + end - offset)]
        offset += len(piece)
        yield piece


class GeneratedBlob(Blob):
    """Deterministic bytes computed as they stream; nothing held in memory or on disk."""

    def __init__(self, size: int, seed: int = 0) -> None:
        self.size = size
        self.seed = seed

    def chunks(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        return generated_chunks(self.size, self.seed, start, end)


class BlobStore:
    """The emulator's temporary folder of uploaded content; removed by ``close``."""

    def __init__(self) -> None:
        self._folder: Path | None = None
        self._lock = threading.Lock()
        self._finalizer: weakref.finalize[..., BlobStore] | None = None

    @property
    def folder(self) -> Path:
        """The folder, created on first use (mode 0700)."""
        with self._lock:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="box-emulator-"))
                self._finalizer = weakref.finalize(self, shutil.rmtree, self._folder, True)
            return self._folder

    def new_path(self) -> Path:
        """A fresh file name in the folder."""
        handle, name = tempfile.mkstemp(dir=self.folder)
        os.close(handle)
        return Path(name)

    def write(self, pieces: Iterable[bytes]) -> DiskBlob:
        """A blob holding the concatenated pieces, its SHA-1 computed on the way."""
        path = self.new_path()
        digest, size = hashlib.sha1(), 0  # noqa: S324 - Box's own digest
        with path.open("wb") as fh:
            for piece in pieces:
                fh.write(piece)
                digest.update(piece)
                size += len(piece)
        return DiskBlob(path, size, digest.hexdigest())

    def copy(self, blob: Blob) -> Blob:
        """A blob with the same bytes that can be discarded on its own."""
        if not isinstance(blob, DiskBlob):
            return blob  # bytes in memory and generated bytes never change
        path = self.new_path()
        shutil.copyfile(blob.path, path)
        return DiskBlob(path, blob.size, blob.sha1)

    def close(self) -> None:
        """Remove the folder and everything in it."""
        with self._lock:
            if self._finalizer is not None:
                self._finalizer()
            self._folder = self._finalizer = None
