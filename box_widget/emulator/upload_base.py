"""What both upload routes share: a body read in pieces and refused early when too large."""

from __future__ import annotations

import base64
import hashlib
import re

from tornado.http1connection import HTTP1Connection
from tornado.web import stream_request_body

from .api_handlers import ApiHandler
from .content import File
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
        raise BoxError(
            400,
            "bad_request",
            "The Digest header is missing or malformed",
            context_info={
                "errors": [
                    {
                        "reason": "invalid_parameter",
                        "name": "digest",
                        "message": "Expected 'sha=<base64 SHA-1>'",
                    }
                ]
            },
        )
    return match[1]


@stream_request_body
class StreamingApiHandler(ApiHandler):
    """An API route whose body is read in pieces, refused early when too large."""

    read_body_first = True

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

    def files_response(self, file: File, status: int) -> None:
        self.write_json({"total_count": 1, "entries": [self.state.content.file_full(file)]}, status)
