"""Vault faults a real machine produces, each with a clear message and no good token lost.

``tests/test_vault.py`` already damages files (flipped bytes, truncation, emptied), uses a wrong
key and kills a writer mid-write; here the faults that reach a user through a connection:

- a full disk during a write, at ``write`` or at ``fsync``: injected as ``OSError(ENOSPC)`` for
  the vault's own files only, so that each write can be chosen: before a refresh spends the
  refresh token (nothing spent), after Box rotated it (the new token is kept in memory and saved
  once there is room), and at the server's callback (a plain page, never a 500). And once for
  real: a child process in a mount namespace of its own puts the vault on a 256 KiB tmpfs and
  fills it (as a user, with ``unshare --user --map-root-user --mount``: nothing is mounted on
  this machine outside that child, and the mount ends with it);
- a folder and key file left open to other users: tightened, with a warning naming them;
- a missing key (``vault.key`` deleted, ``BOX_WIDGET_KEY`` unset): an error that says how to
  restore it, and no new key made over the connections;
- a flipped byte in a saved connection, seen through the session, the status API and a new
  sign-in (moved aside, never deleted);
- a truncated connection file and a wrong key, through a connection: the error names the file
  and what to do, a revoke touches nothing, the bytes stay; the right key back, the same tokens
  work; a truncated file is moved aside when connecting again;
- a process SIGKILLed while it holds the connection's lock and waits for Box's refresh answer:
  the lock is free again; if Box never processed the refresh, the vault's token still works;
  if Box did, the error names the process and says what happened.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from conftest import require
from cryptography.fernet import Fernet
from support.connection_checks import assert_clean, connect, raises_clean, record
from support.vault_checks import child, child_command, child_env, read_line, snapshot
from test_server import NAME, Box, assert_failed

from box_widget import BoxConnection, ConfigurationError, ReauthorizationRequired
from box_widget.audit import read as audit_events
from box_widget.emulator import BoxEmulator
from box_widget.errors import VaultError, VaultWriteError
from box_widget.tokens import REFRESHING
from box_widget.widget import ConnectionForm

from .conftest import expire

pytestmark = pytest.mark.timeout(120)


# --- a full disk, for the vault's files only -------------------------------------------------


class FullDisk:
    """``OSError(ENOSPC)`` at ``write`` or ``fsync`` of files under ``home``, from the
    ``after``-th such write on (0: the first), until ``free()``."""

    def __init__(
        self, monkeypatch: pytest.MonkeyPatch, home: Path, at: str, after: int = 0
    ) -> None:
        self.home, self.at, self.after = str(home.resolve()), at, after
        self.writes = self.failures = 0
        self.full = True
        fsync, fdopen = os.fsync, os.fdopen

        def failing_fsync(fd: int) -> None:
            if self.at == "fsync" and self._fails(fd):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            fsync(fd)

        def failing_fdopen(fd: int, *args: Any, **kwargs: Any) -> Any:
            handle = fdopen(fd, *args, **kwargs)
            if self.at == "write" and self._fails(fd):

                def write(data: bytes) -> int:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

                handle.write = write
            return handle

        monkeypatch.setattr(os, "fsync", failing_fsync)
        monkeypatch.setattr(os, "fdopen", failing_fdopen)

    def _fails(self, fd: int) -> bool:
        try:
            path = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            return False
        if not self.full or not path.startswith(self.home) or not path.endswith(".tmp"):
            return False  # only the vault's atomic writes (their temp files)
        self.writes += 1
        if self.writes <= self.after:
            return False
        self.failures += 1
        return True

    def free(self) -> None:
        self.full = False


@pytest.mark.parametrize("at", ["write", "fsync"])
def test_a_full_disk_before_a_refresh_spends_nothing(
    emulator: BoxEmulator, home: Path, monkeypatch: pytest.MonkeyPatch, at: str
) -> None:
    emu = emulator
    connect(emu, home, NAME)
    expire(emu, home, NAME)
    before = snapshot(home)
    conn = BoxConnection(NAME, home=home)
    disk = FullDisk(monkeypatch, home, at)

    with raises_clean(emu, VaultWriteError) as info:
        conn.test_connection()
    assert "No space left on device" in str(info.value)
    assert "The previous version is intact" in str(info.value)
    assert "Free some disk space" in str(info.value)
    assert disk.failures == 1
    assert emu.counters()["refreshes"] == 0  # the single-use refresh token was not spent
    after = snapshot(home)
    assert {k: v for k, v in after.items() if k != "audit.log"} == {
        k: v for k, v in before.items() if k != "audit.log"
    }  # no temp file left either

    disk.free()
    assert conn.test_connection()["login"] == "ada@example.com"
    assert emu.counters()["refreshes"] == 1


def test_a_full_disk_after_box_rotated_keeps_the_new_token(
    emulator: BoxEmulator,
    home: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emu = emulator
    connect(emu, home, NAME)
    expire(emu, home, NAME)
    spent = record(home, NAME)["token"]["refresh_token"]
    conn = BoxConnection(NAME, home=home)
    disk = FullDisk(monkeypatch, home, "fsync", after=1)  # the refresh mark fits; then full
    caplog.set_level(logging.ERROR, logger="box_widget")

    assert conn.test_connection()["login"] == "ada@example.com"  # this process goes on
    assert emu.counters()["refreshes"] == 1
    assert record(home, NAME)["token"]["refresh_token"] == spent  # the vault could not take it
    assert "could not save the new one" in caplog.text
    assert "No space left on device" in caplog.text
    assert [e["event"] for e in audit_events(home, NAME)][-2:] == ["save-failed", "refresh"]
    assert conn.test_connection()["login"] == "ada@example.com"  # still full: still working

    disk.free()
    conn.test_connection()  # the next use saves the kept token
    saved = record(home, NAME)
    assert saved["token"]["refresh_token"] != spent
    assert REFRESHING not in saved
    assert BoxConnection(NAME, home=home).test_connection()["login"] == "ada@example.com"
    assert emu.counters()["refreshes"] == 1  # no token was lost, none spent twice


#: Runs in the child, on the tmpfs at argv[2]: copy the vault there, fill the disk, refresh;
#: then, on a line from the test, free the space and refresh again.
ON_A_FULL_TMPFS = r"""
import errno, hashlib, json, os, shutil, sys
from pathlib import Path
from box_widget import BoxConnection
from box_widget.errors import VaultWriteError

