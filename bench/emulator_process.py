"""The Box emulator in a process of its own, so that its work is not counted as the client's.

``EmulatorProcess`` quacks like ``BoxEmulator`` where the benchmarks need it (``url``,
``endpoints``, ``app``, ``user``, ``authorize``, ``counters``), through the control API and the
consent page over HTTP.
"""

from __future__ import annotations

import json
import select
import subprocess
import sys
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import requests

from box_widget.emulator.consent import consent
from box_widget.endpoints import BoxEndpoints

#: How long the child may take to print its address (seconds).
STARTUP_TIMEOUT = 60.0
#: Start an emulator on a free port, print its URL, app and users as one JSON line, serve.
SERVE = r"""
import json
from box_widget.emulator import BoxEmulator
emu = BoxEmulator()
emu.listen()
print(json.dumps({"url": emu.url, "endpoints": emu.endpoints.to_dict(),
                  "client_id": emu.app.client_id,
                  "client_secret": emu.app.client_secret,
                  "users": [u.id for u in emu.users]}), flush=True)
emu.serve_forever()
"""


@dataclass(frozen=True)
class AppCredentials:
    client_id: str
    client_secret: str


@dataclass(frozen=True)
class UserRef:
    id: str


class EmulatorProcess:
    """``with EmulatorProcess() as emu:`` a seeded emulator in a child process."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> EmulatorProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", SERVE],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        try:
            info = self._announcement()
            self.url: str = info["url"]
            self.endpoints = BoxEndpoints.from_dict(info["endpoints"])
            self.app = AppCredentials(info["client_id"], info["client_secret"])
            self.user = UserRef(info["users"][0])
        except BaseException:
            self.stop()
            raise
        return self

    def _announcement(self) -> dict[str, Any]:
        """The child's first line (its URL, app and users), read within ``STARTUP_TIMEOUT``."""
        assert self.proc is not None
        assert self.proc.stdout is not None
        # Nothing is buffered yet, so the pipe's readiness is the line's (printed and flushed
        # at once, smaller than the pipe's atomic write size).
        ready, _, _ = select.select([self.proc.stdout], [], [], STARTUP_TIMEOUT)
        if not ready:
            msg = f"the emulator process printed nothing in {STARTUP_TIMEOUT:.0f} s"
            raise RuntimeError(msg)
        line = self.proc.stdout.readline()
        if not line:
            msg = "the emulator process exited before it listened"
            raise RuntimeError(msg)
        try:
            info: dict[str, Any] = json.loads(line)
        except ValueError as exc:
            msg = f"the emulator process printed {line[:200]!r} instead of its address"
            raise RuntimeError(msg) from exc
        return info

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    def authorize(self, authorize_url: str, *, user: Any = None, grant: bool = True) -> str:
        """Grant an authorize URL as ``user`` (Ada by default); where Box redirects."""
        return consent(authorize_url, user_id=(user or self.user).id, grant=grant)

    def counters(self) -> dict[str, Any]:
        state: dict[str, Any] = requests.get(f"{self.url}/_emulator/state", timeout=10).json()
        return dict(state["counters"])

    def settings(self, **values: Any) -> None:
        requests.post(f"{self.url}/_emulator/settings", json=values, timeout=10).raise_for_status()
