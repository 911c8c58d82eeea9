"""The hub tests' fixtures: a real JupyterHub, its proxy, and alice and bob as real Unix users.

What the machine needs (``.ci/run`` prepares it) is in ``support/hub_unix.py``; where it is
missing the tests skip with the reasons, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from conftest import require  # tests/conftest.py (this folder is a package: no name clash)
from support import hub_unix
from support.hub_servers import UnixHub, unix_hub


@pytest.fixture
def jp_asyncio_loop() -> None:
    """No event loop of pytest-jupyter's here (Playwright's sync API runs its own)."""


@pytest.fixture
def jp_server_cleanup() -> None:
    """No in-process Jupyter server to clean up: these tests start real ones."""


@pytest.fixture(scope="module")
def unix_users() -> tuple[str, ...]:
    """alice and bob, real Unix users with private homes, and a venv they can run."""
    found = hub_unix.problems()
    require(not found, "a hub with real Unix users cannot run here: " + "; ".join(found))
    for user in hub_unix.USERS:
        hub_unix.fresh_home(user)
    return hub_unix.USERS


@pytest.fixture(scope="module")
def hub(unix_users: tuple[str, ...], tmp_path_factory: pytest.TempPathFactory) -> Iterator[UnixHub]:
    """A real hub (the example config, its proxy, the service) spawning each user's JupyterLab
    as that Unix user."""
    venv = hub_unix.singleuser_venv()
    assert venv is not None
    with unix_hub(tmp_path_factory.mktemp("hub"), venv) as running:
        yield running
