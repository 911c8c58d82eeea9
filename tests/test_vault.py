"""The token vault: private files, encryption at rest (its key sources: test_keys.py), damaged
files, pending authorizations, crash safety and locks, on real files and, where it matters,
real processes."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from support.vault_checks import (
    child,
    child_env,
    finish,
    mode,
    read_line,
    snapshot,
)

from box_widget import vault as vault_module
from box_widget.errors import BoxWidgetError, ConfigurationError, VaultError
from box_widget.vault import PENDING_LIFETIME, PENDING_LIMIT, Vault, check_name


# --- helpers ---------------------------------------------------------------------------------
@pytest.fixture
def loose_umask() -> Iterator[None]:
    """umask 0, so that a mode the vault does not set explicitly would show."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


# --- 1. permissions --------------------------------------------------------------------------
def test_home_is_created_private(home: Path, file_key: None, loose_umask: None) -> None:
    Vault(home)
    assert home.is_dir()
    assert mode(home) == 0o700


def test_opening_to_read_makes_nothing(home: Path, file_key: None) -> None:
    """``Vault(create=False)``, as the read-only commands open it: no folder, no key; an
    empty folder stays empty; once a connection is saved, it reads it with the same key."""
    reader = Vault(home, create=False)
    assert not home.exists()
    assert (reader.names(), reader.load("work"), reader.key_source) == ([], None, "none")
    home.mkdir(mode=0o700)
    Vault(home, create=False)
    assert list(home.iterdir()) == []
    with pytest.raises(ConfigurationError, match="no key yet"):
        Vault(home, create=False).save("work", {"name": "work"})
    assert list(home.iterdir()) == []
    Vault(home).save("work", {"name": "work"})
    reader = Vault(home, create=False)
    assert (reader.key_source, reader.load("work")) == ("file", {"name": "work"})


def test_existing_open_home_is_tightened(home: Path, file_key: None, loose_umask: None) -> None:
    home.mkdir(mode=0o755)
    home.chmod(0o755)
    (home / "connections").mkdir(mode=0o755)
    (home / "connections").chmod(0o755)
    vault = Vault(home)
    assert mode(home) == 0o700
    vault.save("a", {"x": 1})
    assert mode(home / "connections") == 0o700


def test_every_file_and_folder_is_private(home: Path, file_key: None, loose_umask: None) -> None:
    vault = Vault(home)
    vault.save("conn", {"access_token": "t"})
    vault.save("conn", {"access_token": "t2"})  # replaced, still private
    vault.add_pending("some-state", {"name": "conn"})
    with vault.lock("conn"):
        held = sorted((home / "locks").glob("*.lock"))
        assert held, "no lock file while the lock is held"
        for path in held:
            assert mode(path) == 0o600, path

    files = [p for p in home.rglob("*") if p.is_file()]
    names = {p.relative_to(home).as_posix() for p in files}
    assert "vault.key" in names
    assert "connections/conn.box" in names
    assert any(n.startswith("pending/") and n.endswith(".box") for n in names)
    assert any(n.startswith("locks/") and n.endswith(".lock") for n in names)
    for path in files:
        assert mode(path) == 0o600, f"{path} is {oct(mode(path))}"
    for path in [home, *(p for p in home.rglob("*") if p.is_dir())]:
        assert mode(path) == 0o700, f"{path} is {oct(mode(path))}"


# --- 2. encryption at rest -------------------------------------------------------------------
SECRETS = {
    "client_secret": "cs-Vq7hT2pLxR9wKe4Nsecret",
    "access_token": "at-3yUfBq81ZmWcP0dXaccess",
    "refresh_token": "rt-Hk5JsN7oQ2vLe9Grefresh",
    "code_verifier": "cv-pässwörd-✓-Ünïcødé-verifier",
}


