"""The upload routes (Box's upload host): direct multipart uploads and chunked upload sessions."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from typing import Any

from tornado.http1connection import HTTP1Connection
from tornado.web import stream_request_body

from . import multipart
from .api_handlers import ApiHandler
from .content import File, UploadSession, check_name, iso
from .errors import BoxError

DIGEST = re.compile(r"sha=([A-Za-z0-9+/]+={0,2})$")
CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)$")
MULTIPART_OVERHEAD = 1024 * 1024


def sha1_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha1(data).digest()).decode()  # noqa: S324 - Box's digest


def digest_of(header: str | None) -> str:
    """The base64 SHA-1 of an RFC 3230 ``Digest: sha=...`` header, or Box's 400."""
    match = DIGEST.match(header or "")
    if not match:
        raise BoxError(400, "bad_request", "The Digest header is missing or malformed",
                       context_info={"errors": [{"reason": "invalid_parameter", "name": "digest",
                                                 "message": "Expected 'sha=<base64 SHA-1>'"}]})
    return match[1]


@stream_request_body
class StreamingApiHandler(ApiHandler):
    """An API route whose body is read in pieces, refused early when too large."""

    def max_body(self) -> int:
        raise NotImplementedError

    async def prepare(self) -> None:
        await super().prepare()
        self._chunks: list[bytes] = []
        self._size = 0
        if self._finished:
            return
        connection = self.request.connection
        assert isinstance(connection, HTTP1Connection)
        connection.set_max_body_size(self.max_body() + 1)
        length = self.request.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > self.max_body():
            raise BoxError(413, "request_entity_too_large", "Request Entity Too Large")

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size <= self.max_body():
            self._chunks.append(chunk)

    def body(self) -> bytes:
        if self._size > self.max_body():
            raise BoxError(413, "request_entity_too_large", "Request Entity Too Large")
        return b"".join(self._chunks)

    def json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.body())
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise BoxError(400, "bad_request", "The request body must be a JSON object")
        return body

    def files_response(self, file: File, status: int) -> None:
        self.write_json({"total_count": 1, "entries": [self.state.content.file_full(file)]}, status)


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
            raise BoxError(400, "metadata_after_file_contents",
                           "Metadata (the 'attributes' part) must come before the file contents")
        if "attributes" not in names and file_id is None:
            raise BoxError(400, "bad_request", "The 'attributes' part is missing")
        attributes = self._attributes(parts[names.index("attributes")].data
                                      if "attributes" in names else b"{}")
        data = parts[names.index("file")].data
        if len(data) > self.state.settings.direct_upload_limit:
            raise BoxError(413, "request_entity_too_large",
                           "Direct uploads are limited to 50 MB; use a chunked upload session")
        expected = self.request.headers.get("Content-MD5")
        if expected and expected.lower() != hashlib.sha1(data).hexdigest():  # noqa: S324
            raise BoxError(412, "precondition_failed",
                           "The SHA-1 in the Content-MD5 header does not match the file")
        content = self.state.content
        if file_id is not None:
            file = content.new_version(user.id, file_id, data, attributes.get("name"))
            self.files_response(file, 201)
            return
        parent = attributes.get("parent")
        parent_id = parent.get("id") if isinstance(parent, dict) else None
        if not isinstance(parent_id, str):
            raise BoxError(400, "bad_request", "attributes.parent.id is missing")
        name = check_name(attributes.get("name"))
        self.files_response(content.add_file(user.id, parent_id, name, data), 201)

    @staticmethod
    def _attributes(raw: bytes) -> dict[str, Any]:
        try:
            attributes = json.loads(raw)
        except ValueError:
            attributes = None
        if not isinstance(attributes, dict):
            raise BoxError(400, "bad_request", "The 'attributes' part must be a JSON object")
        return attributes


def describe(handler: ApiHandler, session: UploadSession) -> dict[str, Any]:
    """Box's ``UploadSession`` object, with endpoints on the host the client used."""
    request = handler.request
    url = f"{request.protocol}://{request.host}/api/2.0/files/upload_sessions/{session.id}"
    return {
        "id": session.id, "type": "upload_session",
        "session_expires_at": iso(session.expires_at), "part_size": session.part_size,
        "total_parts": session.total_parts, "num_parts_processed": len(session.parts),
        "session_endpoints": {
            "upload_part": url, "commit": f"{url}/commit", "abort": url,
            "list_parts": f"{url}/parts", "status": url, "log_event": f"{url}/log",
        },
    }


