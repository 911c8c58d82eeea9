"""The demo's scratch folder: every file the demo's JupyterLab makes, in one temporary folder.

Layout (deleted when the demo stops, or by its watchdog when the demo is killed)::

    box-widget-demo-XXXX/       in the temporary folder ($TMPDIR)
        owner.json              the demo's process id and start time
        vault/                  the demo vault (tokens)
        jupyterlab.log          JupyterLab's and its kernels' messages
        lab/settings/           Lab's settings (this environment's, the demo's overrides)
        lab/user-settings/      what the person changes in Settings
        lab/workspaces/         Lab's open tabs and layout
        jupyter-data/           Jupyter's data folder (the notebook trust database...)
        jupyter-runtime/        connection files of the server and the kernels
        ipython/                the kernels' IPython folder (history)
        npm/                    npm's cache and logs (jupyter-lsp asks npm where it lives)

A demo killed together with its watchdog (``kill -9`` of both, a power cut) leaves its folder
behind; the next demo sweeps those whose owner process is gone (``sweep_stale``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import psutil

PREFIX = "box-widget-demo-"
OWNER_FILE = "owner.json"
LOG_FILE = "jupyterlab.log"


def make_scratch() -> Path:
    """A new scratch folder owned by this process (stale ones swept first)."""
    sweep_stale()
    scratch = Path(tempfile.mkdtemp(prefix=PREFIX))
    me = psutil.Process()
    owner = {"pid": me.pid, "started": me.create_time()}
    (scratch / OWNER_FILE).write_text(json.dumps(owner), encoding="utf-8")
    return scratch


def owner_is_running(folder: Path) -> bool:
    """Whether the demo that made ``folder`` still runs (True when that cannot be told: the
    owner file is missing, being written, or unreadable)."""
    try:
        owner = json.loads((folder / OWNER_FILE).read_text(encoding="utf-8"))
        pid, started = int(owner["pid"]), float(owner["started"])
    except (OSError, ValueError, KeyError, TypeError):
        return True
    try:
        created = float(psutil.Process(pid).create_time())
        return abs(created - started) < 0.01  # the same process, not a reused pid
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        return True


def sweep_stale(parent: Path | None = None) -> list[Path]:
    """Delete the scratch folders in ``parent`` (the temporary folder) that are this user's
    and whose demo is gone; the folders deleted."""
    swept = []
    for folder in Path(parent or tempfile.gettempdir()).glob(f"{PREFIX}*"):
        with contextlib.suppress(OSError):
            if folder.is_symlink() or not folder.is_dir():
                continue
            if hasattr(os, "getuid") and folder.stat().st_uid != os.getuid():
                continue
            if owner_is_running(folder):
                continue
            shutil.rmtree(folder, ignore_errors=True)
            swept.append(folder)
    return swept


def log_tail(scratch: Path, lines: int = 25) -> str:
    """The last ``lines`` lines of JupyterLab's log, for a message when it stopped."""
    try:
        text = (scratch / LOG_FILE).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])
