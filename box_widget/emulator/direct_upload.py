"""``POST /api/2.0/files/content``: Box's direct multipart upload."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from . import multipart
from .content import check_name
from .errors import BoxError
from .upload_base import MULTIPART_OVERHEAD, StreamingApiHandler


class DirectUploadHandler(StreamingApiHandler):
    """``POST /api/2.0/files/content`` and ``/api/2.0/files/{id}/content`` (a new version)."""

    def max_body(self) -> int:
        return self.state.settings.direct_upload_limit + MULTIPART_OVERHEAD

    def post(self, file_id: str | None = None) -> None:
        user = self.user(write=True)
        boundary = multipart.boundary_of(self.request.headers.get("Content-Type", ""))
        if boundary is None:
            raise BoxError(400, "bad_request", "Expected a multipart/form-data body")
        try:
            parts = multipart.parse(boundary, self.body())
        except ValueError as exc:
            raise BoxError(400, "bad_request", str(exc)) from None
        names = [p.name for p in parts]
        if "file" not in names:
            raise BoxError(400, "bad_request", "The 'file' part is missing")
        if "attributes" in names and names.index("attributes") > names.index("file"):
            raise BoxError(
                400,
                "metadata_after_file_contents",
                "Metadata (the 'attributes' part) must come before the file contents",
            )
        if "attributes" not in names and file_id is None:
            raise BoxError(400, "bad_request", "The 'attributes' part is missing")
        attributes = self._attributes(
            parts[names.index("attributes")].data if "attributes" in names else b"{}"
        )
        data = parts[names.index("file")].data
        if len(data) > self.state.settings.direct_upload_limit:
            raise BoxError(
                413,
                "request_entity_too_large",
                "Direct uploads are limited to 50 MB; use a chunked upload session",
            )
        expected = self.request.headers.get("Content-MD5")
        if expected and expected.lower() != hashlib.sha1(data).hexdigest():  # noqa: S324
            raise BoxError(
                412,
                "precondition_failed",
                "The SHA-1 in the Content-MD5 header does not match the file",
            )
        content = self.state.content
        if file_id is not None:
            content.check_quota(user.id, len(data), content.file(user.id, file_id).size)
            blob = content.blobs.write([data])
            file = content.new_version(user.id, file_id, blob, attributes.get("name"))
            self.files_response(file, 201)
            return
        parent = attributes.get("parent")
        parent_id = parent.get("id") if isinstance(parent, dict) else None
        if not isinstance(parent_id, str):
            raise BoxError(400, "bad_request", "attributes.parent.id is missing")
        name = check_name(attributes.get("name"))
        content.check_free_name(user.id, parent_id, name)
        content.check_quota(user.id, len(data))
        file = content.add_file(user.id, parent_id, name, content.blobs.write([data]))
        self.files_response(file, 201)

    @staticmethod
    def _attributes(raw: bytes) -> dict[str, Any]:
        try:
            attributes = json.loads(raw)
        except ValueError:
            attributes = None
        if not isinstance(attributes, dict):
            raise BoxError(400, "bad_request", "The 'attributes' part must be a JSON object")
        return attributes
