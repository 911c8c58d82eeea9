"""A real ``jupyter server`` with the server's Box app, and a real kernel it started: the kernel
holds no secret and gets its access tokens from the server (issue 17 item 2).

The server runs as an administrator starts it (its own process, the app in its configuration
file, the emulator as Box); a sign-in goes through its real callback; then a kernel the server
started (found by ``JPY_PARENT_PID`` and ``jpserver-<pid>.json``) uses the connection after Box
expired its access token, and this process, pointed at the server as a terminal it opened is
(``JUPYTER_SERVER_URL``), disconnects it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.jupyter_server import TOKEN, Server, running_server
from support.kernel_client import execute, kernel_client

from box_widget import BoxConnection, audit
from box_widget.cli.demo_lab import free_port
from box_widget.emulator import BoxEmulator
from box_widget.emulator.oauth_store import App
from box_widget.vault import Vault

SECRET = "the-servers-own-secret-" + "s" * 20
NAME = "work"

KERNEL_CODE = """
import json, os
from box_widget import BoxConnection
conn = BoxConnection("work")
user = conn.test_connection()
print(json.dumps({
    "secret": conn._client_secret,
    "source": type(conn.session.source).__name__,
    "login": user["login"],
    "parent": os.environ.get("JPY_PARENT_PID"),
    "secret_in_environment": any(%r in v for v in os.environ.values()),
}))
"""


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def box_app(emulator: BoxEmulator, port: int) -> App:
    callback = f"http://127.0.0.1:{port}/box-widget/oauth2/callback"
    return emulator.add_app("The server's app", [callback], client_secret=SECRET)


@pytest.fixture
def server(tmp_path: Path, emulator: BoxEmulator, box_app: App, port: int) -> Iterator[Server]:
    """``jupyter server`` with the Box app in its configuration file, the emulator as Box."""
    settings = {"client_id": box_app.client_id, "client_secret": SECRET}
    settings.update(emulator.endpoints.to_dict())
    with running_server(tmp_path, port, settings) as running:
        yield running


def run_in_kernel(server: Server, code: str) -> str:
    """Start a kernel through the server's REST API, run ``code`` in it; its standard output."""
    kernel = server.api("POST", "api/kernels", json={"name": "python3"}).json()
    with kernel_client(server.runtime / f"kernel-{kernel['id']}.json") as client:
        return execute(client, code)


def test_a_kernel_refreshes_through_its_server_and_never_holds_the_secret(
    server: Server,
    emulator: BoxEmulator,
    box_app: App,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # This process plays the form's kernel for the sign-in (no secret), the browser the rest.
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    monkeypatch.delenv("BOX_WIDGET_KEY", raising=False)
    conn = BoxConnection(
        NAME,
        client_id=box_app.client_id,
        redirect_uri=server.callback,
        endpoints=emulator.endpoints,
        home=server.home,
    )
    location = emulator.authorize(conn.authorization_url(secret_on_server=True))
    page = server.api("GET", "box-widget/oauth2/callback?" + location.split("?", 1)[1])
    assert page.status_code == 200, page.text
    record = Vault(server.home).load(NAME) or {}
    assert (record["client_secret"], record.get("app")) == (None, "server")

    emulator.clock.advance(3601)  # Box expires the access token: the kernel's call gets a 401
    output = run_in_kernel(server, KERNEL_CODE % SECRET)
    seen = json.loads(output.strip().splitlines()[-1])
    assert seen == {
        "secret": None,
        "source": "ServerTokenSource",
        "login": "ada@example.com",
        "parent": str(server.proc.pid),
        "secret_in_environment": False,
    }
    assert emulator.counters()["refreshes"] == 1
    refreshes = [e for e in audit.read(server.home, NAME) if e["event"] == "refresh"]
    assert [e["pid"] for e in refreshes] == [server.proc.pid]  # the server spent it
    files = b"".join(p.read_bytes() for p in server.home.rglob("*") if p.is_file())
    assert SECRET.encode() not in files
    assert SECRET not in json.dumps(Vault(server.home).load(NAME))

    # This process, pointed at the server as its terminals are (JUPYTER_SERVER_URL, matched in
    # the runtime folder's jpserver-*.json), disconnects: the server revokes.
    monkeypatch.delenv("JPY_PARENT_PID", raising=False)
    monkeypatch.setenv("JUPYTER_SERVER_URL", server.url)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(server.runtime))
    token = (Vault(server.home).load(NAME) or {})["token"]
    BoxConnection(NAME, home=server.home).revoke()
    assert Vault(server.home).names() == []
    assert emulator.state.oauth.validate_access(token["access_token"]) is None
    log = server.log.read_text(errors="replace")
    for secret in (SECRET, token["access_token"], token["refresh_token"], TOKEN):
        assert secret not in log
