"""A real ``jupyter server`` with the box_widget extension, started as an administrator
would (its own process, a configuration file): for tests that need the server as the token
authority of processes it did not start (Dask workers, bench/cluster.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

TOKEN = "jupyter-login-token-for-this-test"
START_TIMEOUT = 90.0


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


@contextmanager
def running_server(tmp_path: Path, port: int, settings: dict[str, Any]) -> Iterator[Server]:
    """``jupyter server`` on ``port`` with ``c.BoxWidgetApp.<key> = value`` for ``settings``,
    Jupyter's folders and the vault (``BOX_WIDGET_HOME``) in ``tmp_path``; stopped after."""
    lines = [f"c.BoxWidgetApp.{key} = {value!r}" for key, value in settings.items()]
    (tmp_path / "config").mkdir(parents=True, exist_ok=True)
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
