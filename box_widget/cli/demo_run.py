"""One run of ``box-widget demo``: the Box emulator and JupyterLab on loopback, getting-started
open.

The emulator runs in this process (a thread); JupyterLab runs as a child process in a session
of its own, so that Ctrl-C reaches this process only, which then stops Lab's kernels, Lab and
the emulator, in that order, by their process ids. Tokens go to a throwaway vault (a temporary
folder, deleted on exit), never to the user's own. How JupyterLab is set up, started and
stopped is ``demo_lab``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import webbrowser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from ..emulator import BoxEmulator
from ..errors import BoxWidgetError, ConfigurationError
from ..protocol import CALLBACK_PATH
from .demo import DemoOptions
from .demo_lab import (
    FIRST_NOTEBOOK,
    STOP_TIMEOUT,
    VAULT,
    choose_port,
    copy_notebooks,
    lab_command,
    lab_environment,
    start_watchdog,
    stop_lab,
)
from .demo_scratch import LOG_FILE, log_tail, make_scratch

STATUS_PATH = "box-widget/api/status"
START_TIMEOUT = 90.0  # seconds for JupyterLab to answer (a cold start on a slow laptop)
#: What stops the demo: Ctrl-C, a polite kill, and the terminal closing (JupyterLab runs in a
#: session of its own, so without this a closed terminal would leave it behind).
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Demo:
    """One run of ``box-widget demo``: start, print the address, wait for Ctrl-C, stop."""

    def __init__(self, options: DemoOptions) -> None:
        self.options = options
        self.folder = options.folder.expanduser().resolve()
        self.stopping = threading.Event()
        self.stopped_by = ""  # the signal that asked the demo to stop, if one did
        self.emulator: BoxEmulator | None = None
        self.lab: subprocess.Popen[bytes] | None = None
        self.watchdog: subprocess.Popen[bytes] | None = None  # ends Lab if this process dies
        self.scratch: Path | None = None  # all the demo's files (demo_scratch); deleted on exit
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
        # A signal ignored when the demo started stays ignored (as Python does for SIGINT):
        # `nohup box-widget demo &` must outlive its terminal.
        previous = {
            sig: signal.signal(sig, self._ask_to_stop)
            for sig in STOP_SIGNALS
            if signal.getsignal(sig) is not signal.SIG_IGN
        }
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

    def _ask_to_stop(self, signum: int, _frame: Any) -> None:
        self.stopped_by = self.stopped_by or signal.Signals(signum).name
        self.stopping.set()

    def _start(self) -> None:
        self.copied = copy_notebooks(self.folder)
        self.scratch = make_scratch()
        self.home = self.scratch / VAULT
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
        env = lab_environment(self.emulator, self.scratch, self.port, self.token)
        command = lab_command(self.port, self.folder, self.scratch)
        # Lab's and its kernels' messages go to a log, not the terminal: the person sees the
        # address and how to stop, not warnings they cannot act on (the printed block says
        # where the log is; a Lab that stops shows its last lines).
        with (self.scratch / LOG_FILE).open("wb") as log:
            self.lab = subprocess.Popen(  # noqa: S603 - this Python, arguments built here
                command,
                env=env,
                cwd=self.folder,
                stdin=subprocess.DEVNULL,
                stdout=log,
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
                    f"JupyterLab stopped as it started (exit code {self.lab.returncode}). "
                    f"The end of its log:\n{self._log_tail()}"
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
        assert self.scratch is not None
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
            f"  Log:        JupyterLab's messages go to {self.scratch / LOG_FILE}",
            "              (deleted with the vault; shown here if JupyterLab stops).",
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
                    f"the emulator. The end of its log:\n{self._log_tail()}",
                    file=sys.stderr,
                    flush=True,
                )
                return 1
        return 0

    def _log_tail(self) -> str:
        return log_tail(self.scratch) if self.scratch is not None else ""

    # --- stopping --------------------------------------------------------------------------------
    def _stop(self) -> None:
        """Stop the kernels (through Lab's API), Lab, anything Lab left, then the emulator."""
        for sig in STOP_SIGNALS:  # a second Ctrl-C must not cut this short
            signal.signal(sig, signal.SIG_IGN)
        if self.lab is not None:
            why = f" ({self.stopped_by} received)" if self.stopped_by else ""
            print(f"Stopping JupyterLab, its kernels and the Box emulator{why}...", flush=True)
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
