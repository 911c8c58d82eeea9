"""Users' servers on a real hub with real Unix users: start one, wait for it, reach it.

``unix_hub(folder)`` runs ``support.hub.start_hub`` (the example config, the real proxy, the
service) with ``support.hub_unix``'s spawner on top: each user's JupyterLab runs as that Unix
user from the single-user venv. The emulator plays Box, with exactly one redirect URI: the
service's. The tests' admin service may also read each server's state (its pid) and reach
users' servers.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

from box_widget.emulator import BoxEmulator

from . import hub_unix
from .hub import Hub, box_for_hub, free_port, service_box_env, start_hub

SPAWN_TIMEOUT = 90.0  # a user's server ready (a setuid JupyterLab start)

#: More scopes for the tests' admin service: each server's state (its pid) and its API.
SERVER_SCOPES = """
c.JupyterHub.load_roles.append(
    {"name": "test-admin-servers", "scopes": ["admin:server_state", "access:servers"],
     "services": ["test-admin"]}
)
"""


@dataclass
class UnixHub:
    """The running hub, the emulator playing Box, and the servers' pids seen so far."""

    hub: Hub
    emu: BoxEmulator
    pids: dict[str, int]

    @property
    def url(self) -> str:
        """The hub's public URL, ending in ``/``."""
        return self.hub.url + "/"

    def spawn(self, user: str) -> dict[str, Any]:
        """Start ``user``'s default server (if not running) and wait until it is ready."""
        self.hub.add_user(user)
        started = self.hub.hub_api("POST", f"users/{user}/server")
        if started.status_code not in {201, 202, 400}:  # 400: already running
            msg = f"starting {user}'s server: {started.status_code} {started.text}"
            raise AssertionError(msg)
        return self.wait_server(user)

    def wait_server(self, user: str) -> dict[str, Any]:
        """Wait until ``user``'s default server is ready; its model (``state.pid``)."""
        deadline = time.monotonic() + SPAWN_TIMEOUT
        while True:
            model = self.hub.hub_api("GET", f"users/{user}").json()
            server = model.get("servers", {}).get("")
            if server and server.get("ready") and server.get("state", {}).get("pid"):
                self.pids[user] = int(server["state"]["pid"])
                return dict(server)
            if time.monotonic() > deadline:
                msg = f"{user}'s server not ready in {SPAWN_TIMEOUT:g} s:\n{self.hub.log()[-4000:]}"
                raise AssertionError(msg)
            time.sleep(0.5)

    def server_api(self, user: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A request to ``user``'s server through the proxy, as the tests' admin service."""
        return requests.request(
            method,
            f"{self.url}user/{user}/{path}",
            headers={"Authorization": f"token {self.hub.admin_token}"},
            timeout=30,
            **kwargs,
        )


@contextlib.contextmanager
def unix_hub(folder: Path, venv: Path) -> Iterator[UnixHub]:
    """A hub whose users' servers run as their own Unix users, until the block ends."""
    port = free_port()
    with box_for_hub(port) as emu:
        box_env = service_box_env(emu)
        # Box's URLs (the emulator's) for users' servers and kernels too.
        endpoints = f"c.Spawner.environment.update({emu.endpoints.to_env()!r})\n"
        extra = hub_unix.spawner_config(venv) + SERVER_SCOPES + endpoints
        with start_hub(folder, box_env, extra_config=extra, PUBLIC_PORT=str(port)) as hub:
            yield UnixHub(hub, emu, {})
