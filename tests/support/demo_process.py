"""``box-widget demo`` as a newcomer runs it: the README's main-job command, in a process.

The command is read from the README's first bash block (line 1, its last ``&&`` step), so the
tests run exactly what the README tells a newcomer to run, adding only flags such as
``--no-browser``. The process is stopped by its pid, and everything it started is checked gone.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest
import requests

from .terminal_signals import as_typed

REPO = Path(__file__).resolve().parents[2]
START_TIMEOUT = 90.0
STOP_TIMEOUT = 45.0
URL_LINE = re.compile(r"Open this address: (http://127\.0\.0\.1:(\d+)/\S+\?token=(\w+))")
EMULATOR_LINE = re.compile(r"the emulator at (http://127\.0\.0\.1:\d+);")
VAULT_LINE = re.compile(r"a demo vault in (\S+), deleted")


def readme_main_command() -> str:
    """Line 1 of the README's first ```bash block: the newcomer's main-job command."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"^```bash\n(.*?)^```$", text, re.S | re.M)
    assert block, "the README has no ```bash block"
    return block[1].splitlines()[0]


#: The installs the demo tests run the demo from, and the variable naming each one's venv:
#: ``editable``, the README's main-job install (``pip install -e ".[demo]"``); ``wheel``, the
#: built wheel with the ``demo`` extra (a non-editable install, as users get from a registry).
INSTALLS = {"editable": "BOX_WIDGET_DEMO_VENV", "wheel": "BOX_WIDGET_WHEEL_VENV"}


def demo_prefix(install: str = "editable") -> Path:
    """The environment the demo runs from: in CI, the fresh one ``.ci/run`` made for ``install``
    (``$BOX_WIDGET_DEMO_VENV``: only the README's main-job install, so a dependency missing from
    the ``demo`` extra fails the demo tests; ``$BOX_WIDGET_WHEEL_VENV``: the wheel the release
    check built); elsewhere, this test environment for ``editable``, and ``wheel`` is skipped
    unless its variable is set."""
    variable = INSTALLS[install]
    fresh = os.environ.get(variable)
    if fresh:
        return Path(fresh)
    if os.environ.get("CI"):
        pytest.fail(f"{variable} is not set: .ci/run makes the {install} install's fresh venv")
    if install != "editable":
        pytest.skip(
            f"{variable} is not set (a venv with the built wheel and its demo extra, as "
            ".ci/run makes it: python -m build --wheel; python3 -m venv .venv-wheel; "
            ".venv-wheel/bin/pip install 'dist/<the wheel>[demo]')"
        )
    return Path(sys.prefix)


def demo_command(*flags: str, prefix: Path | None = None) -> list[str]:
    """The run step of the README's main-job command, with the demo environment's box-widget
    (``prefix``, default: ``demo_prefix()``)."""
    run_step = readme_main_command().split("&&")[-1].strip()
    words = shlex.split(run_step)
    assert words[:2] == [".venv/bin/box-widget", "demo"], run_step
    script = (prefix or demo_prefix()) / "bin" / "box-widget"
    return [str(script), *words[1:], *flags]


#: Run in a demo kernel: where its Python, box-widget and the form's JavaScript come from.
INSTALL_PROBE = """
import json, sys, box_widget
from box_widget.assets import asset
print(json.dumps({"prefix": sys.prefix, "package": box_widget.__file__,
                  "form": str(asset("form.js"))}))
"""


def check_install(demo: DemoProcess, install: str, prefix: Path, probe: dict[str, str]) -> None:
    """The demo runs from ``prefix`` as ``install`` put it there: its Jupyter server enables
    box-widget's extension through ``prefix``'s own configuration and loaded it (the status API
    answers), and the kernel (``probe``: ``INSTALL_PROBE``'s answer) runs ``prefix``'s Python
    with box-widget and the form's JavaScript from the checkout (``editable``) or from inside
    the installed package, not the checkout (``wheel``)."""
    enabling = prefix / "etc" / "jupyter" / "jupyter_server_config.d" / "box_widget.json"
    assert json.loads(enabling.read_text())["ServerApp"]["jpserver_extensions"]["box_widget"]
    assert demo.api("GET", "box-widget/api/status").status_code == 200
    assert Path(probe["prefix"]).resolve() == prefix.resolve()
    package, form = Path(probe["package"]).resolve(), Path(probe["form"]).resolve()
    checkout = (REPO / "labextension" / "form.js").resolve()
    kind = "an editable install" if editable(prefix) else "not an editable install"
    assert editable(prefix) == (install == "editable"), f"box-widget in {prefix} is {kind}"
    if install == "editable":
        assert form == checkout, f"an editable install's form should be the checkout's: {form}"
        return
    assert package.is_relative_to(prefix.resolve()), f"box_widget imported from {package}"
    assert form == package.parent / "labextension" / "form.js", f"the form's file is {form}"
    assert form != checkout
    assert form.read_bytes() == checkout.read_bytes()  # the wheel carries the checkout's form


def editable(prefix: Path) -> bool:
    """Whether box-widget is installed editable in ``prefix`` (a ``direct_url.json`` saying so)."""
    for record in prefix.glob("lib/python*/site-packages/box_widget-*.dist-info/direct_url.json"):
        return bool(json.loads(record.read_text()).get("dir_info", {}).get("editable"))
    return False


