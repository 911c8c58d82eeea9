"""Box content the emulator serves: users, folders, files and upload sessions."""

from __future__ import annotations

import hashlib
import itertools
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .core import Clock
from .errors import BoxError

ROOT = "0"


def iso(ts: float) -> str:
    """Box's timestamp format."""
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_name(name: object) -> str:
    """A valid item name, or Box's ``item_name_invalid`` / ``item_name_too_long``."""
    if not isinstance(name, str) or not name.strip() or name in {".", ".."}:
        raise BoxError(400, "item_name_invalid", "Item name invalid")
    if any(c in name for c in "/\\") or name != name.strip() or not name.isprintable():
        raise BoxError(400, "item_name_invalid", "Item name invalid")
    if len(name) > 255:
        raise BoxError(400, "item_name_too_long", "Item name too long")
    return name


def not_found(kind: str, value: str) -> BoxError:
    """Box's 404 for an item that does not exist or that the user cannot see."""
    message = f"Invalid value '{value}'. '{kind}' with value '{value}' not found"
    return BoxError(404, "not_found", "Not Found", context_info={
        "errors": [{"reason": "invalid_parameter", "name": kind, "message": message}]})


@dataclass
class User:
    id: str
    name: str
    login: str
    created_at: float
    space_amount: int = 10 * 1024**3

    def mini(self) -> dict[str, Any]:
        return {"type": "user", "id": self.id, "name": self.name, "login": self.login}

    def full(self, space_used: int) -> dict[str, Any]:
        return {
            **self.mini(),
            "created_at": iso(self.created_at),
            "modified_at": iso(self.created_at),
            "language": "en",
            "timezone": "Europe/London",
            "space_amount": self.space_amount,
            "space_used": space_used,
            "max_upload_size": 5 * 1024**3,
            "status": "active",
            "job_title": "",
            "phone": "",
            "address": "",
            "avatar_url": f"https://app.box.com/api/avatar/large/{self.id}",
            "notification_email": None,
        }


@dataclass
class Folder:
    id: str
    name: str
    owner_id: str
    parent_id: str | None
    created_at: float
    etag: int = 0

    def mini(self) -> dict[str, Any]:
        return {"type": "folder", "id": self.id, "sequence_id": str(self.etag),
                "etag": str(self.etag), "name": self.name}


@dataclass
class File:
    id: str
    name: str
    owner_id: str
    parent_id: str
    data: bytes
    created_at: float
    modified_at: float
    version_id: str
    etag: int = 0

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def sha1(self) -> str:
        return hashlib.sha1(self.data).hexdigest()  # noqa: S324 - Box's own digest

    def mini(self) -> dict[str, Any]:
        return {
            "type": "file", "id": self.id, "sequence_id": str(self.etag), "etag": str(self.etag),
            "sha1": self.sha1, "name": self.name,
            "file_version": {"type": "file_version", "id": self.version_id, "sha1": self.sha1},
        }


