"""``BoxFileSystem``: Box as an fsspec file system (protocol ``box``).

::

    import pandas as pd
    df = pd.read_csv("box://Reports/q1.csv", storage_options={"connection": "work"})
    df.to_parquet("box://Reports/q1.parquet", storage_options={"connection": "work"})

    import fsspec
    fs = fsspec.filesystem("box", connection="work")
    fs.ls("Reports"), fs.info("id:12345"), fs.put("local.csv", "Reports/")

Paths are names from the root folder, or start at an item id (``id:12345/sub/name``). Calls go
through the connection's session (tokens refresh themselves, 429 and 5xx are retried); Box's
errors come back as ``FileNotFoundError``, ``FileExistsError`` or ``PermissionError`` with Box's
code and request id. Pickled for workers, it carries a worker grant (``workers``).
"""

from __future__ import annotations

import os
import threading
from typing import Any, BinaryIO

from fsspec.callbacks import DEFAULT_CALLBACK, Callback
from fsspec.spec import AbstractFileSystem

from ..connection import BoxConnection
from ..session import BoxSession
from . import transfers, upload, workers
from .errors import translated
from .file import BoxFile
from .paths import ID_PREFIX, PathResolver, cache_for, info_of, join, split
from .workers import WorkerConnection


class BoxFileSystem(AbstractFileSystem):  # type: ignore[misc]
    """Box files through a ``BoxConnection``.

    Parameters
    ----------
    connection
        A connection name (loaded from the vault) or a ``BoxConnection``; default ``"default"``.
    home
        The vault folder, when ``connection`` is a name (see ``BoxConnection``).
    grant
        The worker grant minted when pickled (docs/dask.md): ``{"scope", "expires_in",
        "downscope"}``.
    progress
        tqdm bars for transfers of 16 MiB or more: True, False, None (``BOX_WIDGET_PROGRESS``).
    chunked_threshold
        Uploads of at least this many bytes use an upload session (Box's minimum, 20 MB).
    upload_workers
        Parts of a chunked upload in flight at once.
    """

    protocol = "box"
    root_marker = ""
    #: Not reused by fsspec: one connection name means other accounts in other vaults
    #: (``BOX_WIDGET_HOME``); the listing cache is shared per connection (``paths.cache_for``).
    cachable = False

    def __init__(
        self,
        connection: str | BoxConnection | WorkerConnection = "default",
        *,
        home: str | os.PathLike[str] | None = None,
        grant: dict[str, Any] | None = None,
        progress: bool | None = None,
        chunked_threshold: int = upload.CHUNKED_THRESHOLD,
        upload_workers: int = upload.WORKERS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.grant_options = workers.grant_options(grant)
        self.connection = (
            connection
            if isinstance(connection, BoxConnection | WorkerConnection)
            else BoxConnection(connection, home=home)
        )
        self.progress = progress
        self.chunked_threshold = max(chunked_threshold, 1)
        self.upload_workers = upload_workers
        self._paths: PathResolver | None = None
        self._carried: workers.Carried | None = None
        self._carry_lock = threading.Lock()

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled: a worker grant minted once per file system, or the vault's folder; never a
        token, the Client Secret or a key (see ``workers``)."""
        options = (self.progress, self.chunked_threshold, self.upload_workers)
        conn = self.connection
        if isinstance(conn, WorkerConnection):
            return (_rebuilt, (conn.carried, options))
        with self._carry_lock:
            if self._carried is None:
                endpoints, home = self.session.endpoints.to_dict(), workers.home_of(conn)
                self._carried = workers.carry(conn.name, home, endpoints, self.grant_options)
        return (_rebuilt, (self._carried, options))

    @property
    def session(self) -> BoxSession:
        return self.connection.session

    @property
    def paths(self) -> PathResolver:
        """Paths to Box items, with the listing cache shared per connection."""
        if self._paths is None:
            conn = self.connection
            key = conn.cache_key if isinstance(conn, WorkerConnection) else workers.cache_key(conn)
            self._paths = PathResolver(self.session, cache_for(key, conn.name))
        return self._paths

    @property
    def upload_url(self) -> str:
        return self.session.endpoints.upload_url.rstrip("/")

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        if path.startswith("box://"):
            path = path[len("box://") :]
        elif path.startswith("box:"):
            path = path[len("box:") :]
        return "/".join(split(path))

    def invalidate_cache(self, path: str | None = None) -> None:
        """Forget every cached listing, or (with ``path``) the listing of that folder."""
        if path is None:
            self.paths.invalidate()
        else:
            folder_id = self.paths.cached_id(self._strip_protocol(path))
            if folder_id is not None:
                self.paths.invalidate(folder_id)
        super().invalidate_cache(path)

    # --- reading the tree ------------------------------------------------------------------
    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        return info_of(path, self.paths.resolve(path))

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._strip_protocol(path)
        entry = self.paths.resolve(path)
        if entry["type"] != "folder":
            found = [info_of(path, entry)]
        else:
            listing = self.paths.listing(entry["id"], path)
            found = [info_of(join(path, name), item) for name, item in listing.items()]
        return found if detail else [f["name"] for f in found]

    def ukey(self, path: str) -> str:
        return str(self.info(path).get("sha1") or super().ukey(path))

    def created(self, path: str) -> Any:
        from datetime import datetime

        return datetime.fromisoformat(self.info(path)["created_at"].replace("Z", "+00:00"))

    def modified(self, path: str) -> Any:
        from datetime import datetime

        return datetime.fromisoformat(self.info(path)["modified_at"].replace("Z", "+00:00"))

    # --- folders ---------------------------------------------------------------------------
    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        path = self._strip_protocol(path)
        if self.exists(path):
            raise FileExistsError(17, "A file or folder of that name is already in Box", path)
        names = split(path)
        start = 1 if names and names[0].startswith(ID_PREFIX) else 0
        for depth in range(max(start, 1), len(names) + 1):
            sub = "/".join(names[:depth])
            if depth < len(names) and self.exists(sub):
                continue
            if depth < len(names) and not create_parents:
                raise FileNotFoundError(2, "The parent folder is not in Box", sub)
            parent, name = self.paths.parent_and_name(sub)
            with translated(sub):
                self.session.post("folders", json={"name": name, "parent": {"id": parent["id"]}})
            self.paths.invalidate(parent["id"])

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        path = self._strip_protocol(path)
        if self.exists(path):
            if not exist_ok or not self.isdir(path):
                raise FileExistsError(17, "A file or folder of that name is already in Box", path)
            return
        self.mkdir(path, create_parents=True)

    def rmdir(self, path: str) -> None:
        self._delete(self._strip_protocol(path), recursive=False, want="folder")

    def rm_file(self, path: str) -> None:
        self._delete(self._strip_protocol(path), recursive=False, want="file")

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        if maxdepth is not None:
            super().rm(path, recursive=recursive, maxdepth=maxdepth)
            return
        paths = sorted(self.expand_path(path, recursive=False), key=len)
        gone: list[str] = []
        for p in paths:
            if any(p == g or p.startswith(g + "/") for g in gone):
                continue
            self._delete(p, recursive=recursive)
            gone.append(p)

    def _delete(self, path: str, *, recursive: bool, want: str | None = None) -> None:
        entry = self.paths.resolve(path)
        if entry["type"] == "folder" and entry["id"] == "0":
            raise PermissionError(13, "The root folder cannot be deleted", path)
        if want == "file" and entry["type"] != "file":
            raise IsADirectoryError(21, "This is a folder; use rm(path, recursive=True)", path)
        if want == "folder" and entry["type"] != "folder":
            raise NotADirectoryError(20, "This is a file, not a folder", path)
        with translated(path):
            if entry["type"] == "folder":
                self.session.delete(
                    f"folders/{entry['id']}", params={"recursive": str(recursive).lower()}
                )
            else:
                self.session.delete(f"files/{entry['id']}")
        self.paths.invalidate()  # the parent's listing, and those of anything inside

    # --- files -----------------------------------------------------------------------------
    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> BoxFile:
        return BoxFile(
            self,
            path,
            mode,
            block_size=block_size,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )

    def cat_file(
        self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any
    ) -> bytes:
        return transfers.cat(self, self._strip_protocol(path), start, end)

    def get_file(
        self,
        rpath: str,
        lpath: Any,
        callback: Callback = DEFAULT_CALLBACK,
        outfile: Any = None,
        **kwargs: Any,
    ) -> None:
        transfers.get(self, self._strip_protocol(rpath), lpath, callback, outfile)

    def put_file(
        self,
        lpath: str,
        rpath: str,
        callback: Callback = DEFAULT_CALLBACK,
        mode: str = "overwrite",
        **kwargs: Any,
    ) -> None:
        if os.path.isdir(lpath):
            self.makedirs(rpath, exist_ok=True)
            return
        rpath = self._strip_protocol(rpath)
        with open(lpath, "rb") as source:
            size = os.fstat(source.fileno()).st_size
            callback.set_size(size)
            self.write_from(source, size, rpath, exclusive=mode == "create")
            callback.relative_update(size)

    def write_from(
        self, source: BinaryIO, size: int, path: str, *, exclusive: bool = False
    ) -> dict[str, Any]:
        """Upload ``size`` bytes from ``source`` to ``path`` (a new version if a file is there,
        unless ``exclusive``); missing parent folders are created. The new file's info."""
        return transfers.write(self, source, size, self._strip_protocol(path), exclusive=exclusive)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        transfers.copy(self, self._strip_protocol(path1), self._strip_protocol(path2))


def _rebuilt(carried: workers.Carried, options: tuple[Any, ...]) -> BoxFileSystem:
    """A pickled file system, on a worker (see ``BoxFileSystem.__reduce__``)."""
    progress, chunked_threshold, upload_workers = options
    return BoxFileSystem(
        WorkerConnection(carried),
        progress=progress,
        chunked_threshold=chunked_threshold,
        upload_workers=upload_workers,
    )
