"""Shared setup for the ``box://`` file system tests: an emulator, a connected vault, a file system.

Import the fixtures into a test module (``from boxfs_support import box, ...``). Each test gets
its own emulator and vault folder; progress bars are off (``BOX_WIDGET_PROGRESS=0``) unless a
test turns them on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from box_widget import BoxConnection, BoxEndpoints
from box_widget.boxfs import BoxFileSystem
from box_widget.emulator import BoxEmulator
from box_widget.emulator.content import File
from support import emulator_flow
from support.emulator_flow import CALLBACK

REDIRECT_URI = CALLBACK
NAME = "work"
MiB = 1024 * 1024


@dataclass
class Box:
    """An emulator with a connection named ``work`` in ``home`` and a file system on it."""

    emu: BoxEmulator
    home: Path
    conn: BoxConnection
    fs: BoxFileSystem

    def options(self) -> dict[str, Any]:
        """pandas' ``storage_options`` for this connection (by name, from the vault)."""
        return {"connection": NAME}

    def file(self, path: str) -> File:
        """What the emulator holds at a path of Ada's."""
        return self.emu.state.content.files[self.fs.info(path)["id"]]

    def new_fs(self, **options: Any) -> BoxFileSystem:
        return BoxFileSystem(NAME, **options)


def connect(emu: BoxEmulator, home: Path, name: str = NAME, **overrides: Any) -> BoxConnection:
    """A connection through the headless flow, granted by Ada."""
    return emulator_flow.connect(emu, home, name, **overrides)


@pytest.fixture
def box_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A private vault folder in ``BOX_WIDGET_HOME``, no keyring, no bars, no Box settings."""
    home = tmp_path / "box_widget"
    monkeypatch.setenv("BOX_WIDGET_HOME", str(home))
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    monkeypatch.setenv("BOX_WIDGET_PROGRESS", "0")
    for var in (
        "BOX_WIDGET_KEY",
        "BOX_CLIENT_ID",
        "BOX_CLIENT_SECRET",
        "BOX_REDIRECT_URI",
        *BoxEndpoints().to_env(),
    ):
        monkeypatch.delenv(var, raising=False)
    return home


@pytest.fixture
def box(emulator: BoxEmulator, box_env: Path) -> Iterator[Box]:
    """A connected ``work`` connection to a fresh emulator and a ``box://`` file system."""
    conn = connect(emulator, box_env)
    fs = BoxFileSystem(NAME)
    yield Box(emulator, box_env, conn, fs)
    fs.invalidate_cache()
    assert not emulator.state.content.sessions, "an upload session was left open"
