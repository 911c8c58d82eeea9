"""Downloads: the API's 302 to a short-lived URL, and the download host that serves it."""

from __future__ import annotations

import re
import secrets
from urllib.parse import quote

from .api_handlers import ApiHandler
from .base import BaseHandler
from .errors import BoxError

RANGE = re.compile(r"bytes=(\d*)-(\d*)$")


class FileContentHandler(ApiHandler):
    """``GET /2.0/files/{id}/content``: a 302 to a short-lived download URL."""

    def get(self, file_id: str) -> None:
        user = self.user()
        file = self.state.content.file(user.id, file_id)
        version = self.query().get("version")
        if version is not None and version != file.version_id:
            raise BoxError(404, "not_found", "Not Found")
        token = secrets.token_urlsafe(24)
        expires = self.state.clock.now() + self.state.settings.download_url_lifetime
        with self.state.content.lock:
            self.state.content.downloads[token] = (file.id, file.version_id, expires)
        host = f"{self.request.protocol}://{self.request.host}"
        self.redirect(f"{host}/dl/{token}/{quote(file.name)}")


class DownloadHandler(BaseHandler):
    """``/dl/{token}/{name}``: the download host; no Authorization, ``Range`` honoured."""

    async def get(self, token: str, _name: str) -> None:
        content = self.state.content
        entry = content.downloads.get(token)
        file = content.files.get(entry[0]) if entry else None
        if (
            entry is None
            or file is None
            or entry[1] != file.version_id
            or self.state.clock.now() > entry[2]
        ):
            raise BoxError(404, "not_found", "This download link is unknown or has expired")
        blob, size = file.blob, file.size
        start, end = 0, size - 1
        header = self.request.headers.get("Range")
        match = RANGE.match(header.replace(" ", "")) if header else None
        if match and (match[1] or match[2]):
            if match[1]:
                start = int(match[1])
                end = min(int(match[2]), size - 1) if match[2] else size - 1
            else:
                start = max(0, size - int(match[2]))
            if start >= size or start > end:
                self.set_status(416)
                self.set_header("Content-Range", f"bytes */{size}")
                self.finish()
                return
            self.set_status(206)
            self.set_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.set_header("Content-Type", "application/octet-stream")
        self.set_header("Accept-Ranges", "bytes")
        self.set_header("Content-Length", str(end - start + 1))
        self.set_header("Content-Disposition", f"attachment; filename*=UTF-8''{quote(file.name)}")
        for chunk in blob.chunks(start, end + 1):
            self.write(chunk)
            await self.flush()
        self.finish()
