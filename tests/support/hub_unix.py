"""Real Unix users for the hub tests: alice and bob, and a Python environment they can run.

A hub on one machine spawns each user's Jupyter server with ``LocalProcessSpawner``: as that
user's own Unix account (setuid), in that user's home folder (mode 0700), so alice's files are
really out of bob's reach. ``.ci/run`` prepares what this needs (and you can run its steps as
root on your machine):

- the Unix users ``alice`` and ``bob`` (``useradd -m``), homes of mode 0700;
- ``configurable-http-proxy`` (npm, 5.x) on PATH;
- a venv that those users can execute, named by ``$BOX_WIDGET_HUB_SINGLEUSER_VENV``, with
  box-widget, JupyterLab, ipykernel and ``jupyterhub-singleuser`` in it. It is made from the
  system's own Python (``/usr/bin/python3``): a Python under root's home (mode 0700), as pyenv's
  is, cannot be run by alice, so neither can a venv made from it.

``problems()`` says, in plain words, what is missing; the fixtures skip on a laptop and fail in CI.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path

#: The environment variable naming the single-user venv (made by ``.ci/run``).
SINGLEUSER_VENV_VAR = "BOX_WIDGET_HUB_SINGLEUSER_VENV"
#: The two hub users, each a real Unix account.
USERS = ("alice", "bob")
#: What each user's server must be able to import from the single-user venv.
IMPORTS = "import box_widget, jupyterhub, jupyterlab, ipykernel"
PREPARE = "run the steps of .ci/run's 'hub' section as root"
#: A file .ci/run puts in each test user's home: the fixtures empty only homes marked so.
MARKER = ".box-widget-test-user"
#: Each user's JupyterLab settings, as the browser harness sets them: the "news" toast off (it
#: can cover the form), widget state saved into notebooks (what a user may share), and the
#: notebook's own kernel started without asking.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
    "@jupyter-widgets/jupyterlab-manager/plugin": {"saveState": True},
    "@jupyterlab/notebook-extension/tracker": {"autoStartDefaultKernel": True},
}


def singleuser_venv() -> Path | None:
    """The single-user venv named by ``$BOX_WIDGET_HUB_SINGLEUSER_VENV``, None when unset."""
    configured = os.environ.get(SINGLEUSER_VENV_VAR)
    return Path(configured) if configured else None


def home_of(user: str) -> Path:
    return Path(pwd.getpwnam(user).pw_dir)


def uid_of(user: str) -> int:
    return pwd.getpwnam(user).pw_uid


def run_as(user: str, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``argv`` run as the Unix user ``user`` (``runuser``, as root), in a minimal environment."""
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return subprocess.run(
        [
            runuser,
            "-u",
            user,
            "--",
            "/usr/bin/env",
            "-i",
            f"HOME={home_of(user)}",
            "PATH=/usr/bin:/bin",
            *argv,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def problems() -> list[str]:
    """Why this machine cannot run a hub with real Unix users (empty when it can)."""
    found: list[str] = []
    if os.geteuid() != 0:
        found.append("the hub must run as root to start servers as other Unix users")
    if shutil.which("configurable-http-proxy") is None:
        found.append(
            "configurable-http-proxy is not on PATH (npm install -g configurable-http-proxy@5)"
        )
    if shutil.which("runuser") is None:
        found.append("runuser (util-linux) is not on PATH")
    for user in USERS:
        try:
            home = home_of(user)
        except KeyError:
            found.append(f"there is no Unix user {user!r} (useradd -m {user})")
            continue
        if not home.is_dir():
            found.append(f"{user}'s home folder {home} does not exist")
        elif stat.S_IMODE(home.stat().st_mode) & 0o077:
            found.append(f"{user}'s home folder {home} is readable by others (chmod 0700 {home})")
        elif not (home / MARKER).is_file():
            found.append(
                f"{home} has no {MARKER}: the tests empty a test user's home, and only one "
                "marked as made for them"
            )
    venv = singleuser_venv()
    if venv is None:
        found.append(f"{SINGLEUSER_VENV_VAR} is not set (the venv alice and bob run)")
    elif not (venv / "bin" / "jupyterhub-singleuser").is_file():
        found.append(f"{venv} has no bin/jupyterhub-singleuser ({SINGLEUSER_VENV_VAR})")
    elif not found:
        check = run_as(USERS[0], str(venv / "bin" / "python"), "-c", IMPORTS)
        if check.returncode != 0:
            found.append(
                f"{USERS[0]} cannot run {venv}/bin/python with box-widget, JupyterLab and "
                f"jupyterhub-singleuser (is every folder on the way readable by others?): "
                f"{check.stderr.strip()[-400:]}"
            )
    if found:
        found.append(f"to prepare this machine: {PREPARE}")
    return found


def spawner_config(venv: Path) -> str:
    """Config lines (appended to a hub's config) spawning each user's JupyterLab as that Unix
    user from ``venv``; anything the deployment's config put in ``c.Spawner.environment`` stays."""
    bin_dir = venv / "bin"
    return f"""
# --- tests/support/hub_unix.py: real Unix users, LocalProcessSpawner ---
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [{str(bin_dir / "jupyterhub-singleuser")!r}]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 90
c.Spawner.http_timeout = 90
c.Spawner.environment.update({{"PATH": {f"{bin_dir}:/usr/local/bin:/usr/bin:/bin"!r}}})
# window.jupyterapp, to run a notebook's cells (BROWSER_TESTING.md).
c.Spawner.args = ["--LabApp.expose_app_in_browser=True"]
"""


def fresh_home(user: str) -> Path:
    """Empty a (marked) test user's home but for its marker; JupyterLab's settings for tests."""
    home = home_of(user)
    if not (home / MARKER).is_file():
        msg = f"{home} has no {MARKER}: not emptying it"
        raise AssertionError(msg)
    for entry in home.iterdir():
        if entry.name == MARKER:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for name, values in LAB_SETTINGS.items():
        settings = home / ".jupyter/lab/user-settings" / f"{name}.jupyterlab-settings"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps(values))
    owner = pwd.getpwnam(user)
    for path in [home / ".jupyter", *(home / ".jupyter").rglob("*")]:
        os.chown(path, owner.pw_uid, owner.pw_gid)
    return home


def owner_and_mode(path: Path) -> tuple[str, int]:
    info = path.stat()
    return pwd.getpwuid(info.st_uid).pw_name, stat.S_IMODE(info.st_mode)


def process_uid(pid: int) -> int:
    """The real user id of a running process (from ``/proc/<pid>/status``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    msg = f"no Uid line in /proc/{pid}/status"
    raise AssertionError(msg)


def process_environ(pid: int) -> bytes:
    """A process's environment as the kernel holds it (``/proc/<pid>/environ``)."""
    return Path(f"/proc/{pid}/environ").read_bytes()


def write_for(user: str, relative: str, text: str) -> Path:
    """A file in ``user``'s home, owned by ``user`` (mode 0600), as if they had saved it."""
    path = home_of(user) / relative
    path.write_text(text, encoding="utf-8")
    owner = pwd.getpwnam(user)
    os.chown(path, owner.pw_uid, owner.pw_gid)
    path.chmod(0o600)
    return path