class UploadSessionsHandler(StreamingApiHandler):
    """``POST /api/2.0/files/upload_sessions`` (new file) and ``/files/{id}/upload_sessions``."""

    def max_body(self) -> int:
        return 64 * 1024

    def post(self, file_id: str | None = None) -> None:
        user = self.user(write=True)
        body = self.json_body()
        content, settings = self.state.content, self.state.settings
        folder_id: Any
        name: Any
        if file_id is not None:
            file = content.file(user.id, file_id)
            folder_id, name = file.parent_id, body.get("file_name", file.name)
        else:
            folder_id, name = body.get("folder_id"), body.get("file_name")
            if folder_id is None:
                raise BoxError(400, "missing_destination", "folder_id is required")
            if not isinstance(folder_id, str) or not folder_id.isdigit():
                raise BoxError(400, "invalid_folder_id", "folder_id is not valid")
            if name is None:
                raise BoxError(400, "missing_file_name", "file_name is required")
        size = body.get("file_size")
        if size is None:
            raise BoxError(400, "missing_file_size", "file_size is required")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise BoxError(400, "invalid_file_size", "file_size is not a valid number")
        if size < settings.chunked_upload_minimum:
            raise BoxError(400, "file_size_too_small",
                           "File size is less than minimum allowed for this API: "
                           f"{settings.chunked_upload_minimum}")
        content.folder(user.id, folder_id)
        name = check_name(name)
        content.check_free_name(user.id, folder_id, name, except_id=file_id)
        session = UploadSession(secrets.token_hex(16).upper(), user.id, folder_id, name, size,
                                settings.part_size,
                                self.state.clock.now() + settings.upload_session_lifetime,
                                file_id)
        with content.lock:
            content.sessions[session.id] = session
        self.write_json(describe(self, session), 201)


class SessionHandler(StreamingApiHandler):
    """A route under one upload session."""

    def max_body(self) -> int:
        return self.state.settings.part_size

    def session(self, session_id: str) -> UploadSession:
        user = self.user(write=True)
        session = self.state.content.sessions.get(session_id)
        if session is None or session.owner_id != user.id:
            raise BoxError(404, "not_found", "Not Found")
        if self.state.clock.now() > session.expires_at:
            raise BoxError(410, "session_expired", "The upload session has expired")
        return session

    @staticmethod
    def part(part_id: str, offset: int, data: bytes) -> dict[str, Any]:
        return {"part_id": part_id, "offset": offset, "size": len(data),
                "sha1": hashlib.sha1(data).hexdigest()}  # noqa: S324


class UploadSessionHandler(SessionHandler):
    """One upload session: upload a part (PUT), its status (GET), abort (DELETE)."""

    def get(self, session_id: str) -> None:
        self.write_json(describe(self, self.session(session_id)))

    def delete(self, session_id: str) -> None:
        session = self.session(session_id)
        with self.state.content.lock:
            self.state.content.sessions.pop(session.id, None)
        self.set_status(204)
        self.finish()

    def put(self, session_id: str) -> None:
        session = self.session(session_id)
        digest = digest_of(self.request.headers.get("Digest"))
        match = CONTENT_RANGE.match(self.request.headers.get("Content-Range", ""))
        if not match:
            raise BoxError(400, "bad_request", "The Content-Range header is missing or malformed")
        lo, hi, total = (int(g) for g in match.groups())
        last = hi == session.file_size - 1
        if (total != session.file_size or hi < lo or hi >= total or lo % session.part_size
                or (hi - lo + 1 != session.part_size and not last)):
            raise BoxError(416, "requested_range_not_satisfiable",
                           "The Content-Range does not fit this session's part size and file size")
        data = self.body()
        if len(data) != hi - lo + 1:
            raise BoxError(400, "bad_request", "The body length does not match Content-Range")
        if sha1_b64(data) != digest:
            raise BoxError(412, "precondition_failed", "The part does not match its Digest header")
        with self.state.content.lock:
            existing = session.parts.get(lo)
            if existing is not None and existing[1] != data:
                raise BoxError(409, "range_overlaps_existing_part",
                               "Part overlaps with an already uploaded part")
            part_id = existing[0] if existing else secrets.token_hex(4).upper()
            session.parts[lo] = (part_id, data)
        self.write_json({"part": self.part(part_id, lo, data)})


class UploadPartsHandler(SessionHandler):
    """``GET .../upload_sessions/{id}/parts``."""

    def get(self, session_id: str) -> None:
        session = self.session(session_id)
        entries = [self.part(pid, off, data) for off, (pid, data) in sorted(session.parts.items())]
        self.write_json({"entries": entries, "limit": 1000, "offset": 0,
                         "total_count": len(entries)})


class CommitHandler(SessionHandler):
    """``POST .../upload_sessions/{id}/commit``: assemble the parts into the file."""

    def max_body(self) -> int:
        return 1024 * 1024

    def post(self, session_id: str) -> None:
        session = self.session(session_id)
        digest = digest_of(self.request.headers.get("Digest"))
        body = self.json_body()
        listed = body.get("parts")
        uploaded = {(pid, off) for off, (pid, _) in session.parts.items()}
        try:
            claimed = {(p["part_id"], p["offset"]) for p in listed}  # type: ignore[union-attr]
        except (TypeError, KeyError):
            raise BoxError(400, "bad_request", "'parts' must list the uploaded parts") from None
        if claimed != uploaded:
            raise BoxError(400, "bad_request", "'parts' does not match the uploaded parts")
        data = b"".join(chunk for _, (_, chunk) in sorted(session.parts.items()))
        if len(data) != session.file_size:
            raise BoxError(400, "bad_request", "Not all parts of the file have been uploaded")
        if sha1_b64(data) != digest:
            raise BoxError(412, "precondition_failed", "The file does not match its Digest header")
        attributes = body.get("attributes")
        name = attributes.get("name", session.file_name) if isinstance(attributes, dict) \
            else session.file_name
        content = self.state.content
        if session.file_id is not None:
            file = content.new_version(session.owner_id, session.file_id, data, name)
        else:
            file = content.add_file(session.owner_id, session.folder_id, name, data)
        with content.lock:
            content.sessions.pop(session.id, None)
        self.files_response(file, 201)
