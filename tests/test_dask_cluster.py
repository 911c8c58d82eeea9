"""``box://`` on a real Dask cluster whose workers share no vault (issue 20).

Real parts: a ``distributed.LocalCluster`` of 4 worker processes, each with another ``HOME``, an
empty ``BOX_WIDGET_HOME``, no ``BOX_WIDGET_KEY``, no way to find the Jupyter server's login; a
real ``jupyter server`` with the box_widget extension as the token authority; the emulator as
Box, with 20-second access tokens. This process plays the notebook's kernel (it finds the server
as a terminal the server opened does: ``JUPYTER_SERVER_URL``) and uses the vault directly.
"""

from __future__ import annotations

import pickle
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
from support import emulator_flow
from support.dask_support import (
    Transitions,
    bare_workers,
    check_bare,
    check_run,
    local_cluster,
    read_one,
    record_frames,
    seed,
    worker_logs,
)
from support.jupyter_server import TOKEN, Server, running_server
from support.secret_scan import emulator_secrets, scan

from box_widget import audit
from box_widget.boxfs import BoxFileSystem, workers
from box_widget.cli.demo_lab import free_port
from box_widget.emulator import BoxEmulator
from box_widget.errors import GrantRefused
from box_widget.grant_source import WorkerGrant
from box_widget.keys import find_key

#: 500 in the issue: that run passed the same way (500 files, 2 rounds + to_parquet +
#: read_parquet, 163 s, 9570 tasks, 0 failed, 8.2 expiries, 9 refreshes, 3 grants, 2506 token
#: pulls), but takes 3 minutes on 2 shared cores; CI runs 120 (bench/ has the 500-file run).
N_FILES = 120
LIFETIME = 20
pytestmark = pytest.mark.timeout(600)


@dataclass
class Setup:
    server: Server
    emu: BoxEmulator
    client: distributed.Client
    cluster: distributed.LocalCluster
    plugin: Transitions
    grants: list[WorkerGrant]
    sent: list[bytes]
    worker_vault: Path

    def secrets(self) -> set[str]:
        key = find_key(self.server.home)
        assert key is not None
        return emulator_secrets(self.emu) | {key[0].decode(), TOKEN}

    def events(self, event: str) -> list[dict[str, Any]]:
        return [e for e in audit.read(self.server.home, "work") if e["event"] == event]


@pytest.fixture
def setup(
    tmp_path: Path, emulator: BoxEmulator, box_env: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Setup]:
    emulator.settings.access_token_lifetime = LIFETIME
    with running_server(tmp_path / "server", free_port(), emulator.endpoints.to_dict()) as server:
        # This process is the notebook's kernel: the server's vault, the server found by URL.
        monkeypatch.setenv("BOX_WIDGET_HOME", str(server.home))
        monkeypatch.setenv("JUPYTER_SERVER_URL", server.url)
        monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(server.runtime))
        monkeypatch.delenv("JPY_PARENT_PID", raising=False)
        emulator_flow.connect(emulator, server.home)
        minted: list[WorkerGrant] = []
        real_mint = workers.mint

        def mint(name: str, **options: Any) -> WorkerGrant:
            minted.append(real_mint(name, **options))
            return minted[-1]

        monkeypatch.setattr(workers, "mint", mint)
        sent = record_frames(monkeypatch)
        env, worker_vault = bare_workers(tmp_path)
        with local_cluster(4, env) as (cluster, client, plugin):
            yield Setup(server, emulator, client, cluster, plugin, minted, sent, worker_vault)


