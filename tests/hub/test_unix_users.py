"""A real hub spawns alice's and bob's servers as their own Unix users, files kept apart.

This proves the machine's part (LocalProcessSpawner, setuid, the single-user venv, the real
proxy) without a browser, so that a failure of the end-to-end test (tests/browser/test_hub.py)
points at box-widget, not at the machine.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import pytest
from conftest import require  # tests/conftest.py
from support import hub_unix
from support.hub_servers import UnixHub, unix_hub


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UnixHub]:
    """A real hub (the example config, its proxy, the service) spawning each user's JupyterLab
    as that Unix user (shadows the package's hub, which spawns no servers)."""
    found = hub_unix.problems()
    require(not found, "a hub with real Unix users cannot run here: " + "; ".join(found))
    for user in hub_unix.USERS:
        hub_unix.fresh_home(user)
    venv = hub_unix.singleuser_venv()
    assert venv is not None
    with unix_hub(tmp_path_factory.mktemp("unix-hub"), venv) as running:
        yield running


def test_each_server_runs_as_its_own_unix_user(hub: UnixHub) -> None:
    for user in hub_unix.USERS:
        server = hub.spawn(user)
        pid = int(server["state"]["pid"])
        assert hub_unix.process_uid(pid) == hub_unix.uid_of(user)
        # The server answers through the real proxy, at the user's prefix.
        status = hub.server_api(user, "GET", "api/status")
        assert status.status_code == 200, status.text
        # Its environment is the user's own, with the venv first on PATH.
        environ = dict(
            item.split(b"=", 1)
            for item in hub_unix.process_environ(pid).split(b"\0")
            if b"=" in item
        )
        assert environ[b"USER"] == user.encode()
        assert environ[b"HOME"] == str(hub_unix.home_of(user)).encode()


def test_alice_files_are_hers_alone(hub: UnixHub) -> None:
    for user in hub_unix.USERS:
        hub.spawn(user)
    saved = hub.server_api(
        "alice",
        "PUT",
        "api/contents/private.txt",
        json={"type": "file", "format": "text", "content": "alice's own"},
    )
    assert saved.status_code in {200, 201}, saved.text
    path = hub_unix.home_of("alice") / "private.txt"
    # Written by alice's server process: alice's file, in alice's home of mode 0700.
    assert hub_unix.owner_and_mode(path)[0] == "alice"
    assert hub_unix.owner_and_mode(hub_unix.home_of("alice")) == ("alice", 0o700)
    # bob, as a Unix user, cannot read it or even list alice's home.
    for argv in (["cat", str(path)], ["ls", str(hub_unix.home_of("alice"))]):
        denied = hub_unix.run_as("bob", *argv)
        assert denied.returncode != 0
        assert "Permission denied" in denied.stderr
    # bob's server has no way to alice's file through its own contents API either.
    assert hub.server_api("bob", "GET", "api/contents/private.txt").status_code == 404


def test_hub_stops_every_server(hub: UnixHub) -> None:
    """Stopping a server through the hub ends its process (the fixture relies on the same)."""
    pid = int(hub.spawn("bob")["state"]["pid"])
    assert hub.hub.hub_api("DELETE", "users/bob/server").status_code in {202, 204}
    deadline = time.monotonic() + 30
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        assert time.monotonic() < deadline, f"bob's server (pid {pid}) outlived its stop"
        time.sleep(0.25)
