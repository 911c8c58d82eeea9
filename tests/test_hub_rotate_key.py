"""examples/jupyterhub/rotate_key.py, the key rotation docs/jupyterhub.md describes: run as the
docs say, on a service vault written by the service's own ``HubVaults``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from box_widget.errors import VaultUnreadable
from box_widget.hub.users import HubVaults
from box_widget.vault import Vault

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "jupyterhub" / "rotate_key.py"
REFRESH = "refresh-token-of-{user}-0123456789"


def run(home: Path, old: str, new: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOX_")}
    env.update(OLD_BOX_WIDGET_KEY=old, NEW_BOX_WIDGET_KEY=new)
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(home)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def service_vault(home: Path, key: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two hub users' connections and a pending sign-in, as the service writes them."""
    monkeypatch.setenv("BOX_WIDGET_KEY", key)
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    vaults = HubVaults(home)
    for user in ("alice", "bob@uni.edu"):
        record = {"name": "work", "kind": "oauth", "token": {"refresh_token": REFRESH}}
        vaults.for_user(user).save("work", record)  # type: ignore[arg-type]
    pending = home / "users" / "alice" / "pending"
    pending.mkdir(exist_ok=True)
    (pending / "some-state.box").write_bytes(b"encrypted with the old key")


def files(home: Path) -> dict[str, bytes]:
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*") if p.is_file()}


def test_rotation_re_encrypts_every_users_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    home = tmp_path / "service"
    service_vault(home, old, monkeypatch)

    done = run(home, old, new)
    assert done.returncode == 0, done.stderr
    assert "re-encrypted 2 connection(s)" in done.stdout
    assert old not in done.stdout + done.stderr and new not in done.stdout + done.stderr
    for user in ("alice", "bob%40uni.edu"):
        folder = home / "users" / user
        record = Vault(folder, key=(new.encode(), "hub")).load("work")
        assert record is not None and record["token"]["refresh_token"] == REFRESH
        with pytest.raises(VaultUnreadable):
            Vault(folder, key=(old.encode(), "hub")).load("work")
        # No copy left under the old key (save() would keep one aside), no pending sign-in.
        assert sorted(p.name for p in folder.rglob("*.box*")) == ["work.box"]

    # Again (after an interruption, say): nothing left to do, nothing changed.
    before = files(home)
    again = run(home, old, new)
    assert again.returncode == 0 and "re-encrypted 0 connection(s)" in again.stdout
    assert files(home) == before


def test_a_wrong_old_key_changes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = Fernet.generate_key().decode()
    home = tmp_path / "service"
    service_vault(home, key, monkeypatch)
    before = files(home)
    wrong = Fernet.generate_key().decode()
    done = run(home, wrong, Fernet.generate_key().decode())
    assert done.returncode == 1
    assert "Stopped, nothing more changed" in done.stderr
    assert files(home) == before


def test_a_key_kept_in_vault_key_is_replaced_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "service"
    monkeypatch.delenv("BOX_WIDGET_KEY", raising=False)
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    HubVaults(home).for_user("alice").save(
        "work",
        {"name": "work", "kind": "oauth"},  # type: ignore[arg-type]
    )
    old = (home / "vault.key").read_text().strip()
    new = Fernet.generate_key().decode()
    done = run(home, old, new)
    assert done.returncode == 0, done.stderr
    assert (home / "vault.key").read_text().strip() == new
    assert (home / "vault.key").stat().st_mode & 0o077 == 0
    assert HubVaults(home).for_user("alice").load("work") is not None  # the service reads it
