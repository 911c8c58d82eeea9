"""Where credentials may go: token requests never follow a redirect, and the upload-session
addresses Box returns must be on the configured upload host before a bearer token goes there.

Real loopback listeners: a "token endpoint" answering 307 or 308 with a ``Location`` on a second
listener, which must receive nothing (a followed 307/308 would resend the code, the refresh token
and the client secret there); and the emulator handing out upload-session endpoints on a foreign
host (``upload_session_url``), where the token must never arrive.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from test_connection import connect

from box_widget import BoxConnection, BoxWidgetError
from box_widget.boxfs.upload import ChunkedUpload
from box_widget.emulator import BoxEmulator
from box_widget.endpoints import BoxEndpoints
from box_widget.oauth import TokenClient

SECRET = "s3cret-of-the-app"
NAME = "work"


class Listener:
    """A real HTTP listener on loopback that records every request it gets and answers
    ``status`` (with ``Location: location`` when given)."""

    def __init__(self, status: int = 200, location: str | None = None) -> None:
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        listener = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                listener.requests.append((self.command, self.path, dict(self.headers), body))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = do_DELETE = _any

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> Listener:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def elsewhere() -> Iterator[Listener]:
    """Where a redirect points: it must never hear from box-widget."""
    with Listener() as listener:
        yield listener


CALLS: dict[str, Callable[[TokenClient], Any]] = {
    "exchange": lambda client: client.exchange_code("the-code"),
    "refresh": lambda client: client.refresh("the-refresh-token", name=NAME),
    "client_credentials": lambda client: client.client_credentials("enterprise", "1"),
    "revoke": lambda client: client.revoke("the-refresh-token"),
}


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("call", sorted(CALLS))
def test_token_and_revoke_posts_never_follow_a_redirect(
    elsewhere: Listener, status: int, call: str
) -> None:
    with Listener(status, elsewhere.url + "/oauth2/token") as box:
        endpoints = BoxEndpoints(token_url=box.url + "/oauth2/token", revoke_url=box.url + "/r")
        client = TokenClient(endpoints, "the-client-id", SECRET)
        with pytest.raises(BoxWidgetError) as info:
            CALLS[call](client)
    assert len(box.requests) == 1  # sent once, to the configured URL only
    assert elsewhere.requests == []  # nothing followed the redirect
    text = str(info.value)
    assert f"HTTP {status}" in text
    assert "redirect" in text
    assert elsewhere.url.removeprefix("http://") in text  # where it pointed, in words
    for secret in (SECRET, "the-code", "the-refresh-token"):
        assert secret not in text


def test_a_foreign_upload_session_endpoint_gets_no_token(
    emulator: BoxEmulator, tmp_path: Path, elsewhere: Listener
) -> None:
    emu = emulator
    emu.settings.chunked_upload_minimum = 1024
    emu.settings.part_size = 1024
    connect(emu, tmp_path)
    session = BoxConnection(NAME, home=tmp_path).session
    emu.settings.update({"upload_session_url": elsewhere.url + "/api/2.0"})
    upload = ChunkedUpload(session, emu.endpoints.upload_url)
    with pytest.raises(BoxWidgetError) as info:
        upload.run(io.BytesIO(b"x" * 3000), 3000, "big.bin", parent_id="0")
    assert elsewhere.requests == []  # no part, no commit, no abort: no token went there
    text = str(info.value)
    assert elsewhere.url.removeprefix("http://") in text
    assert emu.url.removeprefix("http://") in text
    assert emu.state.content.sessions == {}  # the session was aborted at the upload host
