"""Box content the emulator serves: users, folders, files and upload sessions."""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from .blobs import Blob, BlobStore, BytesBlob, DiskBlob
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
    return BoxError(
        404,
        "not_found",
        "Not Found",
        context_info={
            "errors": [{"reason": "invalid_parameter", "name": kind, "message": message}]
        },
    )


@contextmanager
def _discard_on_error(blob: Blob) -> Iterator[None]:
    try:
        yield
    except BoxError:
        blob.discard()
        raise


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
        return {
            "type": "folder",
            "id": self.id,
            "sequence_id": str(self.etag),
            "etag": str(self.etag),
            "name": self.name,
        }


@dataclass
class File:
    id: str
    name: str
    owner_id: str
    parent_id: str
    blob: Blob
    created_at: float
    modified_at: float
    version_id: str
    etag: int = 0

    @property
    def size(self) -> int:
        return self.blob.size

    @property
    def sha1(self) -> str:
        return self.blob.sha1

    @property
    def data(self) -> bytes:
        """All the bytes (for small files and tests)."""
        return self.blob.read()

    def mini(self) -> dict[str, Any]:
        return {
            "type": "file",
            "id": self.id,
            "sequence_id": str(self.etag),
            "etag": str(self.etag),
            "sha1": self.sha1,
            "name": self.name,
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
    #: The uploaded parts by offset: (part id, the part's bytes on disk).
    parts: dict[int, tuple[str, DiskBlob]] = field(default_factory=dict)

    @property
    def total_parts(self) -> int:
        return -(-self.file_size // self.part_size)


@dataclass
class ContentStore:
    """Users and their items, guarded by one lock; uploaded bytes live in ``blobs`` (on disk)."""

    clock: Clock
    lock: threading.RLock = field(default_factory=threading.RLock)
    blobs: BlobStore = field(default_factory=BlobStore)
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
            folders = [
                f
                for f in self.folders.values()
                if f.owner_id == user_id and f.parent_id == folder_id
            ]
            files = [
                f for f in self.files.values() if f.owner_id == user_id and f.parent_id == folder_id
            ]
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
    def check_free_name(
        self, user_id: str, folder_id: str, name: str, except_id: str | None = None
    ) -> None:
        folders, files = self.children(user_id, folder_id)
        items: list[Folder | File] = [*folders, *files]
        for item in items:
            if item.name.casefold() == name.casefold() and item.id != except_id:
                raise BoxError(
                    409,
                    "item_name_in_use",
                    "Item with the same name already exists",
                    context_info={"conflicts": [item.mini()]},
                )

    def add_folder(self, user_id: str, parent_id: str, name: str) -> Folder:
        with self.lock:
            self.check_free_name(user_id, parent_id, check_name(name))
            folder = Folder(self.new_id(), name, user_id, parent_id, self.clock.now())
            self.folders[folder.id] = folder
        return folder

    def check_quota(self, user_id: str, size: int, replacing: int = 0) -> None:
        """Box's 403 ``storage_limit_exceeded`` when ``size`` more bytes do not fit."""
        user = self.users[user_id]
        if self.space_used(user_id) - replacing + size > user.space_amount:
            raise BoxError(403, "storage_limit_exceeded", "Account storage limit reached")

    def add_file(self, user_id: str, parent_id: str, name: str, data: bytes | Blob) -> File:
        """A new file; it owns ``data`` (a blob is discarded if the file cannot be made)."""
        blob = BytesBlob(data) if isinstance(data, bytes) else data
        with self.lock, _discard_on_error(blob):
            self.check_free_name(user_id, parent_id, check_name(name))
            now = self.clock.now()
            file = File(self.new_id(), name, user_id, parent_id, blob, now, now, self.new_id())
            self.files[file.id] = file
        return file

    def new_version(self, user_id: str, file_id: str, data: bytes | Blob, name: str | None) -> File:
        """A new version of a file; it owns ``data`` as ``add_file`` does."""
        blob = BytesBlob(data) if isinstance(data, bytes) else data
        with self.lock, _discard_on_error(blob):
            file = self.file(user_id, file_id)
            if name is not None and name != file.name:
                self.check_free_name(user_id, file.parent_id, check_name(name), except_id=file.id)
                file.name = name
            old, file.blob, file.modified_at = file.blob, blob, self.clock.now()
            file.version_id, file.etag = self.new_id(), file.etag + 1
        old.discard()
        return file

    def copy_file(self, user_id: str, file_id: str, parent_id: str, name: str | None) -> File:
        """A copy of a file (its current version) in ``parent_id``, named ``name`` or as is."""
        source = self.file(user_id, file_id)
        self.folder(user_id, parent_id)
        name = source.name if name is None else name
        self.check_free_name(user_id, parent_id, check_name(name))
        return self.add_file(user_id, parent_id, name, self.blobs.copy(source.blob))

    def delete_file(self, user_id: str, file_id: str) -> None:
        with self.lock:
            file = self.file(user_id, file_id)
            del self.files[file.id]
        file.blob.discard()

    def delete_folder(self, user_id: str, folder_id: str, *, recursive: bool) -> None:
        """Delete a folder; one with items only when ``recursive`` (else 400 folder_not_empty)."""
        with self.lock:
            folder = self.folder(user_id, folder_id)
            if folder.id == ROOT:
                raise BoxError(
                    403,
                    "access_denied_insufficient_permissions",
                    "The root folder cannot be deleted",
                )
            folders, files = self.children(user_id, folder_id)
            if (folders or files) and not recursive:
                raise BoxError(400, "folder_not_empty", "Cannot delete - folder not empty")
            for sub in folders:
                self.delete_folder(user_id, sub.id, recursive=True)
            for file in files:
                self.delete_file(user_id, file.id)
            del self.folders[folder.id]

    def close(self) -> None:
        """Remove the uploaded content from disk."""
        self.blobs.close()

    def file_full(self, file: File) -> dict[str, Any]:
        owner = self.users[file.owner_id].mini()
        return {
            **file.mini(),
            "description": "",
            "size": file.size,
            "path_collection": {
                "total_count": len(chain := self.path_collection(file.owner_id, file.parent_id)),
                "entries": chain,
            },
            "created_at": iso(file.created_at),
            "modified_at": iso(file.modified_at),
            "content_created_at": iso(file.created_at),
            "content_modified_at": iso(file.modified_at),
            "trashed_at": None,
            "purged_at": None,
            "created_by": owner,
            "modified_by": owner,
            "owned_by": owner,
            "shared_link": None,
            "parent": self.folder(file.owner_id, file.parent_id).mini(),
            "item_status": "active",
        }

    def folder_full(self, folder: Folder) -> dict[str, Any]:
        owner = self.users[folder.owner_id].mini()
        chain = self.path_collection(folder.owner_id, folder.parent_id) if folder.parent_id else []
        return {
            **folder.mini(),
            "description": "",
            "size": 0,
            "path_collection": {"total_count": len(chain), "entries": chain},
            "created_at": iso(folder.created_at),
            "modified_at": iso(folder.created_at),
            "created_by": owner,
            "modified_by": owner,
            "owned_by": owner,
            "parent": self.folder(folder.owner_id, folder.parent_id).mini()
            if folder.parent_id
            else None,
            "item_status": "active",
        }
