"""Where the vault's key comes from (``keys.py``): ``BOX_WIDGET_KEY``, the OS keyring (a
memory keyring here, never the real one), or the key file, in that order; and what happens when
a source holds a bad key or fails."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.errors
import pytest
from cryptography.fernet import Fernet
from support.vault_checks import child, child_env, finish, mode, read_line, snapshot

from box_widget.errors import ConfigurationError
from box_widget.vault import Vault


def test_key_from_environment(home: Path, env_key: str) -> None:
    vault = Vault(home)
    assert vault.key_source == "env"
    assert vault.status() == {"home": str(home), "encrypted": True, "key_source": "env"}
    assert env_key not in repr(vault)
    assert env_key not in json.dumps(vault.status())
    vault.save("a", {"token": "x"})
    assert not (home / "vault.key").exists()

    again = Vault(home)
    assert again.key_source == "env"
    assert again.load("a") == {"token": "x"}


@pytest.mark.parametrize(
    "bad", ["not-a-key", "short", base64.urlsafe_b64encode(b"x" * 31).decode()]
)
def test_invalid_environment_key_says_how_to_make_one(
    home: Path, monkeypatch: pytest.MonkeyPatch, bad: str
) -> None:
    monkeypatch.setenv("BOX_WIDGET_KEY", bad)
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    with pytest.raises(ConfigurationError) as caught:
        Vault(home)
    message = str(caught.value)
    assert "BOX_WIDGET_KEY" in message
    assert "Fernet.generate_key()" in message
    assert bad not in message
    assert not (home / "vault.key").exists()


def test_key_file(home: Path, file_key: None) -> None:
    vault = Vault(home)
    assert vault.key_source == "file"
    key_file = home / "vault.key"
    assert key_file.is_file()
    assert mode(key_file) == 0o600
    key = key_file.read_bytes()
    Fernet(key.strip())  # a valid key
    vault.save("a", {"token": "x"})

    again = Vault(home)
    assert again.key_source == "file"
    assert key_file.read_bytes() == key  # reused, not regenerated
    assert again.load("a") == {"token": "x"}
    assert key.decode().strip() not in repr(again)


def test_damaged_key_file_is_an_error_and_is_kept(home: Path, file_key: None) -> None:
    Vault(home).save("a", {"token": "x"})
    key_file = home / "vault.key"
    key_file.write_bytes(b"garbage")
    before = snapshot(home)
    with pytest.raises(ConfigurationError, match=re.escape(str(home / "vault.key"))):
        Vault(home)
    assert snapshot(home) == before


KEY_FILE_RACER = r"""
import sys, time
from pathlib import Path
from box_widget.vault import Vault
home, go, index = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
print("ready", flush=True)
deadline = time.monotonic() + 30
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("never told to go")
    time.sleep(0.0005)
vault = Vault(home)
assert vault.key_source == "file", vault.key_source
vault.save("p" + index, {"index": int(index)})
"""


def test_first_start_in_several_processes_agrees_on_one_key_file(
    home: Path, tmp_path: Path, file_key: None
) -> None:
    go = tmp_path / "go"
    with ExitStack() as stack:
        racers = [
            stack.enter_context(child(KEY_FILE_RACER, str(home), str(go), str(i), env=child_env()))
            for i in range(6)
        ]
        for racer in racers:
            assert read_line(racer, 20) == "ready"
        go.touch()
        for racer in racers:
            finish(racer, 30)
    vault = Vault(home)
    assert vault.names() == [f"p{i}" for i in range(6)]
    for i in range(6):
        assert vault.load(f"p{i}") == {"index": i}


@pytest.fixture
def memory_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An OS keyring stand-in (priority 1, a dict), restored afterwards."""
    monkeypatch.delenv("BOX_WIDGET_KEY", raising=False)
    monkeypatch.delenv("BOX_WIDGET_KEYRING", raising=False)
    previous = keyring.get_keyring()  # detect the real backend before ours exists

    class MemoryKeyring(keyring.backend.KeyringBackend):
        priority = 1  # type: ignore[assignment]

        def __init__(self) -> None:
            super().__init__()
            self.passwords: dict[tuple[str, str], str] = {}
            self.fail = False

        def get_password(self, service: str, username: str) -> str | None:
            if self.fail:
                raise keyring.errors.KeyringLocked("locked")
            return self.passwords.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            self.passwords[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            if self.passwords.pop((service, username), None) is None:
                raise keyring.errors.PasswordDeleteError(username)

    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)
        # keyring registers every backend class; keep ours out of later detection
        keyring.backend.KeyringBackend._classes.discard(MemoryKeyring)


def test_key_from_keyring(home: Path, tmp_path: Path, memory_keyring: Any) -> None:
    vault = Vault(home)
    assert vault.key_source == "keyring"
    assert not (home / "vault.key").exists()
    assert list(memory_keyring.passwords) == [("box-widget", str(home.resolve()))]
    stored = memory_keyring.passwords[("box-widget", str(home.resolve()))]
    Fernet(stored.encode())
    vault.save("a", {"token": "x"})

    again = Vault(home)
    assert again.key_source == "keyring"
    assert again.load("a") == {"token": "x"}
    assert len(memory_keyring.passwords) == 1
    assert stored not in repr(again)

    link = tmp_path / "link"
    link.symlink_to(home)
    assert Vault(link).load("a") == {"token": "x"}  # one entry per folder, however named

    other = Vault(tmp_path / "other")  # another folder, another key
    assert other.key_source == "keyring"
    assert len(set(memory_keyring.passwords.values())) == 2


def test_keyring_can_be_turned_off(
    home: Path, memory_keyring: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    vault = Vault(home)
    assert vault.key_source == "file"
    assert (home / "vault.key").is_file()
    assert memory_keyring.passwords == {}


def test_environment_key_wins_over_keyring(
    home: Path, memory_keyring: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BOX_WIDGET_KEY", Fernet.generate_key().decode())
    assert Vault(home).key_source == "env"
    assert memory_keyring.passwords == {}


def test_failing_keyring_falls_back_to_the_key_file(home: Path, memory_keyring: Any) -> None:
    memory_keyring.fail = True
    vault = Vault(home)
    assert vault.key_source == "file"
    assert (home / "vault.key").is_file()


def test_invalid_key_in_keyring_is_an_error(home: Path, memory_keyring: Any) -> None:
    memory_keyring.passwords[("box-widget", str(home.resolve()))] = "not-a-key"
    with pytest.raises(ConfigurationError, match="keyring"):
        Vault(home)
    assert memory_keyring.passwords[("box-widget", str(home.resolve()))] == "not-a-key"
    assert not (home / "vault.key").exists()
