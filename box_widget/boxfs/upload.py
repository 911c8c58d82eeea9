"""Uploads: one request below Box's chunked threshold, an upload session above it.

Direct: ``POST {upload}/files/content`` (``/files/{id}/content`` for a new version), multipart
with ``attributes`` before ``file`` and the SHA-1 in ``Content-MD5``.

Chunked (``chunked_upload``): create a session (``part_size`` comes from Box's answer), send the
parts several at a time, each with its ``Digest`` and ``Content-Range``, then commit with the
whole file's ``Digest``. At most ``workers + 1`` parts are in memory. A part that fails is sent
again (a part is immutable, so sending the same bytes twice is safe); when it keeps failing,
or anything else goes wrong, the session is aborted so that nothing is left half-made.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import requests
from urllib3.filepost import encode_multipart_formdata

from ..errors import BoxAPIError, BoxWidgetError
from ..session import BoxSession

#: Box accepts upload sessions only for files of at least 20 MB; smaller ones go direct.
CHUNKED_THRESHOLD = 20 * 1024 * 1024
#: Parts in flight at once (Box recommends 3 to 5).
WORKERS = 4
#: How many times one part is sent again after a failure the session did not retry itself.
PART_RETRIES = 3
COMMIT_TRIES = 10
DEFAULT_PORTS = {"http": 80, "https": 443}

Entry = dict[str, Any]
Progress = Callable[[int], None]


def origin(url: str) -> str:
    """``scheme://host:port`` of ``url``, with the scheme's default port written out."""
    parts = urlsplit(url)
    port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    return f"{parts.scheme}://{host}:{port}"


def sha1_digest(data: bytes) -> str:
    """An RFC 3230 ``Digest`` value: ``sha=<base64 SHA-1>``."""
    return "sha=" + base64.b64encode(hashlib.sha1(data).digest()).decode()  # noqa: S324


def direct_upload(
    session: BoxSession,
    upload_url: str,
    data: bytes,
    name: str,
    *,
    parent_id: str | None = None,
    file_id: str | None = None,
) -> Entry:
    """Upload ``data`` in one request: a new file in ``parent_id`` or a new version of
    ``file_id``; Box's file entry."""
    attributes: dict[str, Any] = {"name": name}
    if file_id is None:
        attributes["parent"] = {"id": parent_id}
    body, content_type = encode_multipart_formdata(
        [
            ("attributes", json.dumps(attributes)),
            ("file", (name, data, "application/octet-stream")),
        ]
    )
    url = f"{upload_url}/files/{file_id}/content" if file_id else f"{upload_url}/files/content"
    headers = {"Content-Type": content_type, "Content-MD5": hashlib.sha1(data).hexdigest()}  # noqa: S324 - Box's digest
    entry: Entry = session.post(url, data=body, headers=headers).json()["entries"][0]
    return entry


def preflight(session: BoxSession, name: str, parent_id: str, size: int) -> None:
    """Ask Box whether a new file would be accepted (name free, quota) before sending it."""
    session.options("files/content", json={"name": name, "parent": {"id": parent_id}, "size": size})


