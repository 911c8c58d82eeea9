"""Box's chunked upload sessions: create, upload parts, list, commit, abort."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from .api_handlers import ApiHandler
from .content import UploadSession, check_name, iso
from .errors import BoxError
from .upload_base import CONTENT_RANGE, StreamingApiHandler, digest_of, sha1_b64


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
