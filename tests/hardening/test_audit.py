"""The audit trail: who connected, refreshed, revoked or broke a shared connection, and when.

Several processes share one connection whose access token lives 1 second: every refresh at Box
shows up once in the trail, with the process that did it, in time order. Then one process
revokes the connection from the command line and another finds it gone: ``box-widget audit``
answers "who broke my token". The trail holds no token material, is private (0600), survives
concurrent writers without a torn line, and is capped by rotation. Every failed connect is in it
once, under the connection's name: Box's refusal (the user declined), a sign-in with no client
secret anywhere, tokens Box issued that a full disk kept the vault from saving (said to be
dropped), and a client-credentials connect Box refused or the vault could not save.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from contextlib import ExitStack
from pathlib import Path

import pytest
from support.connection_checks import connect, raises_clean
from support.emulator_flow import new_connection
from support.secret_scan import emulator_secrets, scan
from support.vault_checks import child, child_env, finish, read_line
from test_server import Box

from box_widget import (
    AuthorizationError,
    BoxConnection,
    BoxWidgetError,
    ReauthorizationRequired,
    audit,
)
from box_widget.authorize import TOKENS_DROPPED
from box_widget.emulator import BoxEmulator
from box_widget.errors import VaultWriteError
from box_widget.oauth import authorization_url, new_state

from .test_vault_faults import FullDisk

NAME = "shared"
KERNEL = r"""
import sys, time
from box_widget import BoxConnection
conn = BoxConnection(sys.argv[1], home=sys.argv[2])
print("ready", flush=True)
end = time.monotonic() + float(sys.argv[3])
while time.monotonic() < end:
    conn.test_connection()
    time.sleep(0.05)
"""


def cli(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "box_widget.cli", *args],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_trail_says_which_process_refreshed_and_who_revoked(
    emulator: BoxEmulator, home: Path
) -> None:
    emu = emulator
    emu.settings.access_token_lifetime = 1
    conn = connect(emu, home, NAME)
    conn.test_connection()  # this process uses it too (with the token it got: no refresh)
    with ExitStack() as stack:
        kernels = [
            stack.enter_context(child(KERNEL, NAME, str(home), "3", env=child_env()))
            for _ in range(3)
        ]
        for kernel in kernels:
            assert read_line(kernel, 30) == "ready"
        for kernel in kernels:
            finish(kernel, 60)
        pids = {kernel.pid for kernel in kernels}

    events = conn.audit_log()
    refreshes = [e for e in events if e["event"] == "refresh"]
    assert events[0]["event"] == "connect"
    assert events[0]["pid"] == os.getpid()
    assert len(refreshes) == emu.counters()["refreshes"] >= 2
    assert {e["pid"] for e in refreshes} <= pids
    times = [e["time"] for e in events]
    assert times == sorted(times)
    assert all(e["name"] == NAME for e in events)

    # one process revokes from a terminal; this one then finds the connection gone
    assert "Revoked" in cli("revoke", NAME, "--home", str(home))
    emu.clock.advance(3)
    with raises_clean(emu, ReauthorizationRequired, match="was disconnected"):
        conn.test_connection()
    shown = cli("audit", NAME, "--home", str(home)).splitlines()
    revoke = next(line for line in shown if " revoke " in line)
    broken = shown[-1]
    assert "reauthorization-required" in broken
    assert f"pid {os.getpid()}" in broken
    assert f"pid {os.getpid()}" not in revoke  # another process revoked it: the CLI
    assert "at_box=True" in revoke
    assert len(shown) == len(events) + 2

    path = audit.audit_path(home)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert scan(emulator_secrets(emu) | {emu.app.client_secret}, paths=[path]) == {}
    print(
        f"\naudit: {len(refreshes)} refreshes by {len({e['pid'] for e in refreshes})} of "
        f"{len(pids)} processes, then a revoke (CLI) and a reauthorization-required; "
        f"{len(shown)} lines, no secret"
    )


def test_concurrent_writers_never_tear_a_line_and_rotation_caps_the_size(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "MAX_BYTES", 20_000)
    home.mkdir(mode=0o700)

    def write(n: int) -> None:
        for i in range(150):
            audit.record(home, f"c{n}", "refresh", note="x" * (i % 40))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    current, rotated = audit.audit_path(home), home / "audit.log.1"
    assert rotated.exists()
    assert current.stat().st_size < 20_000 + 1024
    for path in (current, rotated):
        for line in path.read_text().splitlines():
            assert json.loads(line)["event"] == "refresh"
    kept = audit.read(home)
    assert 0 < len(kept) < 600  # the oldest went with the second rotation
    assert audit.read(home, "c1") == [e for e in kept if e["name"] == "c1"]


def test_an_unwritable_trail_never_breaks_the_operation(
    emulator: BoxEmulator, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    connect(emulator, home, NAME)
    path = audit.audit_path(home)
    path.unlink()
    path.mkdir()  # a folder where the file should be: every append fails
    conn = connect(emulator, home, NAME)
    assert conn.test_connection()["login"] == "ada@example.com"
    assert "could not write its audit trail" in caplog.text
    assert conn.audit_log() == []


# --- failed connects -------------------------------------------------------------------------


def failures(home: Path, name: str) -> list[dict[str, object]]:
    """A connection's audit events, without time, host and process id."""
    return [
        {k: v for k, v in event.items() if k not in {"time", "host", "pid", "name"}}
        for event in audit.read(home, name)
    ]


