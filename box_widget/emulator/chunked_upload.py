"""Box's chunked upload sessions: create, upload parts, list, commit, abort."""

from __future__ import annotations

import base64
import itertools
import secrets
from typing import Any

from .api_handlers import ApiHandler
from .blobs import DiskBlob
from .content import UploadSession, check_name, iso
from .errors import BoxError
from .upload_base import CONTENT_RANGE, StreamingApiHandler, digest_of, sha1_b64


def describe(handler: ApiHandler, session: UploadSession) -> dict[str, Any]:
    """Box's ``UploadSession`` object, with endpoints on the host the client used."""
    request = handler.request
    base = (
        handler.state.settings.upload_session_url or f"{request.protocol}://{request.host}/api/2.0"
    )
    url = f"{base.rstrip('/')}/files/upload_sessions/{session.id}"
    return {
        "id": session.id,
        "type": "upload_session",
        "session_expires_at": iso(session.expires_at),
        "part_size": session.part_size,
        "total_parts": session.total_parts,
        "num_parts_processed": len(session.parts),
        "session_endpoints": {
            "upload_part": url,
            "commit": f"{url}/commit",
            "abort": url,
            "list_parts": f"{url}/parts",
            "status": url,
            "log_event": f"{url}/log",
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
            raise BoxError(
                400,
                "file_size_too_small",
                "File size is less than minimum allowed for this API: "
                f"{settings.chunked_upload_minimum}",
            )
        content.folder(user.id, folder_id)
        name = check_name(name)
        content.check_free_name(user.id, folder_id, name, except_id=file_id)
        content.check_quota(user.id, size, content.file(user.id, file_id).size if file_id else 0)
        session = UploadSession(
            secrets.token_hex(16).upper(),
            user.id,
            folder_id,
            name,
            size,
            settings.part_size,
            self.state.clock.now() + settings.upload_session_lifetime,
            file_id,
        )
        with content.lock:
            content.sessions[session.id] = session
        self.state.counters.upload_sessions += 1
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
    def part(part_id: str, offset: int, blob: DiskBlob) -> dict[str, Any]:
        return {"part_id": part_id, "offset": offset, "size": blob.size, "sha1": blob.sha1}

    def end(self, session: UploadSession) -> None:
        """Forget the session and delete its parts from disk."""
        with self.state.content.lock:
            self.state.content.sessions.pop(session.id, None)
        for _, blob in session.parts.values():
            blob.discard()


class UploadSessionHandler(SessionHandler):
    """One upload session: upload a part (PUT), its status (GET), abort (DELETE)."""

    def get(self, session_id: str) -> None:
        self.write_json(describe(self, self.session(session_id)))

    def delete(self, session_id: str) -> None:
        self.end(self.session(session_id))
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
        if (
            total != session.file_size
            or hi < lo
            or hi >= total
            or lo % session.part_size
            or (hi - lo + 1 != session.part_size and not last)
        ):
            raise BoxError(
                416,
                "requested_range_not_satisfiable",
                "The Content-Range does not fit this session's part size and file size",
            )
        data = self.body()
        if len(data) != hi - lo + 1:
            raise BoxError(400, "bad_request", "The body length does not match Content-Range")
        if sha1_b64(data) != digest:
            raise BoxError(412, "precondition_failed", "The part does not match its Digest header")
        failure = self.state.faults.take_part(lo // session.part_size)
        if failure == 412:  # an injected fault: as if the bytes were corrupted in transit
            raise BoxError(412, "precondition_failed", "The part does not match its Digest header")
        if failure is not None:
            raise BoxError(failure)
        blob = self.state.content.blobs.write([data])
        with self.state.content.lock:
            existing = session.parts.get(lo)
            if existing is not None:
                blob.discard()
                if existing[1].sha1 != blob.sha1:
                    raise BoxError(
                        409,
                        "range_overlaps_existing_part",
                        "Part overlaps with an already uploaded part",
                    )
            else:
                session.parts[lo] = (secrets.token_hex(4).upper(), blob)
            part_id, blob = session.parts[lo]
        self.write_json({"part": self.part(part_id, lo, blob)})


class UploadPartsHandler(SessionHandler):
    """``GET .../upload_sessions/{id}/parts``."""

    def get(self, session_id: str) -> None:
        session = self.session(session_id)
        entries = [self.part(pid, off, blob) for off, (pid, blob) in sorted(session.parts.items())]
        self.write_json(
            {"entries": entries, "limit": 1000, "offset": 0, "total_count": len(entries)}
        )


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
        if sum(blob.size for _, blob in session.parts.values()) != session.file_size:
            raise BoxError(400, "bad_request", "Not all parts of the file have been uploaded")
        content = self.state.content
        parts = [blob for _, (_, blob) in sorted(session.parts.items())]
        data = content.blobs.write(itertools.chain.from_iterable(p.chunks() for p in parts))
        if base64.b64encode(bytes.fromhex(data.sha1)).decode() != digest:
            data.discard()
            raise BoxError(412, "precondition_failed", "The file does not match its Digest header")
        attributes = body.get("attributes")
        name = (
            attributes.get("name", session.file_name)
            if isinstance(attributes, dict)
            else session.file_name
        )
        if session.file_id is not None:
            file = content.new_version(session.owner_id, session.file_id, data, name)
        else:
            file = content.add_file(session.owner_id, session.folder_id, name, data)
        self.end(session)
        self.files_response(file, 201)
