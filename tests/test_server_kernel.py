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
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from support.kernel_client import execute, kernel_client

from box_widget import BoxConnection, audit
from box_widget.cli.demo_lab import free_port
from box_widget.emulator import BoxEmulator
from box_widget.emulator.oauth_store import App
from box_widget.vault import Vault

TOKEN = "jupyter-login-token-for-this-test"
SECRET = "the-servers-own-secret-" + "s" * 20
NAME = "work"
START_TIMEOUT = 90.0

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


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    runtime: Path
    home: Path
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def callback(self) -> str:
        return self.url + "box-widget/oauth2/callback"

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"token {TOKEN}"}
        return requests.request(method, self.url + path, headers=headers, timeout=60, **kwargs)


def server_env(tmp: Path) -> dict[str, str]:
    """This environment without BOX_* or Jupyter settings; Jupyter's folders in ``tmp``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOX_", "JUPYTER_", "JPY_"))}
    for name in ("config", "data", "runtime"):
        (tmp / name).mkdir(exist_ok=True)
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_DATA_DIR=str(tmp / "data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        BOX_WIDGET_HOME=str(tmp / "vault"),
        BOX_WIDGET_KEYRING="0",
    )
    return env


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
    lines = [f"c.BoxWidgetApp.{key} = {value!r}" for key, value in settings.items()]
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "jupyter_server_config.py").write_text("\n".join(lines) + "\n")
    log = tmp_path / "server.log"
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={tmp_path}",
        "--allow-root",
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(command, env=server_env(tmp_path), stdout=out, stderr=out)
    running = Server(proc, port, tmp_path / "runtime", tmp_path / "vault", log)
    try:
        wait_until_ready(running)
        yield running
    finally:
        for kernel in running.api("GET", "api/kernels").json() if proc.poll() is None else []:
            running.api("DELETE", f"api/kernels/{kernel['id']}")
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def wait_until_ready(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert server.proc.poll() is None, server.log.read_text(errors="replace")[-3000:]
        info = server.runtime / f"jpserver-{server.proc.pid}.json"
        try:
            if info.is_file() and server.api("GET", "box-widget/api/status").status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    pytest.fail(f"the Jupyter server did not start within {START_TIMEOUT:.0f} s")


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
