"""The hardening suite: box-widget as an attacker, a flaky network and a careless user treat it.

Every test here is marked ``hardening`` (``pytest -m hardening`` runs them alone); they also run
in the normal ``pytest`` run. The Jupyter-server fixtures are ``tests/test_server.py``'s: a real
server with box_widget, a vault folder of the test's own, an emulator app whose redirect URI is
the server's callback, DEBUG logs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_server import (  # noqa: F401 - fixtures, used by name
    allow_unauthenticated,
    box,
    box_app,
    jp_server_config,
    log_tap,
    provisioned,
    redirect_uri,
)

from box_widget.emulator import BoxEmulator
from box_widget.vault import Vault

HERE = Path(__file__).parent


@pytest.fixture(autouse=True)
def _isolated(isolated_env: None) -> None:
    """Every hardening test runs in ``isolated_env`` (conftest.py), as test_server.py's do."""


def expire(emu: BoxEmulator, folder: Path, name: str) -> None:
    """Make a saved connection's access token due: expired at Box and for the client."""
    emu.clock.advance(3601)
    vault = Vault(folder)
    with vault.lock(name):
        saved = vault.load(name)
        assert saved is not None
        saved["token"]["expires_at"] = 0
        vault.save(name, saved)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.hardening)