def test_a_cluster_reads_and_writes_box_through_three_expiries(setup: Setup) -> None:
    rows = seed(setup.emu, N_FILES)
    expected = rows.groupby("city").temp.mean()
    check_bare(setup.client, setup.worker_vault)

    options = {"connection": "work"}
    df = dd.read_csv("box://Readings/2026/*.csv", storage_options=options)
    started, rounds = time.monotonic(), 0
    while rounds == 0 or time.monotonic() - started < 3 * LIFETIME + 5:
        means = df.groupby("city").temp.mean().compute()
        assert means.sort_index().to_dict() == expected.sort_index().to_dict()
        rounds += 1
    df.to_parquet(
        "box://Readings/out/", storage_options={**options, "grant": {"scope": "read_write"}}
    )
    back = dd.read_parquet("box://Readings/out/", storage_options=options).compute()
    assert sorted(back.temp) == sorted(rows.temp)
    elapsed = time.monotonic() - started

    refreshes = setup.events("refresh")
    pulls = setup.events("grant-token")
    print(
        f"\ncluster: {N_FILES} files, {rounds} rounds + to_parquet + read_parquet in "
        f"{elapsed:.0f} s; tasks done {setup.plugin.done}, failed {setup.plugin.erred}; "
        f"expiries {elapsed / LIFETIME:.1f}; refreshes at Box "
        f"{setup.emu.counters()['refreshes']}; grants {len(setup.grants)}; token pulls "
        f"{len(pulls)}"
    )
    # 0 failed tasks; exactly one refresh per expiry: at least three.
    box_refreshes = setup.emu.counters()["refreshes"]
    check_run(setup.plugin, rounds * N_FILES, refreshes, box_refreshes, LIFETIME, 3)
    # Workers asked the authority (with their grants) and never refreshed themselves.
    assert {e["pid"] for e in refreshes} <= {setup.server.proc.pid, __import__("os").getpid()}
    assert pulls and {e["pid"] for e in pulls} == {setup.server.proc.pid}
    assert 1 <= len(setup.grants) <= 4  # one per file system, not per task
    assert {e["grant"] for e in pulls} <= {g.id for g in setup.grants}
    assert not any(setup.worker_vault.iterdir())  # no vault was made on the workers

    # The task graph as Dask serialised it: the grants, and no secret.
    sent = b"".join(setup.sent)
    assert all(g.id.encode() in sent for g in setup.grants[:1])
    assert scan(setup.secrets(), texts={"dask messages": sent}) == {}
    logs = worker_logs(setup.client)
    logs["server log"] = setup.server.log.read_text(errors="replace")
    grant_secrets = {g.secret for g in setup.grants}
    assert scan(setup.secrets() | grant_secrets, texts=logs) == {}


def test_a_revoked_or_expired_grant_stops_the_next_task(setup: Setup) -> None:
    seed(setup.emu, 8)
    df = dd.read_csv("box://Readings/2026/*.csv", storage_options={"connection": "work"})
    assert df.temp.count().compute() == 8 * 20
    (grant,) = setup.grants
    listed = subprocess.run(
        [sys.executable, "-m", "box_widget.cli", "grants"],
        capture_output=True,
        text=True,
        check=True,
        env={**_cli_env(setup)},
    )
    assert grant.id in listed.stdout
    assert grant.secret not in listed.stdout + listed.stderr
    subprocess.run(
        [sys.executable, "-m", "box_widget.cli", "grants", "revoke", grant.id],
        capture_output=True,
        check=True,
        env=_cli_env(setup),
    )
    with pytest.raises(GrantRefused) as revoked:
        df.temp.count().compute()
    assert f"Worker grant {grant.id} for connection 'work' was revoked" in str(revoked.value)

    fs = BoxFileSystem("work", grant={"scope": "read", "expires_in": 2})
    pickle.dumps(fs)  # the grant is minted when the file system is pickled
    time.sleep(2.5)
    with pytest.raises(GrantRefused) as expired:
        setup.client.submit(read_one, fs, pure=False).result()
    assert "expired at" in str(expired.value)
    assert setup.grants[-1].id in str(expired.value)
    refused = setup.events("grant-refused")
    assert {e["reason"] for e in refused} == {"grant_revoked", "grant_expired"}


def _cli_env(setup: Setup) -> dict[str, str]:
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_")}
    env["BOX_WIDGET_HOME"] = str(setup.server.home)
    return env


def write_one(fs: BoxFileSystem) -> None:
    fs.pipe("Readings/2026/new.csv", b"city,temp\nOslo,1\n")


def test_a_read_grant_gives_workers_a_token_that_reads_but_cannot_upload(setup: Setup) -> None:
    seed(setup.emu, 2)
    reader = BoxFileSystem("work", grant={"scope": "read"})
    assert read_one_on(setup, reader).startswith(b"city,temp")
    with pytest.raises(PermissionError) as refused:
        setup.client.submit(write_one, reader, pure=False).result()
    assert "insufficient_scope" in str(refused.value)  # Box's 403, from the emulator
    writer = BoxFileSystem("work", grant={"scope": "read_write", "downscope": True})
    setup.client.submit(write_one, writer, pure=False).result()
    assert read_one_on(setup, reader, "Readings/2026/new.csv") == b"city,temp\nOslo,1\n"
    # One exchange per grant and parent token (the 20-second parent may have been refreshed).
    refreshes = setup.emu.counters()["refreshes"]
    assert 2 <= setup.emu.counters()["grants"]["token_exchange"] <= 2 * (refreshes + 1)
    # The grants' downscoped tokens are not the connection's own: the vault's token differs.
    listed = {g["id"]: g for g in setup.server.api("GET", "box-widget/api/grants").json()["grants"]}
    assert [listed[g.id]["downscope"] for g in setup.grants] == [True, True]


def read_one_on(setup: Setup, fs: BoxFileSystem, path: str = "Readings/2026/f000.csv") -> bytes:
    return bytes(setup.client.submit(lambda f: f.cat(path), fs, pure=False).result())
