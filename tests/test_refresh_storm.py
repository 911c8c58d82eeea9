"""Refresh storm: many processes and threads share one connection whose access token lives 2 s.

Every call must succeed, and the emulator must see exactly one refresh per expiry: no refresh
token spent twice (``failed_refreshes``), no refresh while the token still had more than the
client's margin to live (a wasted one, visible in ``refresh_margins``), no token used long after
it expired, and no expiry left without a refresh while calls were running.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet

from box_widget.connection import BoxConnection
from box_widget.emulator import BoxEmulator
from box_widget.keys import load_key
from box_widget.oauth import expiry_margin
from box_widget.vault import Vault

REPO = Path(__file__).resolve().parents[1]
CALLBACK = "http://127.0.0.1:8888/box-widget/oauth2/callback"
NAME = "shared"
LIFETIME = 2  # seconds: the emulator's access-token lifetime in these tests
MARGIN = expiry_margin(LIFETIME)  # the client refreshes this long before expiry: 0.2 s
GENERATION = LIFETIME - MARGIN  # one token generation in use: 1.8 s
#: How much more life than the margin a replaced token may have had and still count as refreshed
#: on time: the client counts a token's lifetime from when it *sent* the token request (so it
#: never believes a token outlives Box's), which on a busy machine makes it refresh up to one
#: token round trip early. A duplicate refresh would show up as a whole generation (~1.8 s), far
#: above this.
SCHEDULING_SLACK = 0.5
#: The oldest an expired token may be when it is finally refreshed.
LATEST = -1.0
PROCESSES, PROCESS_THREADS, PROCESS_SECONDS = 8, 4, 7.5
LOCAL_THREADS, LOCAL_SECONDS = 16, 6.0
READY_TIMEOUT = 20.0
FINISH_TIMEOUT = 20.0  # seconds after the end of the calls

#: One child: import, say "ready", read "<start> <end>" from stdin, then open the shared
#: connection and run ``threads`` threads that call ``users/me`` from ``start`` until ``end``;
#: print one JSON line of counts.
CHILD = r"""
import json, sys, threading, time
from collections import Counter
from box_widget.connection import BoxConnection

threads = int(sys.argv[1])
print("ready", flush=True)
start, end = (float(x) for x in sys.stdin.readline().split())
from_parent = time.time()

lock = threading.Lock()
counts = Counter()
failures = Counter()
users = set()
last_starts = []

def count_401(response, *args, **kwargs):
    if response.status_code == 401:
        with lock:
            counts["unauthorized"] += 1

session = BoxConnection("shared").session
session.hooks["response"].append(count_401)

def work():
    ok = bad = 0
    last = 0.0
    time.sleep(max(0.0, start - time.time()))
    while True:
        now = time.time()
        if now >= end:
            break
        last = now
        try:
            users.add(session.get("users/me").json()["id"])
            ok += 1
        except Exception as exc:
            bad += 1
            with lock:
                failures[f"{type(exc).__name__}: {exc}"[:300]] += 1
    with lock:
        counts["calls"] += ok + bad
        counts["ok"] += ok
        counts["failed"] += bad
        last_starts.append(last)

workers = [threading.Thread(target=work, daemon=True) for _ in range(threads)]
for w in workers:
    w.start()
for w in workers:
    w.join(max(1.0, end - time.time() + 30))
print(json.dumps({"calls": counts["calls"], "ok": counts["ok"], "failed": counts["failed"],
                  "unauthorized": counts["unauthorized"], "failures": dict(failures),
                  "users": sorted(users), "stuck": sum(w.is_alive() for w in workers),
                  "last_start": max(last_starts, default=0.0),
                  "late_start": from_parent - start}), flush=True)
