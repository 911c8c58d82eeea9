"""``box-widget demo``: the Box emulator and JupyterLab on loopback, getting-started open.

The emulator runs in this process (a thread); JupyterLab runs as a child process in a session
of its own, so that Ctrl-C reaches this process only, which then stops Lab's kernels, Lab and
the emulator, in that order, by their process ids. Tokens go to a throwaway vault (a temporary
folder, deleted on exit), never to the user's own.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from .emulator import BoxEmulator
from .errors import BoxWidgetError, ConfigurationError

CALLBACK_PATH = "box-widget/oauth2/callback"  # as box_widget.server.app (kept free of its import)
STATUS_PATH = "box-widget/api/status"
FIRST_NOTEBOOK = "getting-started.ipynb"
DEFAULT_PORT = 8888
START_TIMEOUT = 90.0  # seconds for JupyterLab to answer (a cold start on a slow laptop)
NO_NEWS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}
STOP_TIMEOUT = 15.0  # seconds for JupyterLab to exit after SIGTERM
#: What stops the demo: Ctrl-C, a polite kill, and the terminal closing (JupyterLab runs in a
#: session of its own, so without this a closed terminal would leave it behind).
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


@dataclass(frozen=True)
class DemoOptions:
    """What ``box-widget demo`` was asked for."""

    folder: Path  # where the notebooks are copied and JupyterLab's root is
    port: int | None = None  # JupyterLab's port: None for 8888 (else any free one), 0 for any
    emulator_port: int = 0  # the emulator's port: 0 for any free one
    open_browser: bool = True


def shipped_notebooks() -> Path:
    """The notebooks: inside the package in a wheel, at the repository's top in a checkout."""
    here = Path(__file__).resolve().parent
    for folder in (here / "notebooks", here.parent / "notebooks"):
        if (folder / FIRST_NOTEBOOK).is_file():
            return folder
    msg = "box-widget's notebooks are missing from this installation; reinstall box-widget"
    raise ConfigurationError(msg)


def copy_notebooks(folder: Path) -> list[str]:
    """Copy the shipped notebooks into ``folder``, keeping any copy already there (the user's
    edits); the names of those copied now."""
    copied = []
    try:
        folder.mkdir(parents=True, exist_ok=True)
        for source in sorted(shipped_notebooks().glob("*.ipynb")):
            target = folder / source.name
            if not target.exists():
                shutil.copyfile(source, target)
                copied.append(source.name)
    except OSError as exc:
        msg = (
            f"cannot copy the notebooks into {folder}: {exc.strerror}. Pass --dir with a "
            "folder you can write to."
        )
        raise ConfigurationError(msg) from None
    return copied


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def choose_port(requested: int | None) -> tuple[int, str]:
    """JupyterLab's port and a note for the user (empty when it is the one asked for)."""
    if requested is None:
        if port_is_free(DEFAULT_PORT):
            return DEFAULT_PORT, ""
        port = free_port()
        return port, f"port {DEFAULT_PORT} is in use (another Jupyter?), so the demo uses {port}"
    if requested == 0:
        return free_port(), ""
    if not port_is_free(requested):
        msg = (
            f"port {requested} is in use on 127.0.0.1. Pass another --port, or --port 0 for "
            "any free port."
        )
        raise ConfigurationError(msg)
    return requested, ""


