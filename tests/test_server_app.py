"""The Jupyter server's own Box app (``c.BoxWidgetApp.client_id``/``client_secret``), issue 17
items 1 and 2, against a real in-process Jupyter server (pytest-jupyter) and the emulator.

1. The server's secret goes only to the Box addresses the server is configured with: a sign-in
   naming another token URL (a real listener on loopback) is refused, and the listener hears
   nothing.
2. The server's app is kept by reference: the vault never holds its secret, a kernel never does;
   the server refreshes and revokes such connections with the secret as configured now, so a
   rotated secret just works (refresh, and Generate again).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
from jupyter_server.utils import url_path_join
from traitlets.config import Config

from box_widget import BoxConnection, BoxEndpoints, ReauthorizationRequired, audit, form_words
from box_widget.emulator import BoxEmulator
from box_widget.emulator.oauth_store import App
from box_widget.errors import AuthorityUnreachable
from box_widget.oauth import authorization_url, new_state
from box_widget.protocol import ERROR_KINDS
from box_widget.records import SIGNED_OUT
from box_widget.server_source import ServerTokenSource
from box_widget.token_api import KINDS
from box_widget.vault import Vault

CALLBACK = "box-widget/oauth2/callback"
NAME = "work"
ROTATED = "rotated-secret-" + "r" * 24


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    for var in ("BOX_WIDGET_KEY", "BOX_CLIENT_ID", "BOX_CLIENT_SECRET", "BOX_REDIRECT_URI"):
        monkeypatch.delenv(var, raising=False)
    for var in (*BoxEndpoints().to_env(), "BOX_WIDGET_HOME", "JPY_PARENT_PID"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "vault"


@pytest.fixture
def redirect_uri(jp_http_port: int, jp_base_url: str) -> str:
    return f"http://127.0.0.1:{jp_http_port}{url_path_join(jp_base_url, CALLBACK)}"


@pytest.fixture
def box_app(emulator: BoxEmulator, redirect_uri: str) -> App:
    return emulator.add_app("The server's app", [redirect_uri])


@pytest.fixture
def jp_server_config(home: Path, box_app: App, emulator: BoxEmulator) -> Config:
    """The server holds the app (id and secret) and points at the emulator as Box."""
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"box_widget": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
            },
            "BoxWidgetApp": {
                "home": str(home),
                "client_id": box_app.client_id,
                "client_secret": box_app.client_secret,
                **emulator.endpoints.to_dict(),
            },
        }
    )


class Listener:
    """A real socket on loopback that records every byte sent to it and answers 400."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.received = bytearray()
        self.connections = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn, contextlib.suppress(OSError):
                conn.settimeout(2)
                self.received += conn.recv(65536)
                body = b'{"error":"invalid_client","error_description":"listener"}'
                conn.sendall(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
                )

    def close(self) -> None:
        self.sock.close()
        self.thread.join(5)


@pytest.fixture
def listener() -> Iterator[Listener]:
    tap = Listener()
    yield tap
    tap.close()


async def ask_token(jp_fetch: Any) -> Any:
    """The token API's answer for ``NAME``, as a kernel asks (no refused token)."""
    path = ("box-widget", "api", "connections", NAME, "token")
    return await jp_fetch(*path, method="POST", body="{}", raise_error=False)


async def callback(jp_fetch: Any, location: str) -> tuple[int, str]:
    """The browser follows Box's redirect to the server's callback: status and page."""
    params = dict(parse_qsl(urlsplit(location).query))
    response = await jp_fetch(
        *CALLBACK.split("/"), params=params, raise_error=False, follow_redirects=False
    )
    return response.code, response.body.decode()


def extension(jp_serverapp: Any) -> Any:
    """The running BoxWidgetApp (to change its configuration, as an administrator would)."""
    return next(iter(jp_serverapp.extension_manager.extension_apps["box_widget"]))


def everything_in(home: Path) -> bytes:
    """Every byte of every file in the vault folder, and every record decrypted."""
    vault = Vault(home)
    files = b"".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())
    records = json.dumps([vault.load(name) for name in vault.names()]).encode()
    return files + records


# --- item 1: the secret goes only to the server's own Box addresses ----------------------------


