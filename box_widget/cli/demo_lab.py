"""JupyterLab for ``box-widget demo``: its notebooks folder, port, environment, settings and
command line, the watchdog that ends it if the demo dies, and how it is stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import requests

from ..emulator import BoxEmulator
from ..errors import ConfigurationError
from ..protocol import CALLBACK_PATH, REDIRECT_HINT_ENV

FIRST_NOTEBOOK = "getting-started.ipynb"
DEFAULT_PORT = 8888
NO_NEWS = {"@jupyterlab/apputils-extension:notification": {"fetchNews": "false"}}
STOP_TIMEOUT = 15.0  # seconds for JupyterLab to exit after SIGTERM
VAULT = "vault"  # the demo vault, in the scratch folder
#: The line under the form's Redirect URL in the demo (instead of "Register exactly this URL").
REDIRECT_HINT = "The demo's emulator has this URL registered already."


def shipped_notebooks() -> Path:
    """The notebooks: inside the package in a wheel, at the repository's top in a checkout."""
    here = Path(__file__).resolve().parent.parent  # box_widget
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


def lab_environment(emu: BoxEmulator, scratch: Path, port: int, token: str) -> dict[str, str]:
    """JupyterLab's, its kernels' and its terminals' environment: the emulator, its demo app,
    the demo vault, this environment's ``box-widget`` first on PATH, and Jupyter's and
    IPython's own files in the scratch folder (``demo_scratch``), never in the user's.

    The user's own ``BOX_*`` settings are left out, so demo tokens never mix with real ones.
    """
    from jupyter_core.paths import jupyter_data_dir

    users_data = jupyter_data_dir()  # still searched (the user's kernels), no longer written
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOX_")}
    env.update(emu.endpoints.to_env())
    env.update(
        BOX_CLIENT_ID=emu.app.client_id,
        BOX_CLIENT_SECRET=emu.app.client_secret,
        BOX_REDIRECT_URI=f"http://127.0.0.1:{port}/{CALLBACK_PATH}",
        BOX_ENTERPRISE_ID=emu.app.enterprise_id,  # for the unattended notebook's robot
        BOX_WIDGET_HOME=str(scratch / VAULT),
        BOX_WIDGET_KEYRING="0",
        JUPYTER_TOKEN=token,
        JUPYTER_DATA_DIR=str(scratch / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(scratch / "jupyter-runtime"),
        IPYTHONDIR=str(scratch / "ipython"),
        npm_config_cache=str(scratch / "npm"),
        PYTHONUNBUFFERED="1",
    )
    env[REDIRECT_HINT_ENV] = REDIRECT_HINT  # the form's line under the Redirect URL
    # `box-widget list` in Lab's terminal: this environment's command, the demo vault.
    scripts = sysconfig.get_path("scripts")
    env["PATH"] = os.pathsep.join(p for p in (scripts, env.get("PATH")) if p)
    # This environment's kernel spec first: a user-wide "python3" spec pointing at another
    # Python (without box-widget) would otherwise win.
    ours = str(Path(sys.prefix) / "share" / "jupyter")
    paths = (ours, env.get("JUPYTER_PATH"), users_data)
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in paths if p)
    return env


def lab_settings(scratch: Path) -> Path:
    """JupyterLab's settings folder for the demo: this environment's (its ``overrides``), with
    Lab's "get notified about Jupyter news?" toast answered no: the demo runs offline, and the
    toast sits over the notebook a newcomer is reading."""
    from jupyterlab.commands import get_app_dir

    settings = scratch / "lab" / "settings"
    own = Path(get_app_dir()) / "settings"
    if own.is_dir():
        shutil.copytree(own, settings)
    overrides = settings / "overrides.d"
    overrides.mkdir(parents=True, exist_ok=True)
    (overrides / "zz-box-widget-demo.json").write_text(json.dumps(NO_NEWS))
    return settings


def lab_command(port: int, folder: Path, scratch: Path) -> list[str]:
    """JupyterLab's command line: loopback, this port, its settings, user settings and
    workspaces in ``scratch``."""
    lab = scratch / "lab"
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
        f"--LabApp.app_settings_dir={lab_settings(scratch)}",
        f"--LabApp.user_settings_dir={lab / 'user-settings'}",
        f"--LabApp.workspaces_dir={lab / 'workspaces'}",
        # Loopback only: no news feed, no update check reaching for the network.
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    shell = os.environ.get("SHELL") or shutil.which("sh")
    if os.name != "nt" and shell:
        # Lab's terminals: the user's shell, not as a login shell, which Lab would start
        # (Lab has no terminal here) and whose profile resets PATH, hiding this environment's
        # box-widget.
        command.append(f"--ServerApp.terminado_settings={json.dumps({'shell_command': [shell]})}")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # e.g. in a container; JupyterLab refuses root otherwise
    return command


def start_watchdog(lab_pid: int, scratch: Path) -> subprocess.Popen[bytes]:
    """A process that ends Lab, its kernels and ``scratch`` once this process has exited, in
    whatever way (see ``demo_watchdog``): its own session, so Ctrl-C does not reach it."""
    import psutil

    created = psutil.Process(lab_pid).create_time()
    return subprocess.Popen(  # noqa: S603 - this Python, arguments built here
        [
            sys.executable,
            "-m",
            "box_widget.cli.demo_watchdog",
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