"""


@dataclass
class Tally:
    """What the callers saw, summed over threads and processes."""

    calls: int = 0
    ok: int = 0
    failed: int = 0
    unauthorized: int = 0
    failures: Counter[str] = field(default_factory=Counter)
    users: set[str] = field(default_factory=set)
    last_start: float = 0.0
    #: How long after the common start the slowest child got the start signal (< 0: before).
    late_start: float = float("-inf")

    def add(self, report: dict[str, Any]) -> None:
        self.calls += report["calls"]
        self.ok += report["ok"]
        self.failed += report["failed"]
        self.unauthorized += report["unauthorized"]
        self.failures.update(report["failures"])
        self.users.update(report["users"])
        self.last_start = max(self.last_start, report["last_start"])
        self.late_start = max(self.late_start, report["late_start"])


def shared_env(monkeypatch: pytest.MonkeyPatch, home: Path) -> dict[str, str]:
    """One vault home and one key (BOX_WIDGET_KEY) for this process and its children."""
    key = Fernet.generate_key().decode()
    for name, value in (("BOX_WIDGET_HOME", str(home)), ("BOX_WIDGET_KEYRING", "0"),
                        ("BOX_WIDGET_KEY", key)):
        monkeypatch.setenv(name, value)
    return {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}


def connect(emu: BoxEmulator, home: Path) -> BoxConnection:
    """The shared connection, authorized as Ada; its first token starts living now."""
    conn = BoxConnection(NAME, client_id=emu.app.client_id,
                         client_secret=emu.app.client_secret, redirect_uri=CALLBACK,
                         endpoints=emu.endpoints, home=home)
    conn.complete(emu.authorize(conn.authorization_url()))
    return conn


def check_storm(emu: BoxEmulator, tally: Tally, *, processes: int, threads: int,
                start: float, end: float) -> None:
    """The storm's figures, printed, then the assertions on them."""
    counters = emu.counters()
    margins = list(emu.state.counters.refresh_margins)
    with emu.state.oauth.lock:
        chain = sorted(t.expires_at for t in emu.state.oauth.access_tokens.values()
                       if t.client_id == emu.app.client_id)
    # Each token's refresh point: the moment the client starts treating it as expired. A call
    # that starts after a token's refresh point must refresh it (or adopt its successor), so
    # every token whose refresh point was passed by a call is an expiry the run went through.
    # Allow for the client counting a token's life from when it received it, a bit after the
    # emulator issued it.
    refresh_points = [expires_at - MARGIN for expires_at in chain]
    expiries = sum(p <= tally.last_start - 0.5 for p in refresh_points)
    expiries_at_most = sum(p <= tally.last_start for p in refresh_points)
    duration = tally.last_start - start
    # The emulator counts every /2.0 request: the callers' own, the 401s they resent, and the
    # connect's users/me.
    unauthorized_at_emulator = counters["api_calls"] - 1 - tally.ok - tally.failed
    summary = {
        "processes": processes, "threads": threads, "seconds": round(end - start, 2),
        "calls": tally.calls, "ok": tally.ok, "failures": tally.failed,
        "expiries": expiries if expiries == expiries_at_most else
        f"{expiries}..{expiries_at_most}",
        "refreshes": counters["refreshes"], "failed_refreshes": counters["failed_refreshes"],
        "401s": tally.unauthorized, "401s_at_emulator": unauthorized_at_emulator,
        "api_calls": counters["api_calls"],
        "late_start": round(tally.late_start, 3) if processes > 1 else None,
        "margins": [round(m, 3) for m in margins],
    }
    print(f"\nrefresh storm: {json.dumps(summary)}")

    assert tally.failed == 0, f"failed calls: {dict(tally.failures)}"
    assert tally.ok > 0
    assert tally.users == {emu.user.id}
    assert counters["failed_refreshes"] == 0, "a refresh token was spent twice"
    assert counters["refreshes"] >= 3, "the run did not last 3 expiries"
    assert len(margins) == counters["refreshes"]
    wasted = [m for m in margins if m > MARGIN + SCHEDULING_SLACK]
    assert not wasted, f"refreshes while the token still had this long to live: {wasted}"
    stale = [m for m in margins if m < LATEST]
    assert not stale, f"tokens refreshed this long after they expired: {stale}"
    assert expiries <= counters["refreshes"] <= expiries_at_most, (
        f"{counters['refreshes']} refreshes for {expiries}..{expiries_at_most} expiries")
    assert abs(counters["refreshes"] - duration / GENERATION) <= 1
    assert tally.unauthorized == unauthorized_at_emulator


