"""Box paths: names from the root folder (``Reports/q1.csv``) or an item id
(``id:12345``, ``id:12345/q1.csv``), resolved through folder listings kept in a small cache.

Box names are unique within a folder regardless of case; a name is matched exactly first, then
case-insensitively. The cache holds the listings of recently used folders; every write through
the file system invalidates the listing of the folder it changed.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Any

from ..errors import BoxAPIError
from ..session import BoxSession
from .errors import not_found, translated

ROOT_ID = "0"
ID_PREFIX = "id:"
#: The item fields a listing asks for (Box answers only these plus type, id and etag).
FIELDS = "name,size,sha1,created_at,modified_at,content_modified_at,file_version"
PAGE = 1000

Entry = dict[str, Any]


def split(path: str) -> list[str]:
    """A stripped path's names."""
    return [part for part in path.strip("/").split("/") if part]


def join(*parts: str) -> str:
    """Names joined with ``/``; an empty part (the root) is skipped."""
    return "/".join(p.strip("/") for p in parts if p.strip("/"))


def root_entry() -> Entry:
    return {"type": "folder", "id": ROOT_ID, "name": ""}


class ListingCache:
    """Folder listings by folder id, each kept ``ttl`` seconds; at most ``max_folders``.

    One cache is shared by every file system of a connection in this process (see
    ``cache_for``), so that a write through one instance (pandas makes a new one per call) is
    seen by the others; changes made elsewhere (Box's web app, another process) show within
    ``ttl`` seconds, or at once after ``fs.invalidate_cache()``.
    """

    def __init__(self, *, ttl: float = 30.0, max_folders: int = 256) -> None:
        self.ttl = ttl
        self.max_folders = max_folders
        self._items: OrderedDict[str, tuple[float, dict[str, Entry]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, folder_id: str) -> dict[str, Entry] | None:
        with self._lock:
            found = self._items.get(folder_id)
            if found is None or time.monotonic() - found[0] > self.ttl:
                self._items.pop(folder_id, None)
                return None
            self._items.move_to_end(folder_id)
            return found[1]

    def put(self, folder_id: str, items: dict[str, Entry]) -> None:
        with self._lock:
            self._items[folder_id] = (time.monotonic(), items)
            while len(self._items) > self.max_folders:
                self._items.popitem(last=False)

    def invalidate(self, folder_id: str | None = None) -> None:
        """Forget one folder's listing, or all of them."""
        with self._lock:
            if folder_id is None:
                self._items.clear()
            else:
                self._items.pop(folder_id, None)


_caches: dict[tuple[str, str], ListingCache] = {}
_caches_lock = threading.Lock()


def cache_for(vault_home: str, connection: str) -> ListingCache:
    """The listing cache shared by the file systems of one connection."""
    with _caches_lock:
        return _caches.setdefault((vault_home, connection), ListingCache())


class PathResolver:
    """Paths to Box items for one session, with listings from a ``ListingCache``."""

    def __init__(self, session: BoxSession, cache: ListingCache | None = None) -> None:
        self.session = session
        self.cache = cache or ListingCache()

    def listing(self, folder_id: str, path: str = "") -> dict[str, Entry]:
        """A folder's items by name (cached)."""
        cached = self.cache.get(folder_id)
        if cached is not None:
            return cached
        items: dict[str, Entry] = {}
        params: dict[str, str | int] = {"fields": FIELDS, "limit": PAGE, "usemarker": "true"}
        with translated(path):
            while True:
                page = self.session.get(f"folders/{folder_id}/items", params=params).json()
                items.update((entry["name"], entry) for entry in page["entries"])
                if not page.get("next_marker"):
                    break
                params["marker"] = page["next_marker"]
        self.cache.put(folder_id, items)
        return items

    def invalidate(self, folder_id: str | None = None) -> None:
        """Forget one folder's listing, or all of them."""
        self.cache.invalidate(folder_id)

    # --- resolving ------------------------------------------------------------------------------
    def child(self, folder: Entry, name: str, path: str) -> Entry | None:
        """The item called ``name`` in ``folder``, if any."""
        items = self.listing(folder["id"], path)
        if name in items:
            return items[name]
        folded = name.casefold()
        return next((e for n, e in items.items() if n.casefold() == folded), None)

    def by_id(self, item_id: str, path: str) -> Entry:
        """The folder, else the file, with this id."""
        if item_id == ROOT_ID:
            return root_entry()
        if item_id.isdigit():
            with translated(path):
                for kind in ("folders", "files"):
                    try:
                        entry: Entry = self.session.get(
                            f"{kind}/{item_id}", params={"fields": FIELDS}
                        ).json()
                    except BoxAPIError as exc:
                        if exc.status != 404:
                            raise
                    else:
                        return entry
        raise not_found(path)

    def resolve(self, path: str) -> Entry:
        """The item at a stripped path; ``FileNotFoundError`` when there is none."""
        names = split(path)
        if names and names[0].startswith(ID_PREFIX):
            item = self.by_id(names.pop(0)[len(ID_PREFIX) :], path)
        else:
            item = root_entry()
        for name in names:
            if item["type"] != "folder":
                raise not_found(path)
            found = self.child(item, name, path)
            if found is None:
                raise not_found(path)
            item = found
        return item

    def cached_id(self, path: str) -> str | None:
        """The id of the item at ``path`` if the cached listings know it (no request)."""
        names = split(path)
        if names and names[0].startswith(ID_PREFIX):
            item_id: str | None = names.pop(0)[len(ID_PREFIX) :]
        else:
            item_id = ROOT_ID
        for name in names:
            items = self.cache.get(item_id) if item_id else None
            entry = items.get(name) if items else None
            item_id = entry["id"] if entry else None
        return item_id

    def parent_and_name(self, path: str) -> tuple[Entry, str]:
        """The folder a path's last name would live in (which must exist), and that name."""
        names = split(path)
        if not names or (len(names) == 1 and names[0].startswith(ID_PREFIX)):
            msg = f"{path!r} is the root or an id, not a name in a folder"
            raise ValueError(msg)
        parent = self.resolve("/".join(names[:-1]))
        if parent["type"] != "folder":
            raise NotADirectoryError(20, "Not a folder in Box", "/".join(names[:-1]))
        return parent, names[-1]


def info_of(path: str, entry: Entry) -> dict[str, Any]:
    """fsspec's info dict for a Box entry."""
    is_file = entry["type"] == "file"
    info = {
        "name": path,
        "size": int(entry.get("size") or 0) if is_file else 0,
        "type": "file" if is_file else "directory",
        "id": entry["id"],
    }
    for key in ("sha1", "created_at", "modified_at"):
        if entry.get(key) is not None:
            info[key] = entry[key]
    return info
