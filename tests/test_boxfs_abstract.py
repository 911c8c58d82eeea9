"""fsspec's own abstract test suite (``fsspec.tests.abstract``) run on ``box://``.

Used: copy, get, put, open and pipe (``AbstractCopyTests``, ``AbstractGetTests``,
``AbstractPutTests``, ``AbstractOpenTests``, ``AbstractPipeTests``), on one emulator for the
module and a fresh folder per test. Not used: ``fsspec.tests.abstract.mv``, whose tests are
written for the local file system only (they call ``fsspec.filesystem("file")``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fsspec.tests.abstract import (
    AbstractCopyTests,
    AbstractFixtures,
    AbstractGetTests,
    AbstractOpenTests,
    AbstractPipeTests,
    AbstractPutTests,
)
from support.boxfs_support import NAME, connect

from box_widget.boxfs import BoxFileSystem
from box_widget.emulator import BoxEmulator


@pytest.fixture(scope="module")
def module_box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[BoxEmulator, Path]]:
    """One emulator and vault for the module: these tests check fsspec semantics, ~140 of
    them; the answers of the same endpoints are checked against Box's OpenAPI description by
    test_boxfs.py, through the ``emulator`` fixture."""
    home = tmp_path_factory.mktemp("abstract") / "box_widget"
    with BoxEmulator() as emu, pytest.MonkeyPatch.context() as patch:
        patch.setenv("BOX_WIDGET_KEYRING", "0")
        connect(emu, home)
        yield emu, home


class BoxFixtures(AbstractFixtures):  # type: ignore[misc]
    @pytest.fixture
    def fs(
        self, module_box: tuple[BoxEmulator, Path], monkeypatch: pytest.MonkeyPatch
    ) -> BoxFileSystem:
        monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
        monkeypatch.setenv("BOX_WIDGET_PROGRESS", "0")
        return BoxFileSystem(NAME, home=module_box[1])

    @pytest.fixture
    def fs_join(self) -> Callable[..., str]:
        return posixpath.join

    @pytest.fixture
    def fs_path(self, fs: BoxFileSystem, request: pytest.FixtureRequest) -> Iterator[str]:
        """A fresh folder for each test, deleted afterwards."""
        path = f"abstract-{abs(hash(request.node.nodeid))}"
        fs.mkdir(path)
        yield path
        fs.rm(path, recursive=True)


class TestBoxCopy(BoxFixtures, AbstractCopyTests):  # type: ignore[misc]
    pass


class TestBoxGet(BoxFixtures, AbstractGetTests):  # type: ignore[misc]
    pass


class TestBoxPut(BoxFixtures, AbstractPutTests):  # type: ignore[misc]
    pass


class TestBoxOpen(BoxFixtures, AbstractOpenTests):  # type: ignore[misc]
    pass


class TestBoxPipe(BoxFixtures, AbstractPipeTests):  # type: ignore[misc]
    pass