def lab_environment(emu: BoxEmulator, home: Path, port: int, token: str) -> dict[str, str]:
    """JupyterLab's and its kernels' environment: the emulator, its demo app, the demo vault.

    The user's own ``BOX_*`` settings are left out, so demo tokens never mix with real ones.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOX_")}
    env.update(emu.endpoints.to_env())
    env.update(
        BOX_CLIENT_ID=emu.app.client_id,
        BOX_CLIENT_SECRET=emu.app.client_secret,
        BOX_REDIRECT_URI=f"http://127.0.0.1:{port}/{CALLBACK_PATH}",
        BOX_ENTERPRISE_ID=emu.app.enterprise_id,  # for the unattended notebook's robot
        BOX_WIDGET_HOME=str(home),
        BOX_WIDGET_KEYRING="0",
        JUPYTER_TOKEN=token,
        PYTHONUNBUFFERED="1",
    )
    # This environment's kernel spec first: a user-wide "python3" spec pointing at another
    # Python (without box-widget) would otherwise win.
    ours = str(Path(sys.prefix) / "share" / "jupyter")
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (ours, env.get("JUPYTER_PATH")) if p)
    return env


def lab_settings(scratch: Path) -> Path:
    """JupyterLab's settings folder for the demo: this environment's (its ``overrides``), with
    Lab's "get notified about Jupyter news?" toast answered no: the demo runs offline, and the
    toast sits over the notebook a newcomer is reading."""
    from jupyterlab.commands import get_app_dir

    settings = scratch / "lab-settings"
    own = Path(get_app_dir()) / "settings"
    if own.is_dir():
        shutil.copytree(own, settings)
    overrides = settings / "overrides.d"
    overrides.mkdir(parents=True, exist_ok=True)
    (overrides / "zz-box-widget-demo.json").write_text(json.dumps(NO_NEWS))
    return settings


def lab_command(port: int, folder: Path, settings: Path) -> list[str]:
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.root_dir={folder}",
        "--log-level=WARN",
        f"--LabApp.app_settings_dir={settings}",
        # Loopback only: no news feed, no update check reaching for the network.
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # e.g. in a container; JupyterLab refuses root otherwise
    return command


class Demo:
    """One run of ``box-widget demo``: start, print the address, wait for Ctrl-C, stop."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.folder = options.folder.expanduser().resolve()
        self.stopping = threading.Event()
        self.emulator: BoxEmulator | None = None
        self.lab: subprocess.Popen[bytes] | None = None
        self.watchdog: subprocess.Popen[bytes] | None = None  # ends Lab if this process dies
        self.scratch: Path | None = None  # the demo vault and Lab's settings; deleted on exit
        self.home: Path | None = None
        self.token = secrets.token_hex(24)
        self.port = 0
        self.copied: list[str] = []

    # --- running ---------------------------------------------------------------------------------
    def run(self) -> int:
        """Start everything, wait until asked to stop (or until JupyterLab exits), stop all."""
        if importlib.util.find_spec("jupyterlab") is None:
            msg = (
                "JupyterLab is not installed in this Python environment. Install the demo's "
                "extras: pip install 'box-widget[demo]' (or pip install -e '.[demo]' in a "
                "checkout)."
            )
            raise ConfigurationError(msg)
        self.port, note = choose_port(self.options.port)
        previous = {sig: signal.signal(sig, self._ask_to_stop) for sig in STOP_SIGNALS}
        try:
            self._start()
            if note:
                print(f"Note: {note}.", flush=True)
            self._announce()
            return self._wait()
        finally:
            self._stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _ask_to_stop(self, _signum: int, _frame: Any) -> None:
        self.stopping.set()

    def _start(self) -> None:
        self.copied = copy_notebooks(self.folder)
        self.scratch = Path(tempfile.mkdtemp(prefix="box-widget-demo-"))
        self.home = self.scratch / "vault"
        callbacks = [
            f"http://{host}:{self.port}/{CALLBACK_PATH}" for host in ("127.0.0.1", "localhost")
        ]
        self.emulator = BoxEmulator(port=self.options.emulator_port, redirect_uris=callbacks)
        try:
            self.emulator.start()
        except OSError as exc:
            msg = (
                f"the Box emulator cannot listen on port {self.options.emulator_port}: "
                f"{exc.strerror}. Pass --emulator-port 0 for any free port."
            )
            raise ConfigurationError(msg) from None
        env = lab_environment(self.emulator, self.home, self.port, self.token)
        command = lab_command(self.port, self.folder, lab_settings(self.scratch))
        self.lab = subprocess.Popen(  # noqa: S603 - this Python, arguments built here
            command,
            env=env,
            cwd=self.folder,
            stdin=subprocess.DEVNULL,
            stdout=sys.stderr.fileno(),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.watchdog = start_watchdog(self.lab.pid, self.scratch)
        self._wait_for_lab()

    def _api(self, method: str, path: str, timeout: float = 5) -> requests.Response:
        return requests.request(
            method,
            f"http://127.0.0.1:{self.port}/{path}",
            timeout=timeout,
            headers={"Authorization": f"token {self.token}"},
        )

    def _wait_for_lab(self) -> None:
        assert self.lab is not None
        deadline = time.monotonic() + START_TIMEOUT
        while not self.stopping.is_set():
            if self.lab.poll() is not None:
                msg = (
                    f"JupyterLab stopped as it started (exit code {self.lab.returncode}); "
                    "its messages are above."
                )
                raise BoxWidgetError(msg)
            with contextlib.suppress(requests.RequestException):
                if self._api("GET", "api/status").status_code == 200:
                    break
            if time.monotonic() > deadline:
                msg = f"JupyterLab did not answer within {START_TIMEOUT:g} seconds."
                raise BoxWidgetError(msg)
            time.sleep(0.25)
        else:
            return
        if self._api("GET", STATUS_PATH).status_code != 200:
            msg = (
                "box-widget's Jupyter server extension did not load, so Generate cannot "
                "receive Box's answer. Check `jupyter server extension list` (box_widget "
                "should be enabled and OK), then reinstall box-widget."
            )
            raise BoxWidgetError(msg)

    @property
    def url(self) -> str:
        """JupyterLab, with the token, on the getting-started notebook."""
        return f"http://127.0.0.1:{self.port}/lab/tree/{quote(FIRST_NOTEBOOK)}?token={self.token}"

    def _announce(self) -> None:
        if self.stopping.is_set():
            return
        assert self.emulator is not None
        emu = self.emulator
        users = " or ".join(f"{u.name} ({u.login})" for u in emu.users)
        kept = "" if self.copied else " (your copies from an earlier run, as you left them)"
        lines = [
            "",
            "box-widget demo: JupyterLab and a local Box emulator are running.",
            "",
            f"  Open this address: {self.url}",
            "",
            f"  Notebooks:  {self.folder}{kept}",
            f"  Box:        the emulator at {emu.url}; its app {emu.app.name!r} is pre-filled",
            "              in the form (Client ID and Secret), its Redirect URL registered.",
            f"  Sign in as: {users},",
            "              on the emulator's consent page.",
            f"  Tokens:     a demo vault in {self.home}, deleted when the demo stops.",
            "",
            "Press Ctrl-C to stop JupyterLab, its kernels and the emulator.",
            "",
        ]
        print("\n".join(lines), flush=True)
        if self.options.open_browser:
            threading.Thread(target=webbrowser.open, args=(self.url,), daemon=True).start()

    def _wait(self) -> int:
        assert self.lab is not None
        while not self.stopping.wait(0.5):
            if self.lab.poll() is not None:
                print(
                    f"box-widget: JupyterLab exited (code {self.lab.returncode}); stopping "
                    "the emulator.",
                    file=sys.stderr,
                    flush=True,
                )
                return 1
        return 0

    # --- stopping --------------------------------------------------------------------------------
    def _stop(self) -> None:
        """Stop the kernels (through Lab's API), Lab, anything Lab left, then the emulator."""
        for sig in STOP_SIGNALS:  # a second Ctrl-C must not cut this short
            signal.signal(sig, signal.SIG_IGN)
        if self.lab is not None:
            print("Stopping JupyterLab, its kernels and the Box emulator...", flush=True)
            stop_lab(self.lab, self._api)
        if self.emulator is not None:
            self.emulator.stop()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)
        if self.watchdog is not None:  # nothing is left for it to end: let it exit
            assert self.watchdog.stdin is not None
            self.watchdog.stdin.close()
            self.watchdog.wait(STOP_TIMEOUT)
        if self.lab is not None:
            print("Stopped.", flush=True)


