"""What the Dask cluster tests share (tests/test_dask_cluster.py against the Jupyter server,
tests/hub/test_hub_dask.py against the hub's service): CSV files seeded in the emulator, a
real ``LocalCluster`` of worker processes with an environment of their own, the scheduler's
count of finished and failed tasks, and every frame Dask serialises (to scan for secrets)."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import distributed
import pandas as pd
import pytest
from distributed.diagnostics.plugin import SchedulerPlugin

from box_widget.boxfs import BoxFileSystem
from box_widget.emulator import BoxEmulator

CITIES = ("Oslo", "Lima", "Pune", "Kobe")


class Transitions(SchedulerPlugin):  # type: ignore[misc]
    """Counts the scheduler's task transitions: tasks finished, tasks failed."""

    def __init__(self) -> None:
        self.done = 0
        self.erred = 0

    def transition(self, key: Any, start: str, finish: str, *args: Any, **kwargs: Any) -> None:
        self.done += finish == "memory"
        self.erred += finish == "erred"


def seed(emu: BoxEmulator, count: int, top: str = "Readings") -> pd.DataFrame:
    """``<top>/2026/f000.csv``...: small CSV files of (city, temp); all their rows."""
    content, user = emu.state.content, emu.user.id
    data = content.add_folder(user, "0", top)
    folder = content.add_folder(user, data.id, "2026")
    frames = []
    for i in range(count):
        frame = pd.DataFrame(
            {"city": [CITIES[(i + j) % 4] for j in range(20)], "temp": [i + j for j in range(20)]}
        )
        content.add_file(user, folder.id, f"f{i:03d}.csv", frame.to_csv(index=False).encode())
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)


def record_frames(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """Every frame Dask serialises from now on (the task graph as it travels), in a list."""
    sent: list[bytes] = []
    real_dumps = distributed.protocol.dumps

    def dumps(*args: Any, **kwargs: Any) -> Any:
        frames = real_dumps(*args, **kwargs)
        sent.extend(bytes(f) for f in frames)
        return frames

    monkeypatch.setattr(distributed.protocol, "dumps", dumps)
    return sent


@contextmanager
def local_cluster(
    n_workers: int, env: dict[str, str]
) -> Iterator[tuple[distributed.LocalCluster, distributed.Client, Transitions]]:
    """A real cluster of ``n_workers`` processes (one thread each) on loopback, whose workers
    run with ``env`` over this process's environment; its client and task counter."""
    with distributed.LocalCluster(
        n_workers=n_workers,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
        env=env,
    ) as cluster:
        plugin = Transitions()
        cluster.scheduler.add_plugin(plugin)
        with distributed.Client(cluster) as client:
            yield cluster, client, plugin


def check_run(
    plugin: Transitions,
    tasks: int,
    refreshes: list[dict[str, Any]],
    box_refreshes: int,
    lifetime: float,
    at_least: int,
) -> None:
    """A cluster run that failed no task and finished ``tasks`` at least, whose authority
    refreshed ``at_least`` times (every refresh Box saw: ``box_refreshes``), never twice within
    one access token's ``lifetime``: one refresh per expiry."""
    assert plugin.erred == 0
    assert plugin.done >= tasks
    assert len(refreshes) >= at_least
    assert box_refreshes == len(refreshes)
    gaps = [b["time"] - a["time"] for a, b in itertools.pairwise(refreshes)]
    assert all(gap >= lifetime * 0.8 for gap in gaps), gaps


def bare_workers(folder: Path) -> tuple[dict[str, str], Path]:
    """The environment of workers that share nothing with the notebook: another ``HOME``, an
    empty ``BOX_WIDGET_HOME`` (returned, to check it stays empty), no Jupyter server to find,
    no hub URL or hub token."""
    home, vault = folder / "worker-home", folder / "worker-vault"
    home.mkdir()
    vault.mkdir()
    env = {
        "HOME": str(home),
        "BOX_WIDGET_HOME": str(vault),
        "BOX_WIDGET_HUB_URL": "",
        "JUPYTERHUB_API_TOKEN": "",
        "JUPYTER_SERVER_URL": "",
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTER_DATA_DIR": str(home / "data"),
    }
    return env, vault


def worker_environment() -> dict[str, Any]:
    """What a worker sees of the credentials' environment (run on each worker)."""
    import os

    from box_widget.vault import default_home

    return {
        "key": os.environ.get("BOX_WIDGET_KEY"),
        "home": str(default_home()),
        "secret": os.environ.get("BOX_CLIENT_SECRET"),
        "hub_token": os.environ.get("JUPYTERHUB_API_TOKEN") or None,
        "hub_url": os.environ.get("BOX_WIDGET_HUB_URL") or None,
    }


def check_bare(client: distributed.Client, vault: Path) -> None:
    """Every worker runs with no key, no Client Secret, no hub URL or token, and ``vault`` as
    its (empty) vault folder."""
    for seen in client.run(worker_environment).values():
        assert seen == {
            "key": None,
            "home": str(vault),
            "secret": None,
            "hub_token": None,
            "hub_url": None,
        }


def read_one(fs: BoxFileSystem, path: str = "Readings/2026/f000.csv") -> bytes:
    """The bytes of one file, read on a worker."""
    return bytes(fs.cat(path))


def worker_logs(client: distributed.Client) -> dict[str, str]:
    """Each worker's log, by worker."""
    return {
        f"{worker} log": "\n".join(line for _, line in lines)
        for worker, lines in client.get_worker_logs().items()
    }
