"""A real JupyterHub for the tests: its real proxy (configurable-http-proxy), box-widget's
service as a managed service, the emulator as Box.

The hub's config loads ``examples/jupyterhub/jupyterhub_config.py`` (the very file the docs
ship) and overrides only what a test must: the authenticator (``DummyAuthenticator`` with a
password), ports on 127.0.0.1 (free ones, from the OS), its database and secrets in the test's
folder, and an admin service whose token creates users and tokens. Everything else the example
takes from the environment it documents (Box's app and addresses, the service's folder).

``start_hub`` waits (bounded) until the proxy routes to the hub and to the service; ``stop``
stops the hub, which stops its proxy and the service, then checks that no process it started
outlived it (any straggler is killed and reported).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import requests

from box_widget.emulator import BoxEmulator

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "jupyterhub" / "jupyterhub_config.py"
SERVICE = "box-widget"
PASSWORD = "hub-test-password"
START_TIMEOUT = 90.0
STOP_TIMEOUT = 30.0
#: Who may use the admin API (the example's box-widget-admin role, from the environment).
ADMIN_USER = "boss"

TEST_CONFIG = """
c = get_config()  # noqa: F821
load_subconfig({example!r})  # noqa: F821
c.JupyterHub.bind_url = {public!r}
c.JupyterHub.hub_bind_url = {hub!r}
c.ConfigurableHTTPProxy.api_url = {proxy_api!r}
c.JupyterHub.db_url = {db!r}
c.JupyterHub.cookie_secret_file = {cookie_secret!r}
c.JupyterHub.pid_file = {pid_file!r}
c.JupyterHub.authenticator_class = "dummy"
c.DummyAuthenticator.password = {password!r}
c.Authenticator.allow_all = True
c.JupyterHub.spawner_class = "simple"
c.JupyterHub.services.append({{"name": "test-admin", "api_token": {admin_token!r}}})
c.JupyterHub.load_roles.append(
    {{
        "name": "test-admin",
        "scopes": ["admin:users", "tokens", "admin:servers", "list:users"],
        "services": ["test-admin"],
    }}
)
"""


def free_port() -> int:
    """A port the OS says is free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def box_for_hub(port: int) -> Iterator[BoxEmulator]:
    """The emulator as Box, with exactly one redirect URI registered: the service's callback
    on the hub that will listen on ``port``."""
    callback = f"http://127.0.0.1:{port}/services/{SERVICE}/oauth2/callback"
    with BoxEmulator(redirect_uris=[callback]) as emu:
        yield emu


def service_box_env(emu: BoxEmulator) -> dict[str, str]:
    """What the service is given of Box: the app's id and secret, Box's (the emulator's) URLs."""
    return {
        "BOX_CLIENT_ID": emu.app.client_id,
        "BOX_CLIENT_SECRET": emu.app.client_secret,
        **emu.endpoints.to_env(),
    }


