"""One real JupyterHub (with its proxy and box-widget's service) and one emulator for every
test in tests/hub: starting a hub takes seconds, so the tests share it and keep apart by
using their own hub users and connection names.

The emulator has exactly one redirect URI registered: the hub's. After the last test, the
hub's whole log (the service's lines included) is scanned for every secret the emulator ever
issued or knows: none may be there.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from support.hub import Hub, box_for_hub, free_port, service_box_env, start_hub
from support.secret_scan import emulator_secrets, find

from box_widget.emulator import BoxEmulator

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
#: Seconds between the service's keep-alive rounds in these tests (45 days stays the age).
KEEPALIVE_INTERVAL = "1"
#: Users' servers (tests/hub/test_hub_user.py) run as this process's user; as root (a CI
#: container), Jupyter refuses to start without --allow-root.
USERS_SERVERS = 'c.Spawner.args = ["--allow-root"]\n' if os.geteuid() == 0 else ""


@pytest.fixture(scope="package")
def hub_port() -> int:
    return free_port()


@pytest.fixture(scope="package")
def emu(hub_port: int) -> Iterator[BoxEmulator]:
    """The emulator, with the hub's one redirect URI registered (no other)."""
    with box_for_hub(hub_port) as emulator:
        yield emulator


@pytest.fixture(scope="package")
def hub(emu: BoxEmulator, hub_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    """A running hub whose service uses the emulator as Box."""
    if shutil.which("configurable-http-proxy") is None:
        why = "configurable-http-proxy is not on PATH (npm install -g configurable-http-proxy@5)"
        if IN_CI:
            pytest.fail(f"required in CI: {why}")
        pytest.skip(why)
    folder = tmp_path_factory.mktemp("hub")
    with start_hub(
        folder,
        service_box_env(emu),
        extra_config=USERS_SERVERS,
        PUBLIC_PORT=str(hub_port),
        BOX_WIDGET_KEEPALIVE_INTERVAL=KEEPALIVE_INTERVAL,
    ) as running:
        yield running
    leaks = find(emulator_secrets(emu), Path(running.log_path).read_bytes())
    assert not leaks, f"secrets in the hub's log: {leaks}"