source, disk, name = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
shutil.copytree(source, disk, dirs_exist_ok=True)
filler = disk / "filler"

def files():
    return {str(p.relative_to(disk)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(disk.rglob("*"))
            if p.is_file() and p.name not in {"filler", "audit.log"}}

fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
try:
    while True:
        os.write(fd, b"\0" * 4096)
except OSError as exc:
    assert exc.errno == errno.ENOSPC, exc
try:
    os.write(fd, b"\0")  # the last partial block
except OSError:
    pass
os.close(fd)
stats = os.statvfs(disk)
before = files()
conn = BoxConnection(name, home=disk)
try:
    conn.test_connection()
    error = ""
except VaultWriteError as exc:
    error = str(exc)
print(json.dumps({"error": error, "intact": files() == before, "listed": sorted(before),
                  "free": stats.f_bavail * stats.f_frsize}), flush=True)
sys.stdin.readline()
filler.unlink()
print(json.dumps({"login": conn.test_connection()["login"],
                  "again": BoxConnection(name, home=disk).test_connection()["login"]}),
      flush=True)
"""


#: A mount namespace of a child's own, where it is root over its own mounts only.
UNSHARE = [shutil.which("unshare") or "unshare", "--user", "--map-root-user", "--mount"]


def user_mounts() -> str:
    """Why a child cannot mount a tmpfs in a namespace of its own here; empty if it can."""
    if shutil.which("unshare") is None:
        return "the unshare command (util-linux) is not installed"
    trial = subprocess.run(
        [*UNSHARE, "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return "" if trial.returncode == 0 else f"unshare/mount failed: {trial.stderr.strip()}"


def test_a_really_full_disk_spends_nothing_and_loses_nothing(
    emulator: BoxEmulator, home: Path, tmp_path: Path
) -> None:
    emu = emulator
    why = user_mounts()
    require(not why, f"a tmpfs in a mount namespace of a child's own: {why}")
    connect(emu, home, NAME)
    expire(emu, home, NAME)
    disk = tmp_path / "disk"
    disk.mkdir(mode=0o700)
    mount = 'mount -t tmpfs -o size=256k,mode=0700 tmpfs "$0" && exec "$@"'
    command = [
        *UNSHARE,
        "sh",
        "-c",
        mount,
        str(disk),
        sys.executable,
        "-c",
        ON_A_FULL_TMPFS,
        str(home),
        str(disk),
        NAME,
    ]
    with child_command(command, env=child_env()) as process:
        full = json.loads(read_line(process, timeout=60))
        assert full["free"] == 0, full
        assert "vault.key" in full["listed"] and f"connections/{NAME}.box" in full["listed"]
        assert "No space left on device" in full["error"], full
        assert "The previous version is intact" in full["error"]
        assert "Free some disk space" in full["error"]
        assert full["intact"], "on the full disk, a vault file changed or a temp file stayed"
        assert emu.counters()["refreshes"] == 0  # the single-use refresh token was not spent
        assert_clean(emu, full["error"])

        assert process.stdin is not None
        process.stdin.write(b"space freed\n")
        process.stdin.flush()
        freed = json.loads(read_line(process, timeout=60))
        assert freed == {"login": "ada@example.com", "again": "ada@example.com"}
        assert emu.counters()["refreshes"] == 1
        assert process.wait(30) == 0
    assert not any(disk.iterdir()), "the tmpfs was visible outside the child"


async def test_a_full_disk_at_the_callback_gives_a_plain_page(
    box: Box, monkeypatch: pytest.MonkeyPatch
) -> None:
    location = box.consent(box.start())
    FullDisk(monkeypatch, box.home, "write")
    page = await box.callback(location)
    assert_failed(
        page,
        503,
        "vault_unwritable",
        "could not save the connection",
        "No space left on device",
        "Generate again",
    )
    assert box.vault.names() == []


# --- loose permissions -------------------------------------------------------------------------


def test_a_vault_left_open_to_others_is_tightened_with_a_warning(
    emulator: BoxEmulator, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    emu = emulator
    connect(emu, home, NAME)
    key, folder = home / "vault.key", home / "connections"
    for path, mode in ((home, 0o777), (folder, 0o755), (key, 0o644)):
        path.chmod(mode)
    caplog.set_level(logging.WARNING, logger="box_widget")

    conn = BoxConnection(NAME, home=home)
    assert conn.test_connection()["login"] == "ada@example.com"

    for path, mode in ((home, 0o700), (folder, 0o700), (key, 0o600)):
        assert stat.S_IMODE(path.stat().st_mode) == mode, path
        assert f"{path} was open to other users" in caplog.text
    assert "revoke and reconnect" in caplog.text


# --- a missing key ----------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["file", "env"])
def test_a_missing_key_is_explained_and_no_new_key_is_made(
    emulator: BoxEmulator, home: Path, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    emu = emulator
    if source == "env":
        monkeypatch.setenv("BOX_WIDGET_KEY", Fernet.generate_key().decode())
    connect(emu, home, NAME)
    key_file = home / "vault.key"
    kept = key_file.read_bytes() if source == "file" else os.environ["BOX_WIDGET_KEY"]
    if source == "file":
        key_file.unlink()
    else:
        monkeypatch.delenv("BOX_WIDGET_KEY")
    before = snapshot(home)

    with raises_clean(emu, ConfigurationError) as info:
        BoxConnection(NAME, home=home)
    message = str(info.value)
    for words in (
        "holds saved connections",
        "key they were encrypted with is missing",
        "Nothing was changed",
        f"Restore {key_file}",
        "BOX_WIDGET_KEY",
    ):
        assert words in message, f"{words!r} not in {message!r}"
    assert snapshot(home) == before
    assert not key_file.exists()

    if source == "file":
        key_file.write_bytes(bytes(kept) if isinstance(kept, bytes) else kept.encode())
    else:
        monkeypatch.setenv("BOX_WIDGET_KEY", str(kept))
    assert BoxConnection(NAME, home=home).test_connection()["login"] == "ada@example.com"


# --- a flipped byte, seen from everywhere ------------------------------------------------------


async def test_a_flipped_byte_is_reported_everywhere_and_kept(box: Box) -> None:
    assert (await box.flow()).status == 200
    path = box.home / "connections" / f"{NAME}.box"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))

    conn = BoxConnection(NAME, home=box.home)  # still made: its form can connect it again
    with raises_clean(box.emu, VaultError) as info:
        conn.test_connection()
    assert str(path) in str(info.value)
    assert "Nothing was changed" in str(info.value)
    assert "connected=False" in repr(conn)
    form = ConnectionForm(conn)
    assert form.state == "error"
    assert str(path) in form.message
    status, body = await box.status()
    assert status == 200
    assert json.loads(body)["connections"] == [
        {"name": NAME, "connected": False, "error": "unreadable"}
    ]

    assert (await box.flow()).status == 200  # connecting again moves the damaged file aside
    aside = [p for p in path.parent.iterdir() if p.name.startswith(f"{NAME}.box.unreadable-")]
    assert len(aside) == 1
    assert aside[0].read_bytes() == bytes(data)


# --- a truncated file, a wrong key, through a connection -------------------------------------


@pytest.mark.parametrize("fault", ["truncated", "wrong key"])
def test_a_truncated_file_or_a_wrong_key_is_explained_and_nothing_is_lost(
    emulator: BoxEmulator, home: Path, monkeypatch: pytest.MonkeyPatch, fault: str
) -> None:
    emu = emulator
    good_key = Fernet.generate_key().decode()
    monkeypatch.setenv("BOX_WIDGET_KEY", good_key)
    connect(emu, home, NAME)
    path = home / "connections" / f"{NAME}.box"
    good = path.read_bytes()
    if fault == "truncated":  # a copy or a crash cut it (atomic writes never leave one)
        path.write_bytes(good[: len(good) // 2])
    else:  # another key in the environment: a new machine, a changed secret store
        monkeypatch.setenv("BOX_WIDGET_KEY", Fernet.generate_key().decode())
    kept = path.read_bytes()

    conn = BoxConnection(NAME, home=home)  # still made: its form can connect it again
    with raises_clean(emu, VaultError) as info:
        conn.test_connection()
    message = str(info.value)
    reason = "it does not decrypt with the current key, or it was damaged"
    for words in (
        f"The vault file {path} cannot be read",
        reason,
        "Nothing was changed",
        "BOX_WIDGET_KEY",
        "restore it",
        "move the file aside and connect again",
    ):
        assert words in message, f"{words!r} not in {message!r}"
    assert "connected=False" in repr(conn)
    with raises_clean(emu, VaultError):
        conn.revoke()  # nothing revoked or deleted on an unreadable record
    assert path.read_bytes() == kept
    assert emu.counters()["revocations"] == 0

    if fault == "wrong key":  # the right key back: the same tokens work, none was lost
        monkeypatch.setenv("BOX_WIDGET_KEY", good_key)
        assert BoxConnection(NAME, home=home).test_connection()["login"] == "ada@example.com"
        return
    connect(emu, home, NAME)  # connecting again moves the damaged file aside, bytes intact
    aside = [p for p in path.parent.iterdir() if p.name.startswith(f"{NAME}.box.unreadable-")]
    assert [p.read_bytes() for p in aside] == [kept]
    assert BoxConnection(NAME, home=home).test_connection()["login"] == "ada@example.com"


# --- a process killed mid-refresh -----------------------------------------------------------

REFRESHER = r"""
import sys
from box_widget import BoxConnection
conn = BoxConnection(sys.argv[1], home=sys.argv[2])
print("refreshing", flush=True)
conn.test_connection()
print("done", flush=True)
"""


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture
def killed_refresher(emulator: BoxEmulator, home: Path) -> Callable[[bool], int]:
    """``kill(box_processes)``: a child process starts a refresh and is SIGKILLed while it holds
    the lock and waits for Box's answer (delayed 1.5 s); with ``box_processes`` Box then does
    the refresh, else it answers 503 to nobody. Returns the child's pid."""
    emu = emulator
    connect(emu, home, NAME)
    expire(emu, home, NAME)

    def kill(box_processes: bool) -> int:
        fault = {} if box_processes else {"status": 503}
        delayed = emu.inject_fault(delay=1.5, path="/oauth2/token", times=1, **fault)
        with child(REFRESHER, NAME, str(home), env=child_env()) as process:
            assert read_line(process, 30) == "refreshing"
            # the fault is used up (its ``times`` down to 0) once the refresh reached Box
            wait_for(lambda: delayed.times == 0, "the refresh to reach Box")
            assert REFRESHING in record(home, NAME), "the child holds no refresh mark"
            process.send_signal(signal.SIGKILL)
            process.wait(10)
            assert process.returncode == -signal.SIGKILL
            pid = process.pid
        if box_processes:  # Box finishes with the dead child's request (after its delay)
            wait_for(lambda: emu.counters()["refreshes"] == 1, "Box's refresh for the dead child")
        return pid

    return kill


def test_killed_before_box_processed_the_refresh_loses_nothing(
    emulator: BoxEmulator, home: Path, killed_refresher: Callable[[bool], int]
) -> None:
    before = record(home, NAME)["token"]
    killed_refresher(False)
    assert emulator.counters()["refreshes"] == 0
    assert record(home, NAME)["token"] == before
    conn = BoxConnection(NAME, home=home)
    assert conn.test_connection()["login"] == "ada@example.com"  # the lock is free again
    assert emulator.counters()["refreshes"] == 1
    assert REFRESHING not in record(home, NAME)


def test_killed_after_box_rotated_names_the_process_and_what_happened(
    emulator: BoxEmulator, home: Path, killed_refresher: Callable[[bool], int]
) -> None:
    before = record(home, NAME)["token"]
    pid = killed_refresher(True)
    assert emulator.counters()["refreshes"] == 1  # Box rotated for the dead child
    with raises_clean(emulator, ReauthorizationRequired) as info:
        BoxConnection(NAME, home=home).test_connection()
    message = str(info.value)
    for words in (
        f"a refresh started by process {pid}",
        "the process was stopped",
        "after Box had already replaced the refresh token",
        "Connect again",
    ):
        assert words in message, f"{words!r} not in {message!r}"
    assert record(home, NAME)["token"] == before  # nothing deleted: the user decides
