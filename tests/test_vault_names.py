"""A vault record is bound to its file's name (issue 17, item 8): Fernet has no associated data,
so someone who can write the folder could swap two connections' files; each load checks the
record's ``name``. Records saved before records carried a name load as before."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from box_widget.errors import ConfigurationError
from box_widget.vault import Vault


@pytest.fixture
def vault(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Vault:
    monkeypatch.setenv("BOX_WIDGET_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    return Vault(tmp_path / "home")


def files(vault: Vault) -> dict[str, bytes]:
    folder = vault.home / "connections"
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_a_swapped_file_is_refused_and_left_alone(vault: Vault) -> None:
    vault.save("work", {"name": "work", "refresh_token": "w" * 40})
    vault.save("home", {"name": "home", "refresh_token": "h" * 40})
    folder = vault.home / "connections"
    os.replace(folder / "work.box", folder / "swap")
    os.replace(folder / "home.box", folder / "work.box")
    os.replace(folder / "swap", folder / "home.box")
    before = files(vault)
    with pytest.raises(ConfigurationError) as refused:
        vault.load("work")
    assert type(refused.value).__name__ == "VaultUnreadable"
    message = str(refused.value)
    assert "holds another connection ('home'), not 'work'" in message
    assert str(folder / "work.box") in message and "Nothing was changed" in message
    assert "h" * 40 not in message
    with pytest.raises(ConfigurationError, match=r"another connection \('work'\), not 'home'"):
        vault.load("home")
    assert files(vault) == before


def test_a_copied_file_is_refused(vault: Vault) -> None:
    vault.save("work", {"name": "work", "refresh_token": "w" * 40})
    folder = vault.home / "connections"
    (folder / "copy.box").write_bytes((folder / "work.box").read_bytes())
    with pytest.raises(ConfigurationError, match="another connection"):
        vault.load("copy")
    assert vault.load("work") == {"name": "work", "refresh_token": "w" * 40}


def test_a_record_without_a_name_loads_as_before(vault: Vault) -> None:
    vault.save("old", {"refresh_token": "o" * 40})
    assert vault.load("old") == {"refresh_token": "o" * 40}
