"""The hub client's error handling, unit level: a tiny tornado server in this process answers as
the hub service's JSON API would (or does not: refuses, redirects, is down). The real service
is exercised in tests/hub/."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tornado import web
from tornado.httpserver import HTTPServer

from box_widget import BoxConnection, ConfigurationError, ReauthorizationRequired
from box_widget.errors import AuthorityUnreachable, BoxUnavailable
from box_widget.hub_client import HubService, HubTokenSource, service
from box_widget.hub_connection import HubConnection
from box_widget.token_api import error_answer, fingerprint

pytestmark = pytest.mark.usefixtures("isolated_env")

HUB_TOKEN = "hub-token-of-alice"
ENDPOINTS = {
    "authorize_url": "http://127.0.0.1:9/oauth2/authorize",
    "token_url": "http://127.0.0.1:9/oauth2/token",
    "revoke_url": "http://127.0.0.1:9/oauth2/revoke",
    "api_url": "http://127.0.0.1:9/2.0",
    "upload_url": "http://127.0.0.1:9/upload",
}
CONNECTED = {
    "name": "work",
    "connected": True,
    "kind": "oauth",
    "user": {"name": "Alice", "login": "alice@example.com"},
    "expires_at": time.time() + 3600,
    "connected_at": 1234.0,
}


class Seen:
    """What the fake service was asked: (method, path, body) and the Authorization headers."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str, Any]] = []
        self.tokens: list[str] = []


class Services(web.RequestHandler):
    """The hub's ``GET services/<name>`` (JupyterHub's REST API), for a token that may read it."""

    def get(self, name: str) -> None:
        if (
            self.request.headers.get("Authorization") != f"token {HUB_TOKEN}"
            or name != "box-widget"
        ):
            self.set_status(404)
            self.finish({"status": 404, "message": "Not found"})
            return
        port = self.request.host.rsplit(":", 1)[1]
        self.finish(
            {"name": name, "url": f"http://127.0.0.1:{port}", "prefix": f"/services/{name}/"}
        )


class Api(web.RequestHandler):
    """The contract's routes, answering from fixed data."""

    def initialize(self, seen: Seen) -> None:
        self.seen = seen

    def prepare(self) -> None:
        self.seen.tokens.append(self.request.headers.get("Authorization", ""))
        body = json.loads(self.request.body) if self.request.body else None
        self.seen.asked.append((self.request.method or "", self.request.path, body))
        if self.request.headers.get("Authorization") != f"token {HUB_TOKEN}":
            self.set_status(403)
            self.finish("<html>forbidden</html>")

    def _error(self, kind: str, status: int, words: str, action: Any = None) -> None:
        self.set_status(status)
        self.finish(error_answer(kind, BoxUnavailable(words, action=action)))

    def get(self, path: str) -> None:
        if path == "api/status":
            self.finish(
                {
                    "mode": "hub",
                    "client_id": "hub-app",
                    "endpoints": ENDPOINTS,
                    "callback_path": "/services/box-widget/oauth2/callback",
                    "connections": [CONNECTED],
                }
            )
        elif path == "api/connections/work":
            self.finish({k: v for k, v in CONNECTED.items() if k != "name"})
        elif path == "api/connections/moved":
            self.redirect("http://127.0.0.1:9/elsewhere")
        else:
            self._error("not_found", 404, "There is no connection of that name.", "reconnect")

    def post(self, path: str) -> None:
        if path == "api/connections/work/token":
            self.finish(
                {"access_token": "at-1", "expires_at": time.time() + 3600, "expires_in": 3600}
            )
        elif path == "api/connections/gone/token":
            self._error(
                "reauthorization_required", 409, "Box refused the refresh token.", "reconnect"
            )
        elif path == "api/connections/busy/token":
            self._error("box_unavailable", 502, "Box did not answer.", "retry")
        elif path == "api/connections/work/sign-in":
            self.finish(
                {"authorization_url": "http://127.0.0.1:9/authorize?state=s1", "expires_in": 600}
            )
        else:
            self.set_status(500)
            self.finish("not json")


@pytest.fixture
def fake_service() -> Iterator[tuple[str, Seen]]:
    """The fake service on a free loopback port, in a thread of its own."""
    seen = Seen()
    sock = socket.create_server(("127.0.0.1", 0))
    sock.setblocking(False)  # as tornado's own bind_sockets makes them
    port = sock.getsockname()[1]
    loop = asyncio.new_event_loop()
    started = threading.Event()
    holder: dict[str, HTTPServer] = {}

    def run() -> None:
        asyncio.set_event_loop(loop)
        app = web.Application(
            [
                (r"/services/box-widget/(.*)", Api, {"seen": seen}),
                (r"/hub/api/services/([^/]+)", Services),
            ]
        )
        server = HTTPServer(app)
        server.add_sockets([sock])
        holder["server"] = server
        loop.call_soon(started.set)
        loop.run_forever()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    yield f"http://127.0.0.1:{port}/services/box-widget/", seen
    loop.call_soon_threadsafe(holder["server"].stop)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