@pytest.mark.parametrize("other", ["token_url", "api_url"])
async def test_a_sign_in_naming_other_box_addresses_is_refused_and_sends_nothing(
    jp_fetch: Any,
    emulator: BoxEmulator,
    box_app: App,
    home: Path,
    redirect_uri: str,
    listener: Listener,
    other: str,
) -> None:
    """A kernel (anything that can write the vault) leaves a sign-in for the server's app, with
    no secret, naming a token URL (or API URL) of its own: a real listener on loopback."""
    endpoints = {**emulator.endpoints.to_dict(), other: listener.url + "/oauth2/token"}
    state = new_state()
    Vault(home).add_pending(
        state,
        {
            "name": NAME,
            "client_id": box_app.client_id,
            "client_secret": None,
            "redirect_uri": redirect_uri,
            "endpoints": endpoints,
        },
    )
    url = authorization_url(emulator.endpoints, box_app.client_id, redirect_uri, state)

    status, page = await callback(jp_fetch, emulator.authorize(url))

    assert (listener.connections, bytes(listener.received)) == (0, b"")
    assert status == 400, page
    assert "did not send its Client Secret anywhere" in page
    assert other in page
    assert "nothing was saved" in page
    assert box_app.client_secret not in page
    assert Vault(home).names() == []
    assert emulator.counters()["grants"]["authorization_code"] == 0
    failed = [e for e in audit.read(home, NAME) if e["event"] == "connect-failed"]
    assert [e.get("step") for e in failed] == ["server-app"]


# --- item 2: the server's app by reference; rotation --------------------------------------------