@dataclass
class Hub:
    """A running hub: its public URL (the proxy), its admin token, its log."""

    url: str
    folder: Path
    admin_token: str
    process: subprocess.Popen[bytes]
    log_path: Path
    service_home: Path
    descendants: list[psutil.Process] = field(default_factory=list)

    @property
    def service_url(self) -> str:
        """The service's base URL through the proxy (ends in ``/``)."""
        return f"{self.url}/services/{SERVICE}/"

    @property
    def callback_url(self) -> str:
        """The one redirect URI registered with Box."""
        return self.service_url + "oauth2/callback"

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def hub_api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """A call to the Hub's REST API as the test's admin service."""
        headers = {"Authorization": f"token {self.admin_token}"}
        return requests.request(
            method, f"{self.url}/hub/api/{path}", headers=headers, timeout=30, **kwargs
        )

    def add_user(self, name: str) -> None:
        answer = self.hub_api("POST", f"users/{quote(name)}")
        if answer.status_code not in (201, 409):
            answer.raise_for_status()

    def token(self, name: str, scopes: list[str] | None = None) -> str:
        """A new API token of hub user ``name`` (all of the user's permissions by default)."""
        self.add_user(name)
        body: dict[str, Any] = {"note": "box-widget tests"}
        if scopes is not None:
            body["scopes"] = scopes
        answer = self.hub_api("POST", f"users/{quote(name)}/tokens", json=body)
        answer.raise_for_status()
        return str(answer.json()["token"])

    def login(self, name: str) -> requests.Session:
        """A browser-like session logged in to the hub as ``name`` (its hub cookies)."""
        self.add_user(name)
        browser = requests.Session()
        page = browser.get(f"{self.url}/hub/login", timeout=30)
        page.raise_for_status()
        xsrf = browser.cookies.get("_xsrf", "")
        answer = browser.post(
            f"{self.url}/hub/login",
            data={"username": name, "password": PASSWORD, "_xsrf": xsrf},
            allow_redirects=False,
            timeout=30,
        )
        assert answer.status_code == 302, f"hub login of {name!r}: HTTP {answer.status_code}"
        return browser

    def service(self, token: str) -> requests.Session:
        """A session calling the service's API with ``token``."""
        session = requests.Session()
        session.headers["Authorization"] = f"token {token}"
        return session

    def service_process(self) -> psutil.Process:
        """The running service (a child of the hub)."""
        for child in psutil.Process(self.process.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                if "box_widget.hub" in " ".join(child.cmdline()):
                    return child
        msg = "the hub runs no box-widget service"
        raise AssertionError(msg)

    def wait_for_service(self, timeout: float = START_TIMEOUT, *, not_pid: int = 0) -> None:
        """Until the service answers through the proxy (a new process, with ``not_pid``)."""
        deadline = time.monotonic() + timeout
        while True:
            alive = self.process.poll() is None
            assert alive, f"the hub exited ({self.process.returncode}):\n{self.log()[-4000:]}"
            with contextlib.suppress(requests.RequestException, AssertionError):
                answer = requests.get(self.service_url + "api/status", timeout=5)
                if answer.status_code == 403 and self.service_process().pid != not_pid:
                    return
            assert time.monotonic() < deadline, f"no service:\n{self.log()[-4000:]}"
            time.sleep(0.2)

    def restart_service(self, while_down: Callable[[], None] | None = None) -> None:
        """Stop the service (SIGTERM); the hub notices and starts it again (it polls every
        30 s); wait until the new one answers. ``while_down``: called once it has stopped."""
        old = self.service_process()
        old.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT
        while _running(old):  # until it exits (a zombie until the hub's poll reaps it)
            assert time.monotonic() < deadline, "the service did not stop on SIGTERM"
            time.sleep(0.1)
        if while_down is not None:
            while_down()
        self.wait_for_service(not_pid=old.pid)

    def stop(self) -> list[str]:
        """Stop the hub (and so its proxy and service); what outlived it (killed now)."""
        with contextlib.suppress(psutil.Error):
            self.descendants += psutil.Process(self.process.pid).children(recursive=True)
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        _, alive = psutil.wait_procs(self.descendants, timeout=10)
        leaked = []
        for proc in alive:
            with contextlib.suppress(psutil.Error):
                leaked.append(" ".join(proc.cmdline()) or str(proc.pid))
                proc.kill()
        return leaked


def _running(process: psutil.Process) -> bool:
    """Whether ``process`` still runs (an exited one waiting to be reaped does not)."""
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def hub_env(emu_env: dict[str, str], service_home: Path, **extra: str) -> dict[str, str]:
    """The hub's environment: the example's variables for Box's app and addresses."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOX_", "JUPYTERHUB_"))}
    env.update(emu_env)
    env["BOX_WIDGET_HUB_HOME"] = str(service_home)
    env["BOX_WIDGET_HUB_ADMINS"] = ADMIN_USER
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


@contextlib.contextmanager
def start_hub(
    folder: Path, box_env: dict[str, str], *, extra_config: str = "", **extra_env: str
) -> Iterator[Hub]:
    """Run a hub in ``folder`` (its config, database, log, the service's vault) until the
    block ends; ``box_env``: BOX_CLIENT_ID/SECRET and BOX_*_URL; ``extra_config``: config lines
    after the test config's (e.g. ``support.hub_unix``'s spawner for real Unix users)."""
    if shutil.which("configurable-http-proxy") is None:
        msg = "configurable-http-proxy is not on PATH (npm install -g configurable-http-proxy@5)"
        raise RuntimeError(msg)
    folder.mkdir(parents=True, exist_ok=True)
    public_port = int(extra_env.pop("PUBLIC_PORT", "0")) or free_port()
    public = f"http://127.0.0.1:{public_port}"
    admin_token = secrets.token_hex(32)
    config = folder / "jupyterhub_test_config.py"
    config.write_text(
        TEST_CONFIG.format(
            example=str(EXAMPLE),
            public=public + "/",
            hub=f"http://127.0.0.1:{free_port()}/",
            proxy_api=f"http://127.0.0.1:{free_port()}",
            db=f"sqlite:///{folder / 'jupyterhub.sqlite'}",
            cookie_secret=str(folder / "jupyterhub_cookie_secret"),
            pid_file=str(folder / "jupyterhub.pid"),
            password=PASSWORD,
            admin_token=admin_token,
        )
        + extra_config,
        encoding="utf-8",
    )
    service_home = folder / "service"
    env = hub_env(
        box_env,
        service_home,
        BOX_WIDGET_HUB_SERVICE_PORT=str(free_port()),
        BOX_WIDGET_HUB_PUBLIC_URL=public,
        **extra_env,
    )
    log_path = folder / "hub.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(config)],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    hub = Hub(public, folder, admin_token, process, log_path, service_home)
    try:
        hub.wait_for_service()
        yield hub
    finally:
        leaked = hub.stop()
        assert not leaked, f"processes outlived the hub: {leaked}"
