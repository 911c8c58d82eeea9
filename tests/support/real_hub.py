"""A real JupyterHub for tests: ``jupyterhub -f <config>`` with its real proxy, on loopback.

``RealHub(folder, config)`` writes the config, starts the hub (which starts
``configurable-http-proxy``) on ports the OS picked, and waits for ``/hub/api`` to answer. The
config it writes has the ports, the database, the cookie secret and the proxy's pid file in
``folder``, a shared-password authenticator for the test users, and a hub-API service
``test-admin`` whose token (``hub.admin_token``) may start, stop and reach every user's server.
Callers append their own lines (the spawner, the box-widget service, ...).

``stop()`` stops the hub with SIGTERM: it stops the proxy and every user's server itself
(``cleanup_servers``); any server or proxy still alive afterwards is killed by its own pid.
Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from box_widget.cli.demo_lab import free_port

START_TIMEOUT = 60.0  # the hub answering /hub/api (its proxy started)
SPAWN_TIMEOUT = 90.0  # a user's server ready (a setuid JupyterLab start)
STOP_TIMEOUT = 30.0  # the hub gone after SIGTERM (it stops every server first)
ADMIN_SCOPES = [
    "admin:users",
    "admin:servers",
    "admin:server_state",
    "access:servers",
    "tokens",
    "list:users",
    "read:users",
]


class HubError(AssertionError):
    """The hub or a user's server did not get where it should in time."""


def base_config(folder: Path, *, port: int, hub_port: int, api_port: int) -> tuple[str, str, str]:
    """The test hub's own config lines, its user password and its admin token."""
    password = secrets.token_urlsafe(18)
    admin_token = secrets.token_hex(24)
    text = f"""
# --- tests/support/real_hub.py: ports, files, login and the tests' admin token ---
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.pid_file = {str(folder / "proxy.pid")!r}
c.JupyterHub.db_url = "sqlite:///{folder / "hub.sqlite"}"
c.JupyterHub.cookie_secret_file = {str(folder / "cookie_secret")!r}
c.JupyterHub.pid_file = {str(folder / "hub.pid")!r}
c.JupyterHub.cleanup_servers = True
c.JupyterHub.cleanup_proxy = True
c.JupyterHub.authenticator_class = "shared-password"
c.SharedPasswordAuthenticator.user_password = {password!r}
c.Authenticator.allowed_users = {{"alice", "bob"}}
c.JupyterHub.services.append({{"name": "test-admin", "api_token": {admin_token!r}}})
c.JupyterHub.load_roles.append(
    {{"name": "test-admin", "scopes": {ADMIN_SCOPES!r}, "services": ["test-admin"]}}
)
"""
    return text, password, admin_token


@dataclass
class RealHub:
    """A running JupyterHub. Its config: ``before`` (e.g. a deployment's config, loaded with
    ``load_subconfig``), then the test hub's own lines, then ``extra``."""

    folder: Path
    extra: str = ""
    before: str = ""
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    hub_port: int = field(default_factory=free_port)
    api_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    password: str = ""
    admin_token: str = ""
    server_pids: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The hub's public URL (through the proxy), ending in ``/``."""
        return f"http://127.0.0.1:{self.port}/"

    @property
    def log(self) -> Path:
        return self.folder / "hub.log"

    @property
    def config_file(self) -> Path:
        return self.folder / "jupyterhub_config.py"

    def log_tail(self, lines: int = 60) -> str:
        with contextlib.suppress(FileNotFoundError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return ""

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> RealHub:
        own, self.password, self.admin_token = base_config(
            self.folder, port=self.port, hub_port=self.hub_port, api_port=self.api_port
        )
        self.config_file.write_text(
            "c = get_config()  # noqa: F821\n" + self.before + own + self.extra
        )
        env = {
            "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOME": str(self.folder),
            "LANG": "C.UTF-8",
            **self.env,
        }
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jupyterhub", "-f", str(self.config_file)],
                cwd=self.folder,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.wait_ready()
        return self

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.proc is not None
            if self.proc.poll() is not None:
                msg = f"jupyterhub exited with {self.proc.returncode}:\n{self.log_tail()}"
                raise HubError(msg)
            with contextlib.suppress(requests.RequestException):
                if self.api("GET", "").status_code == 200:
                    return
            if time.monotonic() > deadline:
                msg = f"jupyterhub did not answer within {START_TIMEOUT:g} s:\n{self.log_tail()}"
                raise HubError(msg)
            time.sleep(0.25)

    def stop(self) -> None:
        """SIGTERM to the hub (it stops the proxy and the servers), then by pid what is left."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        leftovers = list(self.server_pids.values())
        with contextlib.suppress(FileNotFoundError, ValueError):
            leftovers.append(int((self.folder / "proxy.pid").read_text().strip()))
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)  # each server/proxy leads its own session

    # --- the hub's REST API, as the tests' admin service ------------------------------------------
    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method,
            f"{self.url}hub/api/{path}",
            headers={"Authorization": f"token {self.admin_token}"},
            timeout=30,
            **kwargs,
        )

    def spawn(self, user: str) -> dict[str, Any]:
        """Start ``user``'s default server and wait until it is ready; its server model."""
        started = self.api("POST", f"users/{user}/server")
        if started.status_code not in {201, 202, 400}:  # 400: already running
            msg = f"starting {user}'s server: {started.status_code} {started.text}"
            raise HubError(msg)
        return self.wait_server(user)

    def wait_server(self, user: str) -> dict[str, Any]:
        """Wait until ``user``'s default server is ready; its model (state holds its pid)."""
        deadline = time.monotonic() + SPAWN_TIMEOUT
        while True:
            model = self.api("GET", f"users/{user}").json()
            server = model.get("servers", {}).get("")
            if server and server.get("state", {}).get("pid"):
                self.server_pids[user] = int(server["state"]["pid"])
            if server and server.get("ready"):
                return dict(server)
            if time.monotonic() > deadline:
                msg = f"{user}'s server not ready in {SPAWN_TIMEOUT:g} s:\n{self.log_tail()}"
                raise HubError(msg)
            time.sleep(0.5)

    def server_api(self, user: str, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A request to ``user``'s server through the proxy (``/user/<user>/<path>``)."""
        return requests.request(
            method,
            f"{self.url}user/{user}/{path}",
            headers={"Authorization": f"token {self.admin_token}"},
            timeout=30,
            **kwargs,
        )

    def login(self, user: str) -> requests.Session:
        """A browser-like session logged in to the hub as ``user`` (its login form)."""
        session = requests.Session()
        session.get(f"{self.url}hub/login", timeout=30).raise_for_status()
        answer = session.post(
            f"{self.url}hub/login",
            data={
                "username": user,
                "password": self.password,
                "_xsrf": session.cookies.get("_xsrf", ""),
            },
            allow_redirects=False,
            timeout=30,
        )
        if answer.status_code != 302:
            msg = f"logging in as {user}: {answer.status_code}"
            raise HubError(msg)
        return session