def demo_env(tmp: Path) -> dict[str, str]:
    """This environment without BOX_* settings, with Jupyter's folders in ``tmp`` and
    ``window.jupyterapp`` exposed for the browser test (user configuration, as anyone's; the
    demo's command line stays as the README has it, and Lab's settings are the demo's own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOX_")}
    cfg = tmp / "jupyter-config"
    cfg.mkdir(parents=True)
    (cfg / "jupyter_lab_config.json").write_text(
        json.dumps({"LabApp": {"expose_app_in_browser": True}})
    )
    env.update(
        JUPYTER_CONFIG_DIR=str(cfg),
        JUPYTER_DATA_DIR=str(tmp / "jupyter-data"),
        JUPYTER_RUNTIME_DIR=str(tmp / "jupyter-runtime"),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONUNBUFFERED="1",
    )
    return env


@dataclass
class DemoProcess:
    """A running ``box-widget demo`` and what it printed."""

    proc: subprocess.Popen[str]
    cwd: Path
    log: Path
    lines: list[str] = field(default_factory=list)
    _queue: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, pattern: re.Pattern[str], timeout: float = START_TIMEOUT) -> re.Match[str]:
        """The first printed line matching ``pattern`` (earlier lines are kept in ``lines``)."""
        for line in self.lines:
            if found := pattern.search(line):
                return found
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            self.lines.append(line)
            if found := pattern.search(line):
                return found
        pytest.fail(
            f"box-widget demo never printed {pattern.pattern!r}; it printed:\n"
            f"{''.join(self.lines)}\nits log:\n{self.log_tail()}"
        )

    def rest(self) -> str:
        """Everything printed after what was read (once the process has exited)."""
        self.proc.wait(5)
        while (line := self._queue.get(timeout=5)) is not None:
            self.lines.append(line)
        return "".join(self.lines)

    def transcript(self) -> str:
        """Everything printed so far and the log's tail (JupyterLab's messages, the watchdog's),
        for a failure report: whether Lab stopped, and who stopped it."""
        with contextlib.suppress(queue.Empty):
            while (line := self._queue.get_nowait()) is not None:
                self.lines.append(line)
        state = "running" if self.proc.poll() is None else f"exited {self.proc.returncode}"
        return (
            f"box-widget demo ({state}) printed:\n{''.join(self.lines)}\n"
            f"its log:\n{self.log_tail()}"
        )

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])

    @property
    def url(self) -> str:
        return self.wait_for(URL_LINE)[1]

    @property
    def port(self) -> int:
        return int(self.wait_for(URL_LINE)[2])

    @property
    def token(self) -> str:
        return self.wait_for(URL_LINE)[3]

    @property
    def emulator_url(self) -> str:
        return self.wait_for(EMULATOR_LINE)[1]

    @property
    def vault(self) -> Path:
        return Path(self.wait_for(VAULT_LINE)[1])

    def api(self, method: str, path: str, json: object = None) -> requests.Response:
        return requests.request(
            method,
            f"http://127.0.0.1:{self.port}/{path}",
            timeout=15,
            headers={"Authorization": f"token {self.token}"},
            json=json,
        )

    def descendants(self) -> list[psutil.Process]:
        """What the demo started and is still running (not the zombies nobody reaped yet)."""
        return [
            p for p in psutil.Process(self.proc.pid).children(recursive=True) if command_line(p)
        ]

    def stop(self, signum: signal.Signals) -> int:
        """Send ``signum`` to the demo (by its pid) and wait for it to exit."""
        self.proc.send_signal(signum)
        return self.proc.wait(STOP_TIMEOUT)

    def kill(self) -> None:
        """Teardown after a failure: the demo and anything it started, by their pids."""
        with contextlib.suppress(psutil.Error):
            for child in self.descendants():
                with contextlib.suppress(psutil.Error):
                    child.kill()
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def command_line(process: psutil.Process) -> str:
    """The process's command line, or "" once it has exited (or is a zombie)."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def start_demo(
    cwd: Path,
    *flags: str,
    prefix: Path | None = None,
    ignore: tuple[int, ...] = (),
    env: dict[str, str] | None = None,
) -> DemoProcess:
    """Run the README's demo command in ``cwd`` (with ``flags``; from ``prefix``, default
    ``demo_prefix()``) until it prints its address; ``ignore``: signals the demo starts with
    ignored (as under ``nohup``); ``env``: variables to set on top of ``demo_env``'s."""
    log = cwd / "demo-stderr.log"
    with log.open("w") as err:
        proc = subprocess.Popen(
            demo_command(*flags, prefix=prefix),
            cwd=cwd,
            env={**demo_env(cwd), **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            preexec_fn=as_typed(ignore),
        )
    demo = DemoProcess(proc, cwd, log)
    threading.Thread(target=demo._read, daemon=True).start()
    try:
        demo.wait_for(URL_LINE)
    except BaseException:
        demo.kill()
        raise
    return demo


def refuses(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:``port`` any more."""
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex(("127.0.0.1", port)) != 0


def check_all_gone(demo: DemoProcess, started: list[psutil.Process], wait: float = 10) -> None:
    """JupyterLab, its kernels and the emulator are gone (within ``wait`` seconds), and so is
    the demo vault."""
    _, alive = psutil.wait_procs(started, timeout=wait)
    assert alive == [], f"left running: {[command_line(p) for p in alive]}"
    assert refuses(demo.port), "JupyterLab still answers"
    emulator_port = int(demo.emulator_url.rsplit(":", 1)[1])
    assert refuses(emulator_port), "the emulator still answers"
    assert not demo.vault.exists(), "the demo vault was left behind"