class ChunkedUpload:
    """One upload through a Box upload session."""

    def __init__(
        self,
        session: BoxSession,
        upload_url: str,
        *,
        workers: int = WORKERS,
        part_retries: int = PART_RETRIES,
        progress: Progress | None = None,
    ) -> None:
        self.session = session
        self.upload_url = upload_url
        self.workers = workers
        self.part_retries = part_retries
        self.progress = progress or (lambda _n: None)

    def run(
        self,
        source: BinaryIO,
        size: int,
        name: str,
        *,
        parent_id: str | None = None,
        file_id: str | None = None,
    ) -> Entry:
        """Upload ``size`` bytes read from ``source``; Box's file entry."""
        if file_id is None:
            created = self.session.post(
                f"{self.upload_url}/files/upload_sessions",
                json={"folder_id": parent_id, "file_size": size, "file_name": name},
            ).json()
        else:
            created = self.session.post(
                f"{self.upload_url}/files/{file_id}/upload_sessions",
                json={"file_size": size, "file_name": name},
            ).json()
        endpoints = self._pinned(created)
        try:
            parts, digest = self._send_parts(
                source, size, int(created["part_size"]), endpoints["upload_part"]
            )
            return self._commit(endpoints["commit"], parts, digest)
        except BaseException:
            self._abort(endpoints["abort"])
            raise

    def _pinned(self, created: Entry) -> dict[str, str]:
        """The session's endpoints, once each is on the configured upload host (scheme, host
        and port of ``upload_url``): the access token goes nowhere else. A foreign one aborts
        the session at the upload host and raises."""
        endpoints: dict[str, str] = created["session_endpoints"]
        foreign = sorted({origin(url) for url in endpoints.values()} - {origin(self.upload_url)})
        if not foreign:
            return endpoints
        self._abort(f"{self.upload_url}/files/upload_sessions/{created['id']}")
        msg = (
            f"Box's upload session named another host ({', '.join(foreign)}) than the "
            f"configured upload host {origin(self.upload_url)}; box-widget sends the access "
            "token only to the configured hosts, so nothing was sent there and the upload "
            "session was aborted. Check the upload URL (BOX_UPLOAD_URL, or the connection's "
            "endpoints)."
        )
        raise BoxWidgetError(msg)

    def _send_parts(
        self, source: BinaryIO, size: int, part_size: int, url: str
    ) -> tuple[list[Entry], str]:
        whole = hashlib.sha1()  # noqa: S324 - Box's digest
        parts: list[Entry] = []
        pending: set[Future[Entry]] = set()

        def collect(futures: set[Future[Entry]]) -> None:
            for future in futures:
                part = future.result()
                parts.append(part)
                self.progress(int(part["size"]))

        with ThreadPoolExecutor(self.workers, thread_name_prefix="box-upload") as pool:
            try:
                for offset in range(0, size, part_size):
                    data = source.read(min(part_size, size - offset))
                    if len(data) != min(part_size, size - offset):
                        msg = "the source ended before the size it was said to have"
                        raise OSError(msg)
                    whole.update(data)
                    pending.add(pool.submit(self._send_part, url, data, offset, size))
                    if len(pending) >= self.workers:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        collect(done)
                done, pending = wait(pending)
                collect(done)
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
        parts.sort(key=lambda p: int(p["offset"]))
        return parts, "sha=" + base64.b64encode(whole.digest()).decode()

    def _send_part(self, url: str, data: bytes, offset: int, total: int) -> Entry:
        headers = {
            "Content-Type": "application/octet-stream",
            "Digest": sha1_digest(data),
            "Content-Range": f"bytes {offset}-{offset + len(data) - 1}/{total}",
        }
        for attempt in range(self.part_retries):
            try:
                return self._put(url, data, headers)
            except (BoxAPIError, requests.ConnectionError, requests.Timeout) as exc:
                if (
                    isinstance(exc, BoxAPIError)
                    and exc.status not in {412, 429}
                    and exc.status < 500
                ):
                    raise
                time.sleep(0.2 * 2**attempt)
        return self._put(url, data, headers)

    def _put(self, url: str, data: bytes, headers: dict[str, str]) -> Entry:
        part: Entry = self.session.put(url, data=data, headers=headers).json()["part"]
        return part

    def _commit(self, url: str, parts: list[Entry], digest: str) -> Entry:
        for _ in range(COMMIT_TRIES):
            response = self.session.post(url, json={"parts": parts}, headers={"Digest": digest})
            if response.status_code != 202:
                entry: Entry = response.json()["entries"][0]
                return entry
            time.sleep(min(float(response.headers.get("Retry-After", 1)), 5.0))
        msg = "Box did not finish assembling the uploaded parts; the upload was aborted"
        raise OSError(msg)

    def _abort(self, url: str) -> None:
        with contextlib.suppress(BoxAPIError, requests.RequestException):
            self.session.delete(url)