async def test_every_failed_sign_in_at_the_callback_is_audited_once(
    box: Box, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Box's refusal: the user declined
    page = await box.callback(box.consent(box.start("declined"), grant=False))
    assert page.status == 400
    assert failures(box.home, "declined") == [
        {"event": "connect-failed", "kind": "oauth", "step": "authorize", "error": "access_denied"}
    ]

    # a sign-in started for the server to fill in its secret, and the server has none
    state = new_state()
    box.vault.add_pending(
        state,
        {
            "name": "no-secret",
            "client_id": box.app.client_id,
            "client_secret": None,
            "redirect_uri": box.redirect_uri,
            "endpoints": box.emu.endpoints.to_dict(),
        },
    )
    url = authorization_url(box.emu.endpoints, box.app.client_id, box.redirect_uri, state)
    page = await box.callback(box.consent(url))
    assert page.status == 400
    assert failures(box.home, "no-secret") == [
        {
            "event": "connect-failed",
            "kind": "oauth",
            "step": "exchange",
            "error": "no client secret",
        }
    ]

    # Box issued tokens, and a full disk kept the vault from saving them
    location = box.consent(box.start("full"))
    disk = FullDisk(monkeypatch, box.home, "write")
    page = await box.callback(location)
    disk.free()
    assert page.status == 503
    assert box.emu.counters()["grants"]["authorization_code"] == 1
    assert box.vault.names() == []
    assert failures(box.home, "full") == [
        {
            "event": "connect-failed",
            "kind": "oauth",
            "step": "save",
            "error": "VaultWriteError",
            "tokens": TOKENS_DROPPED,
        }
    ]
    assert "dropped" in TOKENS_DROPPED
    assert (
        scan(
            emulator_secrets(box.emu) | {box.app.client_secret}, paths=[audit.audit_path(box.home)]
        )
        == {}
    )


def test_a_sign_in_declined_in_a_kernel_is_audited_once(emulator: BoxEmulator, home: Path) -> None:
    conn = new_connection(emulator, home, NAME)
    location = emulator.authorize(conn.authorization_url(), grant=False)
    with raises_clean(emulator, AuthorizationError, match="declined"):
        conn.complete(location)
    assert failures(home, NAME) == [
        {"event": "connect-failed", "kind": "oauth", "step": "authorize", "error": "access_denied"}
    ]


def test_failed_client_credentials_connects_are_audited(
    emulator: BoxEmulator, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = emulator

    def robot(secret: str) -> BoxConnection:
        return BoxConnection.from_client_credentials(
            "robot",
            client_id=emu.app.client_id,
            client_secret=secret,
            subject_type="enterprise",
            subject_id=emu.app.enterprise_id,
            endpoints=emu.endpoints,
            home=home,
        )

    with raises_clean(emu, BoxWidgetError, match="Grant credentials are invalid"):
        robot("wrong-secret-" + "w" * 20)
    emu.inject_fault(status=500, path="/oauth2/token")
    with raises_clean(emu, BoxWidgetError, match="HTTP 500"):
        robot(emu.app.client_secret)
    disk = FullDisk(monkeypatch, home, "write")
    with raises_clean(emu, VaultWriteError):
        robot(emu.app.client_secret)
    disk.free()
    assert failures(home, "robot") == [
        {
            "event": "connect-failed",
            "kind": "client_credentials",
            "step": "token",
            "error": "invalid_grant",
        },
        {
            "event": "connect-failed",
            "kind": "client_credentials",
            "step": "token",
            "error": "AnswerInDoubt",
        },
        {
            "event": "connect-failed",
            "kind": "client_credentials",
            "step": "save",
            "error": "VaultWriteError",
            "tokens": TOKENS_DROPPED,
        },
    ]
    robot(emu.app.client_secret)
    assert failures(home, "robot")[-1] == {"event": "connect", "kind": "client_credentials"}
