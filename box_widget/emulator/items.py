"""Changes to items: create a folder, copy a file, delete a file or folder, upload preflight."""

from __future__ import annotations

import secrets
from typing import Any

from . import api_handlers as api
from .content import check_name
from .errors import BoxError


def parent_id_of(body: dict[str, Any]) -> str:
    """``parent.id`` of a request body, or Box's 400."""
    parent = body.get("parent")
    parent_id = parent.get("id") if isinstance(parent, dict) else None
    if not isinstance(parent_id, str):
        raise BoxError(400, "bad_request", "parent.id is missing")
    return parent_id


class FoldersHandler(api.ApiHandler):
    """``POST /2.0/folders``: a new folder ``{name, parent: {id}}``; 409 when the name is taken."""

    def post(self) -> None:
        user = self.user(write=True)
        body = self.json_body()
        content = self.state.content
        folder = content.add_folder(user.id, parent_id_of(body), check_name(body.get("name")))
        self.write_json(content.folder_full(folder), 201)


class FolderHandler(api.FolderHandler):
    """``GET`` and ``DELETE /2.0/folders/{id}`` (``recursive=true`` to delete what it holds)."""

    def delete(self, folder_id: str) -> None:
        user = self.user(write=True)
        recursive = self.query().get("recursive", "false").lower()
        if recursive not in {"true", "false"}:
            raise BoxError(400, "bad_request", "recursive must be true or false")
        self.state.content.delete_folder(user.id, folder_id, recursive=recursive == "true")
        self.set_status(204)
        self.finish()


class FileHandler(api.FileHandler):
    """``GET`` and ``DELETE /2.0/files/{id}``."""

    def delete(self, file_id: str) -> None:
        user = self.user(write=True)
        self.state.content.delete_file(user.id, file_id)
        self.set_status(204)
        self.finish()


class FileCopyHandler(api.ApiHandler):
    """``POST /2.0/files/{id}/copy`` ``{parent: {id}, name?}``: 201 and the new file."""

    def post(self, file_id: str) -> None:
        user = self.user(write=True)
        body = self.json_body()
        name = body.get("name")
        if name is not None and not isinstance(name, str):
            raise BoxError(400, "bad_request", "name must be a string")
        content = self.state.content
        copy = content.copy_file(user.id, file_id, parent_id_of(body), name)
        self.write_json(content.file_full(copy), 201)


class PreflightHandler(api.ApiHandler):
    """``OPTIONS /2.0/files/content`` ``{name, size, parent: {id}}``: would this upload be
    accepted? 200 with an upload URL; 409 ``item_name_in_use``; 403 ``storage_limit_exceeded``."""

    def options(self) -> None:
        user = self.user(write=True)
        body = self.json_body()
        content = self.state.content
        parent_id = parent_id_of(body)
        content.folder(user.id, parent_id)
        content.check_free_name(user.id, parent_id, check_name(body.get("name")))
        size = body.get("size", 0)
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BoxError(400, "bad_request", "size must be a number of bytes")
        content.check_quota(user.id, size)
        url = f"{self.request.protocol}://{self.request.host}/api/2.0/files/content"
        self.write_json({"upload_url": url, "upload_token": secrets.token_urlsafe(24)})
