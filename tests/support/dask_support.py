"""What the Dask cluster tests share (tests/test_dask_cluster.py against the Jupyter server,
tests/hub/test_hub_dask.py against the hub's service): CSV files seeded in the emulator, a
real ``LocalCluster`` of worker processes with an environment of their own, the scheduler's
count of finished and failed tasks, and every frame Dask serialises (to scan for secrets)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
        dashboard_address=None,
        env=env,
    ) as cluster:
        plugin = Transitions()
        cluster.scheduler.add_plugin(plugin)
        with distributed.Client(cluster) as client:
            yield cluster, client, plugin


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


def read_one(fs: BoxFileSystem, path: str = "Readings/2026/f000.csv") -> bytes:
    """The bytes of one file, read on a worker."""
    return bytes(fs.cat(path))


def worker_logs(client: distributed.Client) -> dict[str, str]:
    """Each worker's log, by worker."""
    return {
        f"{worker} log": "\n".join(line for _, line in lines)
        for worker, lines in client.get_worker_logs().items()
    }
