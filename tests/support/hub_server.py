"""A hub user's real single-user server (spawned by the hub) and a real kernel it started,
driven the way a notebook is: code run in the kernel, its output read back."""

from __future__ import annotations

import contextlib
import json
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from jupyter_client.blocking import BlockingKernelClient

from support.hub import Hub
from support.kernel_client import execute, kernel_client

START_TIMEOUT = 120.0


@dataclass
class UserServer:
    """A hub user's running server: its URL through the proxy, the user's token, its home."""

    hub: Hub
    user: str
    token: str
    home: Path

    @property
    def url(self) -> str:
        return f"{self.hub.url}/user/{self.user}/"

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A call to the user's server (``path`` under its base URL) with the user's token."""
        headers = {"Authorization": f"token {self.token}"}
        return requests.request(
            method, self.url + path, headers=headers, timeout=60, allow_redirects=False, **kwargs
        )

    @contextlib.contextmanager
    def kernel(self) -> Iterator[Kernel]:
        """A kernel this server starts (its REST API), reached by its connection file."""
        answer = self.api("POST", "api/kernels", json={"name": "python3"})
        assert answer.status_code == 201, answer.text
        kernel_id = answer.json()["id"]
        found = list(self.home.rglob(f"kernel-{kernel_id}.json"))
        assert found, f"no connection file for kernel {kernel_id} under {self.home}"
        try:
            with kernel_client(found[0]) as client:
                yield Kernel(client)
        finally:
            self.api("DELETE", f"api/kernels/{kernel_id}")


@dataclass
class Kernel:
    client: BlockingKernelClient

    def run(self, code: str) -> Any:
        """Run ``code``; the JSON its last printed line holds."""
        return json.loads(execute(self.client, code).strip().splitlines()[-1])


@contextlib.contextmanager
def user_server(hub: Hub, prefix: str) -> Iterator[UserServer]:
    """A new hub user (``prefix`` + a random part: the spawner's home is /tmp/<user>) and their
    server, started by the hub, stopped (and its home removed) at the end."""
    user = f"{prefix}{secrets.token_hex(3)}"
    token = hub.token(user)
    home = Path("/tmp") / user  # noqa: S108 - SimpleLocalProcessSpawner's home_dir_template
    try:
        answer = hub.hub_api("POST", f"users/{user}/server")
        assert answer.status_code in (201, 202), answer.text
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            info = hub.hub_api("GET", f"users/{user}").json()
            server = (info.get("servers") or {}).get("", {})
            if server.get("ready"):
                break
            assert time.monotonic() < deadline, f"{user}'s server did not start:\n{hub.log()}"
            time.sleep(0.3)
        yield UserServer(hub, user, token, home)
    finally:
        hub.hub_api("DELETE", f"users/{user}/server")
        deadline = time.monotonic() + START_TIMEOUT
        while (hub.hub_api("GET", f"users/{user}").json().get("servers") or {}) and (
            time.monotonic() < deadline
        ):
            time.sleep(0.3)
        shutil.rmtree(home, ignore_errors=True)
