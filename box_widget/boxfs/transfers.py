"""The bytes of ``BoxFileSystem``: reading files (whole, a range, to a local file), writing them
(direct or chunked upload, a new version when the file exists) and copying them in Box.

Each function takes the file system and a path already stripped of ``box://``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, BinaryIO

from fsspec.callbacks import Callback

from . import progress, upload
from .download import Download
from .errors import translated
from .paths import Entry, info_of, split

if TYPE_CHECKING:
    from .spec import BoxFileSystem


def cat(fs: BoxFileSystem, path: str, start: int | None, end: int | None) -> bytes:
    """The bytes of the file at ``path``, or those from ``start`` to ``end`` (negative: from
    the end), as ``AbstractFileSystem.cat_file``."""
    info = fs.info(path)
    if info["type"] != "file":
        raise IsADirectoryError(21, "This is a folder, not a file", path)
    size = info["size"]
    start = 0 if start is None else (max(0, size + start) if start < 0 else start)
    end = size if end is None else (max(0, size + end) if end < 0 else min(end, size))
    download = Download(fs.session, info["id"])
    with translated(path):
        if start == 0 and end == size:
            return b"".join(download.stream())
        return download.read_range(start, end)


def get(fs: BoxFileSystem, rpath: str, lpath: Any, callback: Callback, outfile: Any) -> None:
    """Download ``rpath`` to the local path ``lpath`` (or into ``outfile``); a folder becomes
    an empty local folder."""
    info = fs.info(rpath)
    if info["type"] != "file":
        os.makedirs(lpath, exist_ok=True)
        return
    if outfile is None and hasattr(lpath, "write"):
        outfile = lpath
    if outfile is None:
        os.makedirs(os.path.dirname(os.path.abspath(lpath)), exist_ok=True)
        with open(lpath, "wb") as target:
            _download_to(fs, rpath, info, target, callback)
    else:
        _download_to(fs, rpath, info, outfile, callback)


def _download_to(
    fs: BoxFileSystem, path: str, info: dict[str, Any], target: BinaryIO, callback: Callback
) -> None:
    callback.set_size(info["size"])
    download = Download(fs.session, info["id"])
    with (
        progress.bar(fs.progress, info["size"], f"Downloading {path}") as shown,
        translated(path),
    ):
        for chunk in download.stream():
            target.write(chunk)
            shown(len(chunk))
            callback.relative_update(len(chunk))


def write(
    fs: BoxFileSystem, source: BinaryIO, size: int, path: str, *, exclusive: bool = False
) -> dict[str, Any]:
    """Upload ``size`` bytes from ``source`` to ``path`` (a new version if a file is there,
    unless ``exclusive``); missing parent folders are created. The new file's info."""
    parent, name, existing = target(fs, path)
    if existing is not None and existing["type"] != "file":
        raise IsADirectoryError(21, "A folder of that name is already in Box", path)
    if existing is not None and exclusive:
        raise FileExistsError(17, "A file of that name is already in Box", path)
    file_id = existing["id"] if existing else None
    try:
        with translated(path), progress.bar(fs.progress, size, f"Uploading {path}") as shown:
            if size < fs.chunked_threshold:
                if file_id is None and size >= progress.MIN_SIZE:
                    upload.preflight(fs.session, name, parent["id"], size)
                entry = upload.direct_upload(
                    fs.session,
                    fs.upload_url,
                    source.read(size),
                    name,
                    parent_id=parent["id"],
                    file_id=file_id,
                )
                shown(size)
            else:
                chunked = upload.ChunkedUpload(
                    fs.session, fs.upload_url, workers=fs.upload_workers, progress=shown
                )
                entry = chunked.run(source, size, name, parent_id=parent["id"], file_id=file_id)
    finally:
        fs.paths.invalidate(parent["id"])
    return info_of(path, entry)


def target(fs: BoxFileSystem, path: str) -> tuple[Entry, str, Entry | None]:
    """Where a write to ``path`` goes: its folder (created if missing), its name, and the
    item of that name already there, if any."""
    parent_path = "/".join(split(path)[:-1])
    if parent_path and not fs.exists(parent_path):
        fs.makedirs(parent_path, exist_ok=True)
    parent, name = fs.paths.parent_and_name(path)
    return parent, name, fs.paths.child(parent, name, path)


def copy(fs: BoxFileSystem, path1: str, path2: str) -> None:
    """Copy the file ``path1`` to ``path2`` in Box (replacing a file there); a folder is
    created, not copied."""
    source = fs.paths.resolve(path1)
    if source["type"] != "file":
        fs.makedirs(path2, exist_ok=True)
        return
    parent, name, existing = target(fs, path2)
    if existing is not None:
        fs.rm_file(path2)
    with translated(path2):
        fs.session.post(
            f"files/{source['id']}/copy", json={"parent": {"id": parent["id"]}, "name": name}
        )
    fs.paths.invalidate(parent["id"])
