"""Downloads: Box's short-lived download link, streamed whole or read by byte range.

``GET /files/{id}/content`` answers 302 with a pre-authorized link (about 15 minutes) or 202 with
``Retry-After`` when the file is not ready yet. The link is kept and reused for range reads,
fetched again when it has expired, and sent without the bearer token (it needs none, and it is
on another host at Box).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import requests

from ..errors import BoxAPIError
from ..session import BoxSession

CHUNK = 1024 * 1024
CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)$")
#: How many 202 "not ready" answers to wait through, and the longest single wait (s).
NOT_READY_TRIES, NOT_READY_MAX_WAIT = 10, 5.0


class Download:
    """One file's content: a download link, fetched when first needed and when it expires."""

    def __init__(self, session: BoxSession, file_id: str) -> None:
        self.session = session
        self.file_id = file_id
        self._link: str | None = None

    def link(self) -> str:
        """The current download link."""
        if self._link is None:
            for _ in range(NOT_READY_TRIES):
                response = self.session.get(f"files/{self.file_id}/content", allow_redirects=False)
                if response.status_code != 202:
                    break
                time.sleep(min(float(response.headers.get("Retry-After", 1)), NOT_READY_MAX_WAIT))
            location = response.headers.get("Location")
            if response.status_code not in {301, 302, 303, 307} or not location:
                msg = (
                    f"Box answered {response.status_code} instead of a download link for "
                    f"file {self.file_id}; try again later"
                )
                raise BoxAPIError(msg, status=response.status_code, response=response)
            self._link = location
        return self._link

    def request(
        self, start: int | None = None, end: int | None = None, *, stream: bool = False
    ) -> requests.Response:
        """The content answer; with ``start``, the bytes ``start`` to ``end`` (exclusive)."""
        headers = {}
        if start is not None:
            headers["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            return self._get(headers, stream)
        except BoxAPIError as exc:
            if exc.status not in {401, 403, 404, 410}:
                raise
            self._link = None  # the link expired: get a new one
        return self._get(headers, stream)

    def _get(self, headers: dict[str, str], stream: bool) -> requests.Response:
        return self.session.request(
            "GET", self.link(), headers=headers, stream=stream, withhold_token=True
        )

    def read_range(self, start: int, end: int) -> bytes:
        """The bytes ``start`` to ``end`` (exclusive), checked against ``Content-Range``."""
        if end <= start:
            return b""
        response = self.request(start, end)
        if response.status_code == 206:
            match = CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not match or int(match[1]) != start:
                msg = f"Box answered a range that was not asked for: {match and match[0]}"
                raise OSError(msg)
            return response.content
        return response.content[start:end]  # a server that ignores Range sends everything

    def stream(self) -> Iterator[bytes]:
        """The whole content in pieces of at most 1 MiB, never more in memory."""
        with self.request(stream=True) as response:
            yield from response.iter_content(CHUNK)
