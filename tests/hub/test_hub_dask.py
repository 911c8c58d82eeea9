"""``box://`` on a real Dask cluster on a hub: the hub's service is the workers' token authority
(issue 20's cluster test against the hub service).

Real parts: the hub and its service (tests/hub/conftest.py), the emulator as Box with short
access tokens, a ``distributed.LocalCluster`` of worker processes each with another ``HOME``, an
empty ``BOX_WIDGET_HOME``, no ``BOX_WIDGET_KEY``, no hub token and no hub URL. This process plays
a user's kernel in hub mode: ``BOX_WIDGET_HUB_URL`` and the user's ``JUPYTERHUB_API_TOKEN``, so
``BoxFileSystem("work")`` is a ``HubConnection``'s and its pickling mints the grant at the
service. Workers ask the service with the grant only; the service alone refreshes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dask.dataframe as dd
import distributed
import pytest
from support.dask_support import (
    Transitions,
    bare_workers,
    check_bare,
    check_run,
    local_cluster,
    record_frames,
    seed,
    worker_logs,
)
from support.hub import Hub
from support.hub_flow import api, connect, vault_of
from support.secret_scan import emulator_secrets, scan

from box_widget import audit
from box_widget.emulator import BoxEmulator
from box_widget.errors import GrantRefused
from box_widget.keys import load_key

HUB_USER = "dask-user"
N_FILES = 24
LIFETIME = 8  # seconds: the emulator's access tokens while the cluster reads
TOP = "HubReadings"
pytestmark = pytest.mark.timeout(300)


@dataclass
class Setup:
    hub: Hub
    emu: BoxEmulator
    token: str
    client: distributed.Client
    plugin: Transitions
    sent: list[bytes]
    worker_vault: Path

    def events(self, event: str, name: str = "work") -> list[dict[str, Any]]:
        home = vault_of(self.hub, HUB_USER).home
        return [e for e in audit.read(home, name) if e["event"] == event]

    def grants(self) -> list[dict[str, Any]]:
        answer = api(self.hub, self.token, "GET", "api/grants")
        assert answer.status_code == 200, answer.text
        found: list[dict[str, Any]] = answer.json()["grants"]
        return found

    def secrets(self) -> set[str]:
        key, _ = load_key(self.hub.service_home, create=False)
        return emulator_secrets(self.emu) | {key.decode(), self.token}


@pytest.fixture
def setup(
    hub: Hub, emu: BoxEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Setup]:
    emu.settings.update({"access_token_lifetime": LIFETIME})
    try:
        token = connect(hub, emu, HUB_USER, "work")
        # This process is the user's kernel in hub mode (as a hub-spawned server's kernel is).
        monkeypatch.setenv("BOX_WIDGET_HUB_URL", hub.service_url)
        monkeypatch.setenv("JUPYTERHUB_API_TOKEN", token)
        sent = record_frames(monkeypatch)
        env, worker_vault = bare_workers(tmp_path)
        with local_cluster(2, env) as (_, client, plugin):
            yield Setup(hub, emu, token, client, plugin, sent, worker_vault)
    finally:
        emu.settings.update({"access_token_lifetime": 3600})


def test_a_cluster_reads_box_through_expiries_with_the_hub_service_as_authority(
    setup: Setup,
) -> None:
    earlier = {g["id"] for g in setup.grants()}
    rows = seed(setup.emu, N_FILES, TOP)
    expected = rows.groupby("city").temp.mean().sort_index().to_dict()
    check_bare(setup.client, setup.worker_vault)
    emu_before = setup.emu.counters()["refreshes"]
    df = dd.read_csv(f"box://{TOP}/2026/*.csv", storage_options={"connection": "work"})
    started, rounds = time.monotonic(), 0
    while rounds == 0 or time.monotonic() - started < 2 * LIFETIME + 2:
        means = df.groupby("city").temp.mean().compute()
        assert means.sort_index().to_dict() == expected
        rounds += 1
    elapsed = time.monotonic() - started

    refreshes = setup.events("refresh")
    pulls = setup.events("grant-token")
    grants = [g for g in setup.grants() if g["id"] not in earlier]
    service_pid = setup.hub.service_process().pid
    print(
        f"\nhub cluster: {N_FILES} files, {rounds} rounds in {elapsed:.0f} s; tasks done "
        f"{setup.plugin.done}, failed {setup.plugin.erred}; expiries {elapsed / LIFETIME:.1f}; "
        f"refreshes {len(refreshes)}; grants {len(grants)}; token pulls {len(pulls)}"
    )
    # 0 failed tasks; only the service refreshes, once per expiry.
    box_refreshes = setup.emu.counters()["refreshes"] - emu_before
    check_run(setup.plugin, rounds * N_FILES, refreshes, box_refreshes, LIFETIME, 2)
    assert {e["pid"] for e in refreshes} == {service_pid}
    # Workers asked the service with their grant (one per file system), audited as the user's.
    assert 1 <= len(grants) <= 2
    assert pulls and {e["pid"] for e in pulls} == {service_pid}
    assert {e["grant"] for e in pulls} <= {g["id"] for g in grants}
    assert {e["hub_user"] for e in pulls} == {HUB_USER}
    assert not any(setup.worker_vault.iterdir())

    # The task graph as Dask serialised it: the grant, and no other secret.
    sent = b"".join(setup.sent)
    assert grants[0]["id"].encode() in sent
    assert scan(setup.secrets(), texts={"dask messages": sent}) == {}
    assert scan(setup.secrets(), texts=worker_logs(setup.client)) == {}


def test_a_grant_revoked_with_box_widget_grants_stops_the_next_task(setup: Setup) -> None:
    connect(setup.hub, setup.emu, HUB_USER, "revocable")  # a connection of its own
    earlier = {g["id"] for g in setup.grants()}
    seed(setup.emu, 4, TOP + "Revoked")
    df = dd.read_csv(f"box://{TOP}Revoked/2026/*.csv", storage_options={"connection": "revocable"})
    assert df.temp.count().compute() == 4 * 20
    (grant,) = [g for g in setup.grants() if g["id"] not in earlier]
    cli = [sys.executable, "-m", "box_widget.cli", "grants"]
    listed = subprocess.run(cli, capture_output=True, text=True, check=True, env=os.environ)
    assert grant["id"] in listed.stdout
    assert "dask-user" not in listed.stderr
    done = subprocess.run(
        [*cli, "revoke", grant["id"]], capture_output=True, text=True, check=True, env=os.environ
    )
    assert f"revoked worker grant {grant['id']}" in done.stdout
    with pytest.raises(GrantRefused) as revoked:
        df.temp.count().compute()
    assert f"Worker grant {grant['id']} for connection 'revocable' was revoked" in str(
        revoked.value
    )
    refused = setup.events("grant-refused", "revocable")
    assert [e["reason"] for e in refused][-1:] == ["grant_revoked"]