@pytest.fixture
def hub_mode(
    fake_service: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> tuple[str, Seen]:
    monkeypatch.setenv("BOX_WIDGET_HUB_URL", fake_service[0])
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", HUB_TOKEN)
    monkeypatch.setenv("BOX_WIDGET_HOME", str(tmp_path / "vault"))
    return fake_service


def test_box_connection_in_hub_mode_asks_the_service_and_keeps_nothing(
    hub_mode: tuple[str, Seen], tmp_path: Path
) -> None:
    url, seen = hub_mode
    conn = BoxConnection("work")
    assert isinstance(conn, HubConnection) and conn.kept_by_hub
    assert conn.client_id == "hub-app" and not conn.has_client_secret
    assert conn.connected and conn.user is not None and conn.user["login"] == "alice@example.com"
    assert conn.summary().connected_at == 1234.0
    assert conn.vault_status == {"key_source": "hub", "service": url}
    assert conn.authorization_url().endswith("state=s1")
    assert conn.session.source.fresh()["access_token"] == "at-1"
    assert "vault='hub'" in repr(conn) and HUB_TOKEN not in repr(conn)
    assert all(token == f"token {HUB_TOKEN}" for token in seen.tokens)
    assert not (tmp_path / "vault").exists()  # no vault folder, no key made on this side
    assert not BoxConnection("missing").connected  # a 404 not_found: simply not connected


def test_a_refused_token_travels_as_its_fingerprint(hub_mode: tuple[str, Seen]) -> None:
    _url, seen = hub_mode
    source = HubTokenSource("work")
    source.refresh(failed="at-0")
    assert seen.asked[-1] == (
        "POST",
        "/services/box-widget/api/connections/work/token",
        {"failed": fingerprint("at-0")},
    )


def test_service_errors_become_the_same_error_classes(hub_mode: tuple[str, Seen]) -> None:
    with pytest.raises(ReauthorizationRequired, match="Box refused the refresh token") as gone:
        HubTokenSource("gone").fresh()
    assert gone.value.action == "reconnect" and gone.value.connection == "gone"
    with pytest.raises(BoxUnavailable, match="Box did not answer") as busy:
        HubTokenSource("busy").fresh()
    assert busy.value.action == "retry"


def test_no_redirect_is_followed_and_a_refusal_says_what_to_do(
    hub_mode: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    url, seen = hub_mode
    with pytest.raises(AuthorityUnreachable, match="refused") as moved:
        HubService().summary("moved")
    assert moved.value.tried == (url,)
    assert not any("elsewhere" in path for _method, path, _body in seen.asked)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "not-alice")
    with pytest.raises(AuthorityUnreachable, match="JUPYTERHUB_API_TOKEN") as refused:
        HubService().status()
    assert "not-alice" not in str(refused.value)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", HUB_TOKEN)
    with pytest.raises(AuthorityUnreachable, match="HTTP 500"):  # no box-widget answer
        HubService().sign_in("other")


def test_an_unreachable_service_says_which_url_was_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:  # a port nobody listens on, once closed
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/services/box-widget/"
    monkeypatch.setenv("BOX_WIDGET_HUB_URL", url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", HUB_TOKEN)
    with pytest.raises(AuthorityUnreachable, match="did not answer") as down:
        BoxConnection("work")
    assert down.value.tried == (url,) and down.value.action == "retry"
    assert "ask your hub's administrator" in str(down.value)
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN")
    with pytest.raises(AuthorityUnreachable, match="JUPYTERHUB_API_TOKEN is not set"):
        service()


def test_the_status_api_in_hub_mode_says_when_the_service_cannot_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from box_widget.server.hub_mode import hub_status

    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/services/box-widget/"
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", HUB_TOKEN)
    answer = hub_status(url, "1.0")
    assert answer["mode"] == "hub" and answer["vault"] == {"key_source": "hub"}
    assert answer["connections"] == [] and answer["client_id"] is None
    assert f"The hub's box-widget service at {url} did not answer" in answer["error"]


def test_the_server_finds_the_service_and_its_kernels_inherit_it(
    fake_service: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    from box_widget.server.hub_mode import settle_hub_url

    url, _seen = fake_service
    monkeypatch.setenv("BOX_WIDGET_HUB_URL", "")  # (so that monkeypatch puts it back)
    assert settle_hub_url("") is None  # nothing configured, no hub: single-user
    assert settle_hub_url(url.rstrip("/")) == url  # c.BoxWidgetApp.hub_service_url
    assert os.environ["BOX_WIDGET_HUB_URL"] == url  # what kernels and terminals inherit


def test_the_server_finds_the_service_through_the_hubs_services_api(
    fake_service: tuple[str, Seen], monkeypatch: pytest.MonkeyPatch
) -> None:
    from box_widget.server.hub_mode import discover, settle_hub_url

    url, _seen = fake_service
    api_url = url.replace("/services/box-widget/", "/hub/api")
    assert discover(api_url, HUB_TOKEN) == url
    assert discover(api_url, "a token that may not read services") is None
    assert discover(api_url, HUB_TOKEN, name="other") is None
    monkeypatch.setenv("BOX_WIDGET_HUB_URL", "")  # (so that monkeypatch puts it back)
    monkeypatch.setenv("JUPYTERHUB_API_URL", api_url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", HUB_TOKEN)
    assert settle_hub_url("") == url
    assert BoxConnection("work").kept_by_hub  # what a kernel of that server sees


def test_client_credentials_are_refused_in_hub_mode_in_plain_words(
    hub_mode: tuple[str, Seen], tmp_path: Path
) -> None:
    with pytest.raises(ConfigurationError, match="Unset BOX_WIDGET_HUB_URL") as refused:
        BoxConnection.from_client_credentials(
            "robot",
            client_id="own-app",
            client_secret="own-secret-" + "s" * 20,
            subject_type="enterprise",
            subject_id="1",
        )
    assert "own-secret" not in str(refused.value)
    assert not (tmp_path / "vault").exists()