def start_watchdog(lab_pid: int, scratch: Path) -> subprocess.Popen[bytes]:
    """A process that ends Lab, its kernels and ``scratch`` once this process has exited, in
    whatever way (see ``demo_watchdog``): its own session, so Ctrl-C does not reach it."""
    import psutil

    created = psutil.Process(lab_pid).create_time()
    return subprocess.Popen(  # noqa: S603 - this Python, arguments built here
        [
            sys.executable,
            "-m",
            "box_widget.demo_watchdog",
            str(lab_pid),
            repr(created),
            str(scratch),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )


def stop_lab(lab: subprocess.Popen[bytes], api: Any) -> None:
    """Shut down Lab's kernels, then Lab (SIGTERM, then SIGKILL), then any child left behind."""
    import psutil

    from .demo_watchdog import end_processes  # psutil: the demo extra

    try:
        children = psutil.Process(lab.pid).children(recursive=True)
    except psutil.Error:
        children = []
    if lab.poll() is None:
        with contextlib.suppress(requests.RequestException, ValueError):
            for kernel in api("GET", "api/kernels").json():
                api("DELETE", f"api/kernels/{kernel['id']}", timeout=STOP_TIMEOUT)
        lab.terminate()
        try:
            lab.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            lab.kill()
            lab.wait(5)
    end_processes(children, grace=5)