def test_no_secret_is_stored_in_plain_bytes(home: Path, file_key: None) -> None:
    vault = Vault(home)
    vault.save("work", {"client_id": "cid", **SECRETS, "user": {"login": "me@example.com"}})
    vault.add_pending("state-1", {"name": "work", "code_verifier": SECRETS["code_verifier"]})
    with vault.lock("work"):
        pass
    assert vault.load("work") == {
        "client_id": "cid",
        **SECRETS,
        "user": {"login": "me@example.com"},
    }

    files = [p for p in home.rglob("*") if p.is_file()]
    assert len(files) >= 4
    for path in files:
        data = path.read_bytes()
        for field, secret in SECRETS.items():
            assert secret.encode("utf-8") not in data, f"{field} in plain bytes in {path}"
            # and not as the JSON escapes of its non-ASCII characters either
            escaped = json.dumps(secret)[1:-1].encode()
            assert escaped not in data, f"{field} (JSON-escaped) in {path}"


# --- 3. the default folder ------------------------------------------------------------------
def test_default_home_from_environment(
    tmp_path: Path, file_key: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOX_WIDGET_HOME", str(tmp_path / "configured"))
    vault = Vault()
    assert vault.home == tmp_path / "configured"
    assert mode(tmp_path / "configured") == 0o700


# --- 4. wrong key, damaged files -------------------------------------------------------------
def test_wrong_key_is_reported_and_changes_nothing(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    monkeypatch.setenv("BOX_WIDGET_KEY", Fernet.generate_key().decode())
    Vault(home).save("work", {"access_token": "a"})
    before = snapshot(home)

    monkeypatch.setenv("BOX_WIDGET_KEY", Fernet.generate_key().decode())
    vault = Vault(home)
    with pytest.raises(VaultError) as caught:
        vault.load("work")
    path = home / "connections" / "work.box"
    assert caught.value.path == path
    assert str(path) in str(caught.value)
    assert "Nothing was changed" in str(caught.value)
    assert isinstance(caught.value, ConfigurationError)
    assert snapshot(home) == before
    assert vault.names() == ["work"]


def _shift_char(data: bytes, index: int) -> bytes:
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    replacement = alphabet[(alphabet.index(data[index]) + 1) % 64]
    return data[:index] + bytes([replacement]) + data[index + 1 :]


DAMAGES: dict[str, Callable[[bytes], bytes]] = {
    "first byte": lambda d: _shift_char(d, 0),
    "a byte of the timestamp": lambda d: _shift_char(d, 5),
    "a byte of the ciphertext": lambda d: _shift_char(d, len(d) // 2),
    "a byte of the signature": lambda d: _shift_char(d, len(d) - 12),
    "a byte flipped to non-base64": lambda d: d[:40] + bytes([d[40] ^ 0xFF]) + d[41:],
    "truncated to half": lambda d: d[: len(d) // 2],
    "last byte cut": lambda d: d[:-1],
    "emptied": lambda d: b"",
}


@pytest.mark.parametrize("damage", list(DAMAGES))
def test_damaged_file_is_reported_and_kept(home: Path, env_key: str, damage: str) -> None:
    vault = Vault(home)
    vault.save("work", {"access_token": "a" * 100, "refresh_token": "r" * 100})
    path = home / "connections" / "work.box"
    damaged = DAMAGES[damage](path.read_bytes())
    path.write_bytes(damaged)
    before = snapshot(home)
    for reader in (vault, Vault(home)):
        with pytest.raises(VaultError) as caught:
            reader.load("work")
        assert str(path) in str(caught.value)
        assert path.read_bytes() == damaged
    assert snapshot(home) == before


@pytest.mark.parametrize(
    "plain", [b"[1, 2]", b'"text"', b"42", b"null", b"not json", b"\xff\xfe\x00"]
)
def test_valid_encryption_of_a_non_record_is_an_error(
    home: Path, env_key: str, plain: bytes
) -> None:
    vault = Vault(home)
    vault.save("work", {"x": 1})
    path = home / "connections" / "work.box"
    content = Fernet(env_key.encode()).encrypt(plain)
    path.write_bytes(content)
    with pytest.raises(VaultError) as caught:
        vault.load("work")
    assert str(path) in str(caught.value)
    assert path.read_bytes() == content


def test_save_moves_an_unreadable_file_aside(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    old_key = Fernet.generate_key().decode()
    monkeypatch.setenv("BOX_WIDGET_KEY", old_key)
    Vault(home).save("work", {"generation": "old"})
    path = home / "connections" / "work.box"
    old_bytes = path.read_bytes()

    monkeypatch.setenv("BOX_WIDGET_KEY", Fernet.generate_key().decode())
    vault = Vault(home)
    vault.save("work", {"generation": "new"})
    assert vault.load("work") == {"generation": "new"}
    aside = [p for p in path.parent.iterdir() if p.name != "work.box"]
    assert len(aside) == 1, aside
    assert re.fullmatch(r"work\.box\.unreadable-\d+", aside[0].name), aside[0].name
    assert aside[0].read_bytes() == old_bytes
    assert mode(aside[0]) == 0o600
    assert vault.names() == ["work"]
    # the old key still opens what was moved aside
    assert json.loads(Fernet(old_key.encode()).decrypt(aside[0].read_bytes())) == {
        "generation": "old"
    }


# --- 5. names --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["a", "A", "0", "work", "my-conn_1.2", "x" * 64, "a..b", "Z-"])
def test_valid_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "",
        "../x",
        "..",
        ".",
        "a/b",
        "a\\b",
        "x" * 65,
        ".hidden",
        "-x",
        "_x",
        "a b",
        "ä",
        "a\n",
        "\na",
        "a\x00",
        "~pending",
        "name.box/..",
        None,
        3,
    ],
)
def test_invalid_names(home: Path, env_key: str, name: Any) -> None:
    with pytest.raises(ConfigurationError, match="not a valid connection name"):
        check_name(name)
    vault = Vault(home)
    before = snapshot(home.parent)
    for call in (
        lambda: vault.load(name),
        lambda: vault.save(name, {"x": 1}),
        lambda: vault.delete(name),
    ):
        with pytest.raises(ConfigurationError):
            call()
    assert snapshot(home.parent) == before


def test_names_delete(home: Path, env_key: str) -> None:
    vault = Vault(home)
    assert vault.names() == []
    for name in ["zeta", "Alpha", "beta", "b.2", "a-1"]:
        vault.save(name, {"name": name})
    assert vault.names() == sorted(["zeta", "Alpha", "beta", "b.2", "a-1"])
    # files that are not saved connections are not listed
    connections = home / "connections"
    (connections / ".beta.box.abc123.tmp").write_bytes(b"x")
    (connections / "beta.box.unreadable-1700000000").write_bytes(b"x")
    (connections / "bad name.box").write_bytes(b"x")
    (connections / "notes.txt").write_bytes(b"x")
    assert vault.names() == sorted(["zeta", "Alpha", "beta", "b.2", "a-1"])

    assert vault.delete("beta") is True
    assert vault.delete("beta") is False
    assert vault.delete("never-saved") is False
    assert vault.load("beta") is None
    assert vault.names() == sorted(["zeta", "Alpha", "b.2", "a-1"])
    assert Vault(home).names() == vault.names()


def test_lock_rejects_names_that_leave_the_locks_folder(home: Path, env_key: str) -> None:
    vault = Vault(home)
    escape = home.parent / "escaped.lock"
    with pytest.raises(ConfigurationError), vault.lock("../../escaped"):
        pass
    assert not escape.exists()


# --- 6. pending authorizations ---------------------------------------------------------------
class Clock:
    """``time`` for box_widget.vault, running ``offset`` seconds ahead of the real one."""

    def __init__(self) -> None:
        self.offset = 0.0

    def time(self) -> float:
        return time.time() + self.offset

    def time_ns(self) -> int:
        return time.time_ns() + int(self.offset * 1e9)

    @staticmethod
    def monotonic() -> float:  # lock timeouts run on the real clock
        return time.monotonic()


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(vault_module, "time", fake)
    return fake


def pending_files(home: Path) -> list[Path]:
    return sorted((home / "pending").glob("*.box"))


def test_pending_is_taken_once(home: Path, env_key: str) -> None:
    vault = Vault(home)
    before = time.time()
    vault.add_pending("s-123", {"name": "work", "code_verifier": "v"})
    assert len(pending_files(home)) == 1

    record = Vault(home).take_pending("s-123")  # another process would have another Vault
    assert record is not None
    assert record["name"] == "work"
    assert record["code_verifier"] == "v"
    assert before - 1 <= record["created_at"] <= time.time() + 1
    assert vault.take_pending("s-123") is None
    assert pending_files(home) == []


def test_unknown_pending_state(home: Path, env_key: str) -> None:
    vault = Vault(home)
    assert vault.take_pending("never-added") is None
    vault.add_pending("known", {"name": "a"})
    assert vault.take_pending("Known") is None
    assert vault.take_pending("known ") is None
    assert vault.take_pending("known") is not None


def test_pending_expires(home: Path, env_key: str, clock: Clock) -> None:
    vault = Vault(home)
    vault.add_pending("fresh-enough", {"name": "a"})
    vault.add_pending("too-old", {"name": "b"})
    clock.offset = PENDING_LIFETIME - 5
    assert vault.take_pending("fresh-enough") is not None
    clock.offset = PENDING_LIFETIME + 1
    assert vault.take_pending("too-old") is None
    assert pending_files(home) == []  # an expired one is gone too, not left behind


def test_pending_written_long_ago_is_expired(home: Path, env_key: str, clock: Clock) -> None:
    vault = Vault(home)
    clock.offset = -(PENDING_LIFETIME + 1)
    vault.add_pending("old", {"name": "a"})
    clock.offset = 0
    assert vault.take_pending("old") is None


def test_adding_clears_expired_files(home: Path, env_key: str, clock: Clock) -> None:
    vault = Vault(home)
    vault.add_pending("old", {"name": "a"})
    (old_file,) = pending_files(home)
    clock.offset = PENDING_LIFETIME + 10  # expiry follows the time recorded inside the record
    vault.add_pending("new", {"name": "b"})
    assert not old_file.exists()
    assert len(pending_files(home)) == 1
    assert vault.take_pending("old") is None
    assert vault.take_pending("new") is not None


def test_pending_cap_keeps_the_newest(home: Path, env_key: str) -> None:
    vault = Vault(home)
    states = [f"state-{i}" for i in range(PENDING_LIMIT + 5)]
    for state in states:
        vault.add_pending(state, {"state": state})
        assert len(pending_files(home)) <= PENDING_LIMIT
    assert len(pending_files(home)) == PENDING_LIMIT
    for state in states[:5]:
        assert vault.take_pending(state) is None, state
    for state in states[5:]:
        record = vault.take_pending(state)
        assert record is not None, state
        assert record["state"] == state
    assert pending_files(home) == []


def test_pending_cap_evicts_the_oldest_when_file_times_tie(home: Path, env_key: str) -> None:
    """File times have the kernel's tick as granularity on many systems (Linux before 6.13:
    a few ms), so quick adds share an mtime; the oldest record must still be the one to go."""
    vault = Vault(home)
    states = [f"state-{i}" for i in range(PENDING_LIMIT)]
    for state in states:
        vault.add_pending(state, {"state": state})
    same = time.time() - 1
    for path in pending_files(home):
        os.utime(path, (same, same))
    vault.add_pending("newest", {"state": "newest"})
    assert len(pending_files(home)) == PENDING_LIMIT
    kept = [s for s in states if vault.take_pending(s) is not None]
    assert kept == states[1:], f"evicted {sorted(set(states) - set(kept))} instead of state-0"
    assert vault.take_pending("newest") is not None


ODD_STATES = [
    "../../etc",
    "../../../../../../tmp/evil",
    "/etc/passwd",
    "a/b\\c",
    "",
    "ünïcødé ☃ 状態 🔑",
    "x" * 10240,
    "\x00\n\r\t",
    "\udcff lone surrogate",
    "CON",
    ".",
    "..",
    "state.box",
]


def test_odd_states_stay_in_the_pending_folder(home: Path, env_key: str) -> None:
    vault = Vault(home)
    outside = home.parent
    before = set(snapshot(outside))
    for state in ODD_STATES:
        vault.add_pending(state, {"state_len": len(state)})
    created = set(snapshot(outside)) - before
    for name in created:
        parts = Path(name).parts
        assert parts[0] == "home" and parts[1] in {"pending", "locks"}, name
    assert len(pending_files(home)) == len(ODD_STATES)
    for path in pending_files(home):
        assert re.fullmatch(r"[0-9a-f]+\.box", path.name), path.name
    for state in ODD_STATES:
        record = vault.take_pending(state)
        assert record is not None, state[:40]
        assert record["state_len"] == len(state)
        assert vault.take_pending(state) is None
    assert pending_files(home) == []


def test_damaged_pending_is_dropped(home: Path, env_key: str) -> None:
    vault = Vault(home)
    vault.add_pending("s", {"name": "a"})
    (path,) = pending_files(home)
    path.write_bytes(path.read_bytes()[:-5])
    assert vault.take_pending("s") is None


# --- 7. crash safety -------------------------------------------------------------------------
WRITER = r"""
import hashlib, os, random, sys
from box_widget.vault import Vault
vault = Vault(sys.argv[1])
counter = int(sys.argv[2])
sizes = random.Random(counter)
print("started", flush=True)
while True:
    payload = os.urandom(sizes.randint(512, 1024 * 1024)).hex()  # 1 KB to 2 MB
    digest = hashlib.sha256(f"{counter}:{payload}".encode()).hexdigest()
    print(counter, flush=True)
    vault.save("crashy", {"counter": counter, "payload": payload, "sha256": digest})
    counter += 1
"""

TEMP = re.compile(r"\.crashy\.box\..+\.tmp")


def temp_files(folder: Path) -> set[str]:
    try:
        return {name for name in os.listdir(folder) if TEMP.fullmatch(name)}
    except FileNotFoundError:
        return set()


def test_writer_killed_mid_write_leaves_old_or_new_record(home: Path, env_key: str) -> None:
    """Even rounds kill the writer 10-200 ms after it started; odd rounds kill it as soon as a
    new temp file shows that it is writing, so that some kills surely land mid-write."""
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    why = f"(random seed {seed})"
    connections = home / "connections"
    previous: int | None = None
    left_mid_write = 0
    for round_ in range(20):
        start = round_ * 1_000_000
        temps_before = temp_files(connections)
        with child(WRITER, str(home), str(start), env=child_env(env_key)) as writer:
            assert read_line(writer, 20) == "started"
            if round_ % 2 == 0:
                time.sleep(rng.uniform(0.01, 0.2))
            else:
                give_up = time.monotonic() + 10
                while not temp_files(connections) - temps_before:
                    assert time.monotonic() < give_up, f"the writer never wrote {why}"
                    assert writer.poll() is None, "the writer ended"
                    time.sleep(0.0002)
                time.sleep(rng.uniform(0, 0.003))
            writer.send_signal(signal.SIGKILL)
            writer.wait(timeout=10)
            assert writer.stdout is not None
            announced = [int(n) for n in writer.stdout.read().split()]
            assert writer.stderr is not None
            err = writer.stderr.read().decode()
        assert writer.returncode == -signal.SIGKILL, f"the writer failed {why}:\n{err}"
        left_mid_write += bool(temp_files(connections) - temps_before)

        vault = Vault(home)
        record = vault.load("crashy")  # never raises
        if record is None:
            assert previous is None, f"round {round_}: the record vanished {why}"
        else:
            counter, payload = record["counter"], record["payload"]
            assert (
                record["sha256"] == hashlib.sha256(f"{counter}:{payload}".encode()).hexdigest()
            ), f"round {round_}: torn {why}"
            assert previous is None or counter >= previous, f"round {round_}: went back {why}"
            assert counter == previous or counter in announced, f"round {round_} {why}"
            previous = counter
        assert vault.names() == ([] if record is None else ["crashy"])
        for path in connections.iterdir() if connections.exists() else []:
            assert path.name == "crashy.box" or TEMP.fullmatch(path.name), path.name
            assert mode(path) == 0o600, path
    assert previous is not None, f"the writer never completed a record {why}"
    assert left_mid_write > 0, f"no kill landed mid-write {why}"


# --- 8. locks --------------------------------------------------------------------------------
COUNTER = r"""
import sys, time
from pathlib import Path
from box_widget.vault import Vault
vault, go, rounds = Vault(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
print("ready", flush=True)
deadline = time.monotonic() + 30
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("never told to go")
    time.sleep(0.0005)
for _ in range(rounds):
    with vault.lock("c"):
        record = vault.load("c") or {"n": 0}
        time.sleep(0.002)
        vault.save("c", {"n": record["n"] + 1})
"""


def test_lock_serializes_processes(home: Path, tmp_path: Path, env_key: str) -> None:
    go = tmp_path / "go"
    Vault(home)
    with ExitStack() as stack:
        counters = [
            stack.enter_context(child(COUNTER, str(home), str(go), "25", env=child_env(env_key)))
            for _ in range(4)
        ]
        for counter in counters:
            assert read_line(counter, 20) == "ready"
        go.touch()
        for counter in counters:
            finish(counter, 60)
    assert Vault(home).load("c") == {"n": 100}


def test_lock_serializes_threads(home: Path, tmp_path: Path, env_key: str) -> None:
    link = tmp_path / "link"
    link.symlink_to(home, target_is_directory=True)
    Vault(home)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def work(index: int) -> None:
        try:
            vault = Vault(home if index % 2 else link)  # one folder, two spellings
            start.wait(timeout=10)
            for _ in range(25):
                with vault.lock("c"):
                    record = vault.load("c") or {"n": 0}
                    time.sleep(0.002)
                    vault.save("c", {"n": record["n"] + 1})
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    assert errors == []
    assert Vault(home).load("c") == {"n": 200}


HOLDER = r"""
import sys, time
from box_widget.vault import Vault
vault = Vault(sys.argv[1])
with vault.lock(sys.argv[2]):
    print("locked", flush=True)
    time.sleep(60)
"""


def test_lock_held_by_another_process_times_out(home: Path, env_key: str) -> None:
    """Order, not speed: the wait gives up while the other process still holds the lock (and
    not before its timeout); another connection's lock is free meanwhile; the moment the holder
    is dead and reaped, the lock is free without waiting."""
    vault = Vault(home)
    with child(HOLDER, str(home), "c", env=child_env(env_key)) as holder:
        assert read_line(holder, 20) == "locked"
        began = time.monotonic()
        with pytest.raises(BoxWidgetError, match="'c'"), vault.lock("c", timeout=0.5):
            pytest.fail("got a lock another process holds")
        waited = time.monotonic() - began
        assert waited >= 0.4, f"gave up after {waited:.3f} s, before its 0.5 s timeout"
        assert holder.poll() is None, "the holder was gone: the timeout was not what ended it"

        with vault.lock("other", timeout=0.5):  # other connections are not held up
            assert holder.poll() is None

        holder.send_signal(signal.SIGKILL)  # a process that dies frees its locks
        holder.wait(timeout=10)
        with vault.lock("c", timeout=0):  # free at once: a single try, no waiting
            pass


def test_lock_held_by_another_thread_times_out(home: Path, env_key: str) -> None:
    """The wait gives up on its timeout while the other thread still holds the lock."""
    vault = Vault(home)
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with Vault(home).lock("c"):
            held.set()
            release.wait(timeout=30)

    holder = threading.Thread(target=hold, daemon=True)
    holder.start()
    try:
        assert held.wait(timeout=10)
        with pytest.raises(BoxWidgetError), vault.lock("c", timeout=0.5):
            pytest.fail("got a lock another thread holds")
        assert holder.is_alive(), "the holder let go: the timeout was not what ended the wait"
    finally:
        release.set()
        holder.join(timeout=10)
    with vault.lock("c", timeout=1):
        pass


def test_lock_is_reentrant_in_its_thread_only(home: Path, env_key: str) -> None:
    vault = Vault(home)
    outcome: list[str] = []

    def other_thread() -> None:
        try:
            with Vault(home).lock("c", timeout=0.3):
                outcome.append("got it")
        except BoxWidgetError:
            outcome.append("busy")

    with vault.lock("c"):
        with Vault(home).lock("c", timeout=0.5), vault.lock("c", timeout=0.5):
            pass  # the same thread takes it again (a file lock alone would wait for itself)
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join(timeout=10)
        assert outcome == ["busy"]  # leaving the inner blocks did not release it
    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join(timeout=10)
    assert outcome == ["busy", "got it"]


def test_lock_is_released_when_the_block_raises(home: Path, env_key: str) -> None:
    vault = Vault(home)
    with pytest.raises(KeyError), vault.lock("c"):
        raise KeyError("boom")
    with vault.lock("c", timeout=0):  # free at once: a single try, no waiting
        pass
