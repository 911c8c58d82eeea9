"""The admin-provisioned client secret never reaches a real ``jupyter server --debug`` log.

An administrator puts ``c.BoxWidgetApp.client_secret`` in ``jupyter_server_config.py`` (or on
the command line); with ``--debug`` traitlets logs the server's whole configuration on every
application's logger ("Config changed: {...}"), several times. The server runs as a separate
process, as an administrator starts it, its whole output captured and scanned.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from support.jupyter_server import TOKEN, server_env
from support.secret_scan import scan

from box_widget.cli.demo_lab import free_port

SECRET = "Adm1n-provisioned-" + "s" * 24
START_TIMEOUT = 60.0


def run_server(tmp: Path, *args: str) -> tuple[str, dict[str, object]]:
    """Start ``jupyter server --debug``, wait for the extension's status API, stop it; its
    whole log and the status answer."""
    port = free_port()
    log = tmp / "server.log"
    command = [
        sys.executable,
        "-m",
        "jupyter_server",
        "--debug",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={tmp}",
        "--allow-root",
        *args,
    ]
    with log.open("wb") as out:
        server = subprocess.Popen(
            command, env=server_env(tmp), stdout=out, stderr=subprocess.STDOUT
        )
        try:
            status = wait_for_status(port, server)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=10)
    return log.read_text(encoding="utf-8", errors="replace"), status


def wait_for_status(port: int, server: subprocess.Popen[bytes]) -> dict[str, object]:
    url = f"http://127.0.0.1:{port}/box-widget/api/status"
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert server.poll() is None, "the Jupyter server stopped early (see its log)"
        try:
            answer = requests.get(url, headers={"Authorization": f"token {TOKEN}"}, timeout=5)
        except requests.ConnectionError:
            time.sleep(0.2)
            continue
        assert answer.status_code == 200, answer.text
        body: dict[str, object] = answer.json()
        return body
    pytest.fail(f"the Jupyter server did not answer within {START_TIMEOUT:.0f} s")


@pytest.mark.parametrize("where", ["config file", "command line"])
def test_debug_log_of_a_real_server_never_shows_the_provisioned_secret(
    tmp_path: Path, where: str
) -> None:
    args: list[str] = []
    if where == "config file":
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "jupyter_server_config.py").write_text(
            'c.BoxWidgetApp.client_id = "admin-app-client-id"\n'
            f'c.BoxWidgetApp.client_secret = "{SECRET}"\n',
            encoding="utf-8",
        )
    else:
        args = [
            "--BoxWidgetApp.client_id=admin-app-client-id",
            f"--BoxWidgetApp.client_secret={SECRET}",
        ]
    log, status = run_server(tmp_path, *args)

    assert scan({SECRET}, texts={"server log": log}) == {}
    # the secret was configured, and the lines that used to carry it were logged, masked
    assert status["client_secret_configured"] is True
    assert status["client_id"] == "admin-app-client-id"
    changes = [line for line in log.splitlines() if "Config changed:" in line]
    assert len(changes) >= 2, "no DEBUG configuration lines: --debug had no effect"
    assert all("'client_secret': '***'" in line for line in changes if "BoxWidgetApp" in line)
    assert sum("'client_secret': '***'" in line for line in changes) >= 2