@dataclass
class UploadSession:
    id: str
    owner_id: str
    folder_id: str
    file_name: str
    file_size: int
    part_size: int
    expires_at: float
    file_id: str | None = None
    parts: dict[int, tuple[str, bytes]] = field(default_factory=dict)

    @property
    def total_parts(self) -> int:
        return -(-self.file_size // self.part_size)


@dataclass
class ContentStore:
    """Users and their items, guarded by one lock."""

    clock: Clock
    lock: threading.RLock = field(default_factory=threading.RLock)
    users: dict[str, User] = field(default_factory=dict)
    folders: dict[str, Folder] = field(default_factory=dict)
    files: dict[str, File] = field(default_factory=dict)
    sessions: dict[str, UploadSession] = field(default_factory=dict)
    downloads: dict[str, tuple[str, str, float]] = field(default_factory=dict)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1000001))

    def new_id(self) -> str:
        return str(next(self._ids))

    def add_user(self, name: str, login: str, user_id: str | None = None) -> User:
        user = User(user_id or self.new_id(), name, login, self.clock.now())
        with self.lock:
            self.users[user.id] = user
        return user

    # --- lookups, each scoped to the user who asks --------------------------------------
    def folder(self, user_id: str, folder_id: str) -> Folder:
        if not folder_id.isdigit():
            raise BoxError(405, "method_not_allowed", "Method Not Allowed")
        if folder_id == ROOT:
            return Folder(ROOT, "All Files", user_id, None, self.users[user_id].created_at)
        folder = self.folders.get(folder_id)
        if folder is None or folder.owner_id != user_id:
            raise not_found("folder", f"d_{folder_id}")
        return folder

    def file(self, user_id: str, file_id: str) -> File:
        file = self.files.get(file_id)
        if file is None or file.owner_id != user_id:
            raise not_found("file", f"f_{file_id}")
        return file

    def children(self, user_id: str, folder_id: str) -> tuple[list[Folder], list[File]]:
        self.folder(user_id, folder_id)
        with self.lock:
            folders = [f for f in self.folders.values()
                       if f.owner_id == user_id and f.parent_id == folder_id]
            files = [f for f in self.files.values()
                     if f.owner_id == user_id and f.parent_id == folder_id]
        return folders, files

    def path_collection(self, user_id: str, folder_id: str) -> list[dict[str, Any]]:
        chain: list[dict[str, Any]] = []
        current: str | None = folder_id
        while current is not None:
            folder = self.folder(user_id, current)
            chain.append(folder.mini())
            current = folder.parent_id
        return list(reversed(chain))

    def space_used(self, user_id: str) -> int:
        return sum(f.size for f in self.files.values() if f.owner_id == user_id)

    # --- writes ---------------------------------------------------------------------------
    def check_free_name(self, user_id: str, folder_id: str, name: str,
                        except_id: str | None = None) -> None:
        folders, files = self.children(user_id, folder_id)
        items: list[Folder | File] = [*folders, *files]
        for item in items:
            if item.name.casefold() == name.casefold() and item.id != except_id:
                raise BoxError(409, "item_name_in_use", "Item with the same name already exists",
                               context_info={"conflicts": [item.mini()]})

    def add_folder(self, user_id: str, parent_id: str, name: str) -> Folder:
        with self.lock:
            self.check_free_name(user_id, parent_id, check_name(name))
            folder = Folder(self.new_id(), name, user_id, parent_id, self.clock.now())
            self.folders[folder.id] = folder
        return folder

    def add_file(self, user_id: str, parent_id: str, name: str, data: bytes) -> File:
        with self.lock:
            self.check_free_name(user_id, parent_id, check_name(name))
            now = self.clock.now()
            file = File(self.new_id(), name, user_id, parent_id, data, now, now, self.new_id())
            self.files[file.id] = file
        return file

    def new_version(self, user_id: str, file_id: str, data: bytes, name: str | None) -> File:
        with self.lock:
            file = self.file(user_id, file_id)
            if name is not None and name != file.name:
                self.check_free_name(user_id, file.parent_id, check_name(name), except_id=file.id)
                file.name = name
            file.data, file.modified_at = data, self.clock.now()
            file.version_id, file.etag = self.new_id(), file.etag + 1
        return file

    def file_full(self, file: File) -> dict[str, Any]:
        owner = self.users[file.owner_id].mini()
        return {
            **file.mini(), "description": "", "size": file.size,
            "path_collection": {"total_count": len(chain := self.path_collection(
                file.owner_id, file.parent_id)), "entries": chain},
            "created_at": iso(file.created_at), "modified_at": iso(file.modified_at),
            "content_created_at": iso(file.created_at),
            "content_modified_at": iso(file.modified_at),
            "trashed_at": None, "purged_at": None,
            "created_by": owner, "modified_by": owner, "owned_by": owner,
            "shared_link": None, "parent": self.folder(file.owner_id, file.parent_id).mini(),
            "item_status": "active",
        }

    def folder_full(self, folder: Folder) -> dict[str, Any]:
        owner = self.users[folder.owner_id].mini()
        chain = self.path_collection(folder.owner_id, folder.parent_id) if folder.parent_id else []
        return {
            **folder.mini(), "description": "", "size": 0,
            "path_collection": {"total_count": len(chain), "entries": chain},
            "created_at": iso(folder.created_at), "modified_at": iso(folder.created_at),
            "created_by": owner, "modified_by": owner, "owned_by": owner,
            "parent": self.folder(folder.owner_id, folder.parent_id).mini()
            if folder.parent_id else None,
            "item_status": "active",
        }
