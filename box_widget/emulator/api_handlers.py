"""The content API routes: the current user, folders, files and folder listings."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .base import BaseHandler
from .content import File, Folder, User
from .downscope import allowed
from .errors import BoxError, Unauthorized, invalid_parameter
from .oauth_store import AccessToken

SORT_KEYS = {"id", "name", "date", "size"}
MAX_LIMIT = 1000
MAX_OFFSET = 9999


class ApiHandler(BaseHandler):
    """A ``/2.0`` route: counts the call and authenticates its bearer token."""

    async def prepare(self) -> None:
        self.state.counters.api_calls += 1
        if self.state.faults.expiry_due(self.request.path):
            self.state.oauth.expire_access_tokens()
        await super().prepare()

    def token(self) -> AccessToken:
        """The request's live access token, or 401."""
        header = self.request.headers.get("Authorization")
        if header is None:
            raise Unauthorized("invalid_request", "The access token was not found.")
        scheme, _, value = header.partition(" ")
        token = None
        if scheme.lower() == "bearer":
            token = self.state.oauth.validate_access(value.strip())
        if token is None:
            self.state.counters.rejected_tokens += 1
            raise Unauthorized()
        method, path = self.request.method or "GET", self.request.path
        if token.restricted_to is not None and not allowed(method, path, token.restricted_to):
            raise BoxError(
                403,
                "insufficient_scope",
                "The request requires higher privileges than provided by the access token.",
            )
        return token

    def user(self, *, write: bool = False) -> User:
        """The user behind the access token; ``write`` also checks the token may write."""
        token = self.token()
        # A downscoped token's writes were checked route by route (``downscope.allowed``).
        if write and "root_readwrite" not in token.scopes and token.restricted_to is None:
            raise BoxError(
                403,
                "insufficient_scope",
                "The request requires higher privileges than provided by the access token.",
            )
        return self.state.content.users[token.user_id]

    def body(self) -> bytes:
        return self.request.body

    def json_body(self) -> dict[str, Any]:
        """The body as a JSON object, or Box's 400."""
        try:
            body = json.loads(self.body())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise BoxError(400, "bad_request", "The request body must be a JSON object")
        return body

    def query(self) -> dict[str, str]:
        return self.single_args(self.request.query_arguments, "query")

    def int_arg(self, args: dict[str, str], name: str, default: int) -> int:
        raw = args.get(name)
        if raw is None:
            return default
        if not raw.isdigit():
            raise invalid_parameter(name, raw)
        return int(raw)


def select_fields(full: dict[str, Any], mini: dict[str, Any], fields: str | None) -> dict[str, Any]:
    """Box's ``fields``: the base fields plus those asked for, else the default representation."""
    if fields is None:
        return full
    wanted = {f.strip() for f in fields.split(",") if f.strip()}
    base: dict[str, Any] = {k: mini[k] for k in ("type", "id", "etag") if k in mini}
    return {**base, **{k: v for k, v in full.items() if k in wanted}}


class UsersMeHandler(ApiHandler):
    """``GET /2.0/users/me``."""

    def get(self) -> None:
        user = self.user()
        args = self.query()
        full = user.full(self.state.content.space_used(user.id))
        body = select_fields(full, user.mini(), args.get("fields"))
        if args.get("fields") is not None:
            body = {**user.mini(), **body}
        self.write_json(body)


class FolderHandler(ApiHandler):
    """``GET /2.0/folders/{id}``."""

    def get(self, folder_id: str) -> None:
        user = self.user()
        folder = self.state.content.folder(user.id, folder_id)
        full = self.state.content.folder_full(folder)
        self.write_json(select_fields(full, folder.mini(), self.query().get("fields")))


class FileHandler(ApiHandler):
    """``GET /2.0/files/{id}``."""

    def get(self, file_id: str) -> None:
        user = self.user()
        file = self.state.content.file(user.id, file_id)
        full = self.state.content.file_full(file)
        self.write_json(select_fields(full, file.mini(), self.query().get("fields")))


class FolderItemsHandler(ApiHandler):
    """``GET /2.0/folders/{id}/items`` with offset or marker pagination."""

    def get(self, folder_id: str) -> None:
        user = self.user()
        args = self.query()
        content = self.state.content
        folders, files = content.children(user.id, folder_id)
        limit = min(self.int_arg(args, "limit", 100), MAX_LIMIT) or 100
        sort, direction = args.get("sort", "name"), args.get("direction", "ASC")
        if sort not in SORT_KEYS:
            raise invalid_parameter("sort", sort)
        if direction not in {"ASC", "DESC"}:
            raise invalid_parameter("direction", direction)
        items = self._sorted(folders, sort, direction) + self._sorted(files, sort, direction)
        usemarker = args.get("usemarker", "false").lower()
        if usemarker not in {"true", "false"}:
            raise invalid_parameter("usemarker", usemarker)
        if usemarker == "true":
            offset = self._decode_marker(args["marker"], folder_id) if "marker" in args else 0
        else:
            offset = self.int_arg(args, "offset", 0)
            if offset > MAX_OFFSET:
                raise invalid_parameter("offset", offset)
        page = items[offset : offset + limit]
        fields = args.get("fields")
        entries = [self._entry(item, fields) for item in page]
        if usemarker == "true":
            end = offset + limit
            body: dict[str, Any] = {
                "entries": entries,
                "limit": limit,
                "next_marker": self._marker(end, folder_id) if end < len(items) else None,
                "prev_marker": self._marker(max(0, offset - limit), folder_id) if offset else None,
            }
        else:
            body = {
                "total_count": len(items),
                "entries": entries,
                "offset": offset,
                "limit": limit,
                "order": [{"by": "type", "direction": "ASC"}, {"by": sort, "direction": direction}],
            }
        self.write_json(body)

    @staticmethod
    def _sorted(items: list[Any], sort: str, direction: str) -> list[Any]:
        def key(item: Folder | File) -> Any:
            if sort == "id":
                return int(item.id)
            if sort == "size":
                return item.size if isinstance(item, File) else 0
            if sort == "date":
                return item.modified_at if isinstance(item, File) else item.created_at
            return item.name.casefold()

        return sorted(items, key=key, reverse=direction == "DESC")

    def _entry(self, item: Folder | File, fields: str | None) -> dict[str, Any]:
        if fields is None:
            return item.mini()
        content = self.state.content
        full = content.file_full(item) if isinstance(item, File) else content.folder_full(item)
        return select_fields(full, item.mini(), fields)

    @staticmethod
    def _marker(offset: int, folder_id: str) -> str:
        raw = json.dumps({"o": offset, "f": folder_id}).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @staticmethod
    def _decode_marker(marker: str, folder_id: str) -> int:
        try:
            data = json.loads(base64.urlsafe_b64decode(marker + "=" * (-len(marker) % 4)))
            if data["f"] == folder_id and isinstance(data["o"], int) and data["o"] >= 0:
                return int(data["o"])
        except (ValueError, KeyError, TypeError, binascii.Error):
            pass
        raise invalid_parameter("marker", marker)
