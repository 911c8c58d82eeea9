"""Running a refresh storm: child processes of ``storm_worker.py`` hammering one connection whose
access token lives a few seconds, and the figures the emulator saw (shared by
``test_refresh_storm.py``, which asserts on them, and ``bench/storm.py``, which reports them)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from box_widget.connection import BoxConnection
from box_widget.emulator import BoxEmulator
from support import emulator_flow

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).resolve().with_name("storm_worker.py")
NAME = "shared"
READY_TIMEOUT = 20.0
GRACE = 30.0  # seconds a call started before the end may go on (storm_worker's default)
FINISH_TIMEOUT = 10.0  # seconds more for a worker to report and exit
START_DELAY = 0.3  # seconds between the go signal and the common start


class StormError(AssertionError):
    """A child that did not get ready, did not finish, or failed."""


@dataclass
class Tally:
    """What the callers saw, summed over threads and processes."""

    calls: int = 0
    ok: int = 0
    failed: int = 0
    #: 401 answers the callers saw (None: the client cannot tell, e.g. the official SDK).
    unauthorized: int | None = 0
    failures: Counter[str] = field(default_factory=Counter)
    users: set[str] = field(default_factory=set)
    last_start: float = 0.0
    #: How long after the common start the slowest child got the start signal (< 0: before).
    late_start: float = float("-inf")

    def add(self, report: dict[str, Any]) -> None:
        self.calls += report["calls"]
        self.ok += report["ok"]
        self.failed += report["failed"]
        if report["unauthorized"] is None or self.unauthorized is None:
            self.unauthorized = None
        else:
            self.unauthorized += report["unauthorized"]
        self.failures.update(report["failures"])
        self.users.update(report["users"])
        self.last_start = max(self.last_start, report["last_start"])
        self.late_start = max(self.late_start, report["late_start"])


def vault_env(home: Path) -> dict[str, str]:
    """One vault home and a new key for a process and its children, no OS keyring."""
    return {
        "BOX_WIDGET_HOME": str(home),
        "BOX_WIDGET_KEYRING": "0",
        "BOX_WIDGET_KEY": Fernet.generate_key().decode(),
    }


def connect(emu: BoxEmulator, home: Path) -> BoxConnection:
    """The shared connection, authorized as Ada; its first token starts living now."""
    return emulator_flow.connect(emu, home, NAME)


class Child:
    """One child process running ``script`` (a path, or ``-c`` source); it prints "ready",
    reads one line (the go signal) from stdin, and prints its results. Its output is read in
    threads so that it never blocks."""

    def __init__(self, script: str | Path, args: list[str], env: dict[str, str]) -> None:
        command = [str(script)] if isinstance(script, Path) else ["-c", script]
        self.proc = subprocess.Popen(
            [sys.executable, *command, *args],
            env=env,
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.ready = threading.Event()
        self.lines: list[str] = []
        self.stderr = ""
        self._readers = [
            threading.Thread(target=self._read_out, daemon=True),
            threading.Thread(target=self._read_err, daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _read_out(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.strip() == "ready":
                self.ready.set()
            elif line.strip():
                self.lines.append(line.strip())

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def go(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.close()

    def finish(self, timeout: float) -> list[str]:
        """The lines it printed after "ready", once it exited 0 within ``timeout`` seconds."""
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise StormError(
                f"child {self.proc.pid} did not finish within {timeout:.0f} s"
            ) from None
        for reader in self._readers:
            reader.join(5)
        if code != 0:
            raise StormError(f"child {self.proc.pid} exited {code}:\n{self.stderr[-3000:]}")
        return self.lines

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None and not pipe.closed:
                with contextlib.suppress(OSError):
                    pipe.close()


def wait_ready(children: list[Child]) -> None:
    """Until every child has imported what it needs and waits for the go signal."""
    deadline = time.monotonic() + READY_TIMEOUT
    for child in children:
        if not child.ready.wait(max(0.0, deadline - time.monotonic())):
            raise StormError(
                f"child {child.proc.pid} was not ready in {READY_TIMEOUT:.0f} s:"
                f"\n{child.stderr[-3000:]}"
            )


def storm(
    config: dict[str, Any],
    processes: int,
    env: dict[str, str],
    seconds: float,
    prepare: Callable[[], object],
) -> tuple[Tally, float, float]:
    """Start ``processes`` workers (``config``: see ``storm_worker.py``), run ``prepare`` (the
    sign-in: the first token lives from then on) once they are ready, let them call for
    ``seconds``; what they saw, the common start and the end (epoch seconds)."""
    children: list[Child] = []
    try:
        children = [Child(WORKER, [json.dumps(config)], env) for _ in range(processes)]
        wait_ready(children)
        prepare()
        start = time.time() + START_DELAY
        end = start + seconds
        for child in children:
            child.go(f"{start!r} {end!r}")
        tally = Tally()
        for child in children:
            lines = child.finish(
                timeout=max(0.0, end - time.time()) + config.get("grace", GRACE) + FINISH_TIMEOUT
            )
            if len(lines) != 1:
                raise StormError(f"child output: {lines!r}\n{child.stderr[-3000:]}")
            report = json.loads(lines[0])
            if report["stuck"]:
                raise StormError("a calling thread did not finish")
            tally.add(report)
    finally:
        for child in children:
            child.kill()
    return tally, start, end


def figures(
    emu: BoxEmulator,
    tally: Tally,
    *,
    margin: float,
    start: float,
    end: float,
    processes: int,
    threads: int,
    setup_calls: int,
) -> dict[str, Any]:
    """What the emulator and the callers saw in a storm.

    ``margin``: how long before expiry the client refreshes (0 for one that waits for a 401);
    ``setup_calls``: API calls made before the storm (e.g. the sign-in's ``users/me``).
    """
    counters = emu.counters()
    margins = list(emu.state.counters.refresh_margins)
    with emu.state.oauth.lock:
        chain = sorted(
            t.expires_at
            for t in emu.state.oauth.access_tokens.values()
            if t.client_id == emu.app.client_id
        )
    # Each token's refresh point: the moment the client starts treating it as expired. A call
    # that starts after a token's refresh point must refresh it (or adopt its successor), so
    # every token whose refresh point was passed by a call is an expiry the run went through.
    # Allow for the client counting a token's life from when it received it, a bit after the
    # emulator issued it.
    refresh_points = [expires_at - margin for expires_at in chain]
    expiries = sum(p <= tally.last_start - 0.5 for p in refresh_points)
    expiries_at_most = sum(p <= tally.last_start for p in refresh_points)
    # The emulator counts every /2.0 request: the callers' own, the 401s they resent, and the
    # set-up's; every call that did not succeed got at least one 401 here.
    unauthorized_at_emulator = counters["api_calls"] - setup_calls - tally.ok - tally.failed
    return {
        "processes": processes,
        "threads": threads,
        "seconds": round(end - start, 2),
        "duration": tally.last_start - start,
        "calls": tally.calls,
        "ok": tally.ok,
        "failures": tally.failed,
        "failure_kinds": dict(tally.failures.most_common(5)),
        "expiries": expiries,
        "expiries_at_most": expiries_at_most,
        "refreshes": counters["refreshes"],
        "failed_refreshes": counters["failed_refreshes"],
        "401s": tally.unauthorized,
        "401s_at_emulator": unauthorized_at_emulator,
        "api_calls": counters["api_calls"],
        "late_start": round(tally.late_start, 3) if processes > 1 else None,
        "margins": [round(m, 3) for m in margins],
        "users": sorted(tally.users),
    }
