"""``box_widget.files`` where the platform lacks POSIX calls, as Windows does (issue 17, item 12):
no ``os.fchmod`` (before Python 3.13), and a folder that ``os.open`` cannot open (Windows answers
EACCES). Both are produced on Linux by taking the call away, and the write must still replace the
file whole, with the right bytes, or leave the old one."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from box_widget import files
from box_widget.files import atomic_write
from box_widget.vault import Vault


@pytest.fixture
def no_fchmod(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """No ``os.fchmod``; the paths ``os.chmod`` is given are recorded."""
    monkeypatch.delattr(os, "fchmod")
    real_chmod: Callable[..., None] = os.chmod
    chmodded: list[str] = []

    def recording_chmod(path: Any, mode: int, *args: Any, **kwargs: Any) -> None:
        chmodded.append(os.fspath(path))
        real_chmod(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "chmod", recording_chmod)
    return chmodded


@pytest.fixture
def no_folder_open(monkeypatch: pytest.MonkeyPatch) -> None:
    """``os.open`` of a folder fails with EACCES, as on Windows."""
    real_open: Callable[..., int] = os.open

    def open_like_windows(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if os.path.isdir(path):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", open_like_windows)


@pytest.fixture
def windows_calls(no_fchmod: list[str], no_folder_open: None) -> list[str]:
    """Both at once."""
    return no_fchmod


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_a_file_is_written_without_fchmod(tmp_path: Path, no_fchmod: list[str]) -> None:
    target = tmp_path / "vault" / "record.box"
    atomic_write(target, b"first")
    atomic_write(target, b"second version")
    assert target.read_bytes() == b"second version"
    assert stat.S_IMODE(target.stat().st_mode) == files.FILE_MODE
    temps = [Path(p) for p in no_fchmod if p.endswith(".tmp")]
    assert len(temps) == 2  # each temp file was restricted by path before it was filled
    assert all(p.parent == target.parent and p.name.startswith(".record.box.") for p in temps)
    assert leftovers(target.parent) == []
    with pytest.raises(FileExistsError):
        atomic_write(target, b"other", exclusive=True)
    assert target.read_bytes() == b"second version"


def test_a_file_is_written_where_folders_cannot_be_opened(
    tmp_path: Path, no_folder_open: None
) -> None:
    target = tmp_path / "vault" / "record.box"
    atomic_write(target, b"first")
    atomic_write(target, b"second version")
    assert target.read_bytes() == b"second version"
    assert stat.S_IMODE(target.stat().st_mode) == files.FILE_MODE
    assert leftovers(target.parent) == []
    atomic_write(tmp_path / "new.key", b"key", exclusive=True)
    assert (tmp_path / "new.key").read_bytes() == b"key"
    assert leftovers(tmp_path) == []


def test_a_failed_write_there_leaves_the_old_file_whole(
    tmp_path: Path, windows_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "record.box"
    atomic_write(target, b"old bytes")

    def full_disk(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left") as failure:
        atomic_write(target, b"new bytes that never land")
    assert failure.value.errno == errno.ENOSPC
    assert target.read_bytes() == b"old bytes"
    assert leftovers(tmp_path) == []


def test_a_vault_works_there(
    tmp_path: Path, windows_calls: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOX_WIDGET_KEY", raising=False)
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    home = tmp_path / "home"
    vault = Vault(home)  # makes vault.key with an exclusive atomic write
    vault.save("work", {"name": "work", "refresh_token": "r" * 40})
    assert Vault(home).load("work") == {"name": "work", "refresh_token": "r" * 40}
    assert stat.S_IMODE((home / "vault.key").stat().st_mode) == files.FILE_MODE


def test_no_posix_modes_means_no_tightening_and_no_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """On Windows ``stat`` reports 0o777 for every folder the user can write, and ``chmod``
    sets only the read-only flag: there is nothing to tighten, and no warning to give."""
    monkeypatch.setattr(files, "POSIX_MODES", False)
    folder = tmp_path / "open"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    files.private_folder(folder)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o755
    assert "open to other users" not in caplog.text