class Child:
    """One child process running ``script``; it prints "ready", reads one line (the go signal)
    from stdin, and prints its results. Its output is read in threads so that it never blocks."""

    def __init__(self, script: str, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-c", script, *args], env=env, cwd=REPO,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.ready = threading.Event()
        self.lines: list[str] = []
        self.stderr = ""
        self._readers = [threading.Thread(target=self._read_out, daemon=True),
                         threading.Thread(target=self._read_err, daemon=True)]
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
            pytest.fail(f"child {self.proc.pid} did not finish within {timeout:.0f} s")
        for reader in self._readers:
            reader.join(5)
        assert code == 0, f"child {self.proc.pid} exited {code}:\n{self.stderr[-3000:]}"
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
            pytest.fail(f"child {child.proc.pid} was not ready in {READY_TIMEOUT:.0f} s:"
                        f"\n{child.stderr[-3000:]}")


def test_refresh_storm_across_processes(emulator: BoxEmulator, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """8 processes x 4 threads, one connection, ~4 expiries: no failure, one refresh each."""
    emu = emulator
    emu.settings.access_token_lifetime = LIFETIME
    home = tmp_path / "home"
    env = shared_env(monkeypatch, home)
    children: list[Child] = []
    try:
        children = [Child(CHILD, [str(PROCESS_THREADS)], env) for _ in range(PROCESSES)]
        wait_ready(children)
        connect(emu, home)  # the first token lives from now on
        start = time.time() + 0.3
        end = start + PROCESS_SECONDS
        for child in children:
            child.go(f"{start!r} {end!r}")
        tally = Tally()
        for child in children:
            lines = child.finish(timeout=max(0.0, end - time.time()) + FINISH_TIMEOUT)
            assert len(lines) == 1, f"child output: {lines!r}\n{child.stderr[-3000:]}"
            report = json.loads(lines[0])
            assert report["stuck"] == 0, "a calling thread did not finish"
            tally.add(report)
    finally:
        for child in children:
            child.kill()
    check_storm(emu, tally, processes=PROCESSES, threads=PROCESS_THREADS, start=start, end=end)


def test_refresh_storm_in_one_process(emulator: BoxEmulator, tmp_path: Path,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """16 threads of this process on one session, ~3 expiries: the same guarantees."""
    emu = emulator
    emu.settings.access_token_lifetime = LIFETIME
    home = tmp_path / "home"
    shared_env(monkeypatch, home)
    conn = connect(emu, home)
    session = conn.session
    lock = threading.Lock()
    tally = Tally()

    def count_401(response: Any, *args: Any, **kwargs: Any) -> None:
        if response.status_code == 401:
            with lock:
                tally.unauthorized += 1

    session.hooks["response"].append(count_401)
    start = time.time() + 0.1
    end = start + LOCAL_SECONDS

    def work() -> None:
        ok = bad = 0
        last = 0.0
        time.sleep(max(0.0, start - time.time()))
        while (now := time.time()) < end:
            last = now
            try:
                user = session.get("users/me").json()["id"]
                ok += 1
            except Exception as exc:
                bad += 1
                with lock:
                    tally.failures[f"{type(exc).__name__}: {exc}"[:300]] += 1
            else:
                with lock:
                    tally.users.add(user)
        with lock:
            tally.calls += ok + bad
            tally.ok += ok
            tally.failed += bad
            tally.last_start = max(tally.last_start, last)

    workers = [threading.Thread(target=work, daemon=True) for _ in range(LOCAL_THREADS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(max(1.0, end - time.time()) + 30)
    assert not any(w.is_alive() for w in workers), "a calling thread did not finish"
    check_storm(emu, tally, processes=1, threads=LOCAL_THREADS, start=start, end=end)


#: A child for the key race: wait for the common start, open the vault (making the key file if
#: there is none), save a record of its own, and print which key it used.
KEY_CHILD = r"""
import hashlib, sys, time
from pathlib import Path
from box_widget.keys import load_key
from box_widget.vault import Vault

home, index = Path(sys.argv[1]), sys.argv[2]
print("ready", flush=True)
start = float(sys.stdin.readline())
time.sleep(max(0.0, start - time.time()))
vault = Vault(home)
vault.save(f"k{index}", {"index": index})
key, source = load_key(home)
print(source, hashlib.sha256(key).hexdigest(), flush=True)
"""


@pytest.mark.parametrize("round_", range(3))
def test_key_file_is_made_once_by_racing_processes(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   round_: int) -> None:
    """Without BOX_WIDGET_KEY, 8 processes opening a new vault at once agree on one key file."""
    home = tmp_path / "home"
    monkeypatch.delenv("BOX_WIDGET_KEY", raising=False)
    monkeypatch.delenv("BOX_WIDGET_HOME", raising=False)
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    children: list[Child] = []
    try:
        children = [Child(KEY_CHILD, [str(home), str(i)], env) for i in range(PROCESSES)]
        wait_ready(children)
        start = time.time() + 0.3
        for child in children:
            child.go(repr(start))
        outputs = []
        for child in children:
            lines = child.finish(timeout=max(0.0, start - time.time()) + FINISH_TIMEOUT)
            assert len(lines) == 1, f"child output: {lines!r}\n{child.stderr[-3000:]}"
            outputs.append(lines[0].split())
    finally:
        for child in children:
            child.kill()
    assert {source for source, _ in outputs} == {"file"}
    assert len({digest for _, digest in outputs}) == 1, "the processes used different keys"
    assert not [p.name for p in home.iterdir() if p.name.endswith(".tmp")]
    key, source = load_key(home)
    assert source == "file"
    assert hashlib.sha256(key).hexdigest() == outputs[0][1]
    vault = Vault(home)
    assert sorted(vault.names()) == sorted(f"k{i}" for i in range(PROCESSES))
    for index in range(PROCESSES):
        assert vault.load(f"k{index}") == {"index": str(index)}


@pytest.mark.parametrize("fraction", [0.3, 0.7])
def test_token_expiry_is_counted_to_the_fraction_of_a_second(
        emulator: BoxEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        fraction: float) -> None:
    """The saved ``expires_at`` is when Box's token really expires (to a few ms), whatever the
    fraction of the second the token arrived at: with a 2 s token and a 0.2 s margin, whole
    seconds would refresh up to 0.5 s early (a wasted refresh) or late (a 401 for every caller)."""
    emu = emulator
    emu.settings.access_token_lifetime = LIFETIME
    home = tmp_path / "home"
    shared_env(monkeypatch, home)
    conn = BoxConnection(NAME, client_id=emu.app.client_id,
                         client_secret=emu.app.client_secret, redirect_uri=CALLBACK,
                         endpoints=emu.endpoints, home=home)
    location = emu.authorize(conn.authorization_url())
    time.sleep((fraction - time.time() % 1) % 1)  # receive the token at .3 or .7 of a second
    conn.complete(location)
    saved = conn.vault.load(NAME)
    assert saved is not None
    issued = emu.state.oauth.access_tokens[saved["token"]["access_token"]]
    error = saved["token"]["expires_at"] - issued.expires_at
    print(f"\nexpiry error at .{fraction * 10:.0f} s: {error:+.3f} s")
    assert abs(error) <= 0.1, (
        f"the saved expiry is {error:+.3f} s off the token's real expiry "
        f"(saved {saved['token']['expires_at']!r}, Box's {issued.expires_at!r})")