async def test_rotating_the_servers_secret_keeps_its_connections_working(
    jp_fetch: Any,
    jp_serverapp: Any,
    emulator: BoxEmulator,
    box_app: App,
    home: Path,
    redirect_uri: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old_secret = box_app.client_secret
    kernel = BoxConnection(
        NAME,
        client_id=box_app.client_id,
        redirect_uri=redirect_uri,
        endpoints=emulator.endpoints,
        home=home,
    )
    url = kernel.authorization_url(secret_on_server=True)  # the form's Generate, no secret
    status, page = await callback(jp_fetch, emulator.authorize(url))
    assert status == 200, page

    record = Vault(home).load(NAME) or {}
    assert record.get("app") == "server"
    assert record["client_secret"] is None
    assert record["token"]["refresh_token"]
    assert old_secret.encode() not in everything_in(home)
    monkeypatch.setenv("BOX_CLIENT_SECRET", "a-kernels-own-environment")  # not used for it
    assert BoxConnection(NAME, home=home)._client_secret is None
    monkeypatch.delenv("BOX_CLIENT_SECRET")

    # The administrator rotates the secret at Box and in the server's configuration.
    with emulator.state.oauth.lock:
        box_app.client_secret = ROTATED
    extension(jp_serverapp).client_secret = ROTATED

    # The access token expires at Box; the kernel (this process: JPY_PARENT_PID names the
    # in-process server, whose jpserver-<pid>.json is in JUPYTER_RUNTIME_DIR) asks the server.
    monkeypatch.setenv("JPY_PARENT_PID", str(os.getpid()))
    emulator.clock.advance(3601)
    user_of = BoxConnection(NAME, home=home)
    assert isinstance(user_of.session.source, ServerTokenSource)
    loop = asyncio.get_running_loop()
    user = await loop.run_in_executor(None, user_of.test_connection)  # the server runs here
    assert user["login"] == "ada@example.com"
    assert emulator.counters()["refreshes"] == 1
    record = Vault(home).load(NAME) or {}
    assert record["client_secret"] is None
    assert record.get("app") == "server"
    for secret in (old_secret, ROTATED):
        assert secret.encode() not in everything_in(home)
    assert [e["event"] for e in audit.read(home, NAME)][-1] == "refresh"

    # Generate again after the rotation: the kernel holds no old copy; the server fills in.
    form = BoxConnection(NAME, home=home).form
    form.mode = "server"
    form.redirect_uri = redirect_uri
    form.server_client_id = form.client_id = box_app.client_id
    assert form.secret_on_server and form.authorize_url
    status, page = await callback(jp_fetch, emulator.authorize(form.authorize_url))
    assert status == 200, page
    form.close()

    # Disconnect: the server revokes at Box with the rotated secret, and deletes it.
    token = (Vault(home).load(NAME) or {})["token"]
    await loop.run_in_executor(None, BoxConnection(NAME, home=home).revoke)
    assert Vault(home).names() == []
    assert emulator.state.oauth.validate_access(token["access_token"]) is None
    assert ([e.get("at_box") for e in audit.read(home, NAME) if e["event"] == "revoke"]) == [True]


async def test_a_refresh_box_refuses_through_the_server_says_sign_in_again(
    jp_fetch: Any,
    emulator: BoxEmulator,
    box_app: App,
    home: Path,
    redirect_uri: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A connection the server refreshes (its app's): Box refuses the refresh token, and the
    server marks it signed out; its token API, status API and the kernel say "sign in again";
    Disconnect still deletes it (nothing to revoke at Box)."""
    kernel = BoxConnection(
        NAME,
        client_id=box_app.client_id,
        redirect_uri=redirect_uri,
        home=home,
        endpoints=emulator.endpoints,
    )
    url = kernel.authorization_url(secret_on_server=True)
    status, page = await callback(jp_fetch, emulator.authorize(url))
    assert status == 200, page
    refresh_token = (Vault(home).load(NAME) or {})["token"]["refresh_token"]
    with emulator.state.oauth.lock:  # Box forgets it (60 days unused, or revoked in Box)
        emulator.state.oauth.refresh_tokens[refresh_token].revoked = True
    emulator.clock.advance(3601)
    monkeypatch.setenv("JPY_PARENT_PID", str(os.getpid()))  # the kernel asks this server
    loop = asyncio.get_running_loop()
    with pytest.raises(ReauthorizationRequired):
        await loop.run_in_executor(None, BoxConnection(NAME, home=home).test_connection)
    record = Vault(home).load(NAME) or {}
    assert "token" not in record and record["signed_out_at"] > 0

    asked = await ask_token(jp_fetch)
    answer = json.loads(asked.body)
    assert asked.code == 409 and answer["error"] == "reauthorization_required"
    assert SIGNED_OUT in answer["message"]
    shown = json.loads((await jp_fetch("box-widget", "api", "status")).body)["connections"]
    assert [c["signed_out_at"] for c in shown] == [record["signed_out_at"]]
    assert BoxConnection(NAME, home=home).form.message == form_words.SIGNED_OUT
    await loop.run_in_executor(None, BoxConnection(NAME, home=home).revoke)
    assert Vault(home).names() == []
    assert emulator.counters()["failed_refreshes"] == 1  # Box was asked once


async def test_the_token_api_refuses_a_connection_with_its_own_secret(
    jp_fetch: Any, emulator: BoxEmulator, box_app: App, home: Path, redirect_uri: str
) -> None:
    """A connection made with its own Client ID and Secret is the kernel's to refresh: the
    server sends nothing to Box for it."""
    own = BoxConnection(
        NAME,
        client_id=box_app.client_id,
        client_secret=box_app.client_secret,
        redirect_uri=redirect_uri,
        endpoints=emulator.endpoints,
        home=home,
    )
    status, page = await callback(jp_fetch, emulator.authorize(own.authorization_url()))
    assert status == 200, page
    assert "app" not in (Vault(home).load(NAME) or {})
    response = await ask_token(jp_fetch)
    assert response.code == 409
    answer = json.loads(response.body)
    assert answer["error"] == "not_server_app"
    assert set(answer) == {"error", "message", "action"}
    assert emulator.counters()["refreshes"] == 0


def test_error_kinds_are_the_protocols() -> None:
    assert set(KINDS) == set(ERROR_KINDS)


def test_without_a_server_the_error_says_what_to_do(
    tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A connection made with the server's app, used where no Jupyter server can be found."""
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    source = ServerTokenSource(NAME)
    with pytest.raises(AuthorityUnreachable) as caught:
        source.fresh()
    message = str(caught.value)
    assert "run this in a notebook on that server" in message
    assert "connect with your own Client ID and Client Secret" in message
    assert str(tmp_path / "runtime") in message
