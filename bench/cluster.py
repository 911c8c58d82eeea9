"""Many small files through ``box://``: one process, threads, a 4-worker Dask cluster.

``measure(files, runs)`` starts an emulator in this process with ``files`` CSV files of 20 KB
and 20-second access tokens, a real ``jupyter server`` with the box_widget extension (the
workers' token authority), a connection in its vault (this process plays the notebook's kernel)
and a ``distributed.LocalCluster`` of 4 worker processes with no vault. Each round reads every
file (``fs.cat``) four ways, timing each:

* box://, one process, one file after another;
* box://, one process, 8 threads;
* box://, the cluster: ``client.map`` over the paths with the file system (each task unpickles
  it and asks the authority for a token with its worker grant);
* the official SDK ``box_sdk_gen`` (``downloads.download_file``), sequentially and with a pool
  of 8 threads, with an access token of its own (issued for an hour: it cannot refresh).

Figures per round: files per second (MB/s is files/s x 20 KB); for the cluster, token pulls per
second at the authority (its audit trail's ``grant-token`` events) and refreshes per token
lifetime (Box refreshes counted by the emulator, over the number of 18 s periods, 20 s less the
2 s refresh margin, that the cluster's reading began: a round shorter than a lifetime meets at
most one expiry, so one refresh in it is 1.00, not the refresh over a fraction of a lifetime).
The only other Box fsspec package (``boxfs`` 0.3.0)
cannot be pickled (``cannot pickle '_thread.lock'``), so no peer runs on the cluster.
The 8 files of 50 MB and the 10,000-item listing of issue 20's benchmark are section 10
(``bench/large.py``), which reads in the same setting (``setting``).
"""

from __future__ import annotations

import contextlib
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from box_widget import audit
from box_widget.boxfs import BoxFileSystem
from box_widget.cli.demo_lab import free_port
from box_widget.emulator import BoxEmulator

from . import use_test_helpers
from .results import Figure, Row, Section, method

NAME = "bench"
LIFETIME = 20
SIZE = 20 * 1024
THREADS = 8


def _seed(emu: BoxEmulator, files: int) -> list[tuple[str, str]]:
    """``Bench/small/f0000.csv``...: (path, file id) of each."""
    content, user = emu.state.content, emu.user.id
    folder = content.add_folder(user, content.add_folder(user, "0", "Bench").id, "small")
    line = b"city,temp\n" + b"Oslo,12\n" * ((SIZE - 10) // 8)
    made = []
    for i in range(files):
        name = f"f{i:04d}.csv"
        data = line + b"x" * (SIZE - len(line))
        made.append((f"Bench/small/{name}", content.add_file(user, folder.id, name, data).id))
    return made


@contextlib.contextmanager
def _environment(**values: str) -> Iterator[None]:
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _timed(work: Callable[[], Any]) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def _cat(path: str, fs: BoxFileSystem) -> int:
    return len(fs.cat(path))


def _sdk(emu: BoxEmulator) -> Any:
    from box_sdk_gen import BoxClient, BoxDeveloperTokenAuth, NetworkSession
    from support.emulator_flow import base_urls, tokens_for

    emu.settings.access_token_lifetime = 3600  # the SDK's token cannot refresh: an hour's
    try:
        token = tokens_for(emu)["access_token"]
    finally:
        emu.settings.access_token_lifetime = LIFETIME
    session = NetworkSession(base_urls=base_urls(emu))
    return BoxClient(BoxDeveloperTokenAuth(token=token), network_session=session)


def _sdk_read(client: Any, file_id: str) -> int:
    return len(client.downloads.download_file(file_id).read())


@dataclass
class Setting:
    """What a round reads with: the authority's home, the cluster's client, box:// and the SDK."""

    home: Path
    client: Any
    fs: BoxFileSystem
    sdk: Any


@contextlib.contextmanager
def setting(emu: BoxEmulator, tmp: Path) -> Iterator[Setting]:
    """A jupyter server (the workers' token authority) with a connection in its vault, this
    process as its kernel, a 4-worker ``LocalCluster`` with no vault, and an SDK client."""
    use_test_helpers()
    import distributed
    from support import emulator_flow
    from support.jupyter_server import running_server

    with running_server(tmp / "server", free_port(), emu.endpoints.to_dict()) as server:
        kernel = {
            "BOX_WIDGET_HOME": str(server.home),
            "BOX_WIDGET_KEYRING": "0",
            "BOX_WIDGET_PROGRESS": "0",
            "JUPYTER_SERVER_URL": server.url,
            "JUPYTER_RUNTIME_DIR": str(server.runtime),
        }
        workers = {
            "HOME": str(tmp / "worker"),
            "BOX_WIDGET_HOME": str(tmp / "worker-vault"),
            "JUPYTER_SERVER_URL": "",
            "JUPYTER_RUNTIME_DIR": str(tmp / "worker" / "runtime"),
        }
        with (
            _environment(**kernel),
            distributed.LocalCluster(
                n_workers=4,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=":0",
                env=workers,
            ) as cluster,
            distributed.Client(cluster) as client,
        ):
            emulator_flow.connect(emu, server.home, NAME)
            yield Setting(server.home, client, BoxFileSystem(NAME), _sdk(emu))


def measure(files: int = 500, runs: int = 2) -> Section:
    """Read ``files`` small files ``runs`` times each way (see the module docstring)."""
    seconds: dict[str, list[float]] = {}
    pulls: list[float] = []
    per_life: list[float] = []
    with tempfile.TemporaryDirectory() as tmp, BoxEmulator() as emu:
        emu.settings.access_token_lifetime = LIFETIME
        made = _seed(emu, files)
        paths = [p for p, _ in made]
        with setting(emu, Path(tmp)) as s:
            fs, sdk, client = s.fs, s.sdk, s.client
            fs.ls("Bench/small")
            for _ in range(runs):
                seconds.setdefault("sequential", []).append(
                    _timed(lambda: [fs.cat(p) for p in paths])
                )
                with ThreadPoolExecutor(THREADS) as pool:
                    seconds.setdefault("threads", []).append(
                        _timed(lambda: list(pool.map(fs.cat, paths)))
                    )
                seconds.setdefault("sdk sequential", []).append(
                    _timed(lambda: [_sdk_read(sdk, i) for _, i in made])
                )
                with ThreadPoolExecutor(THREADS) as pool:
                    seconds.setdefault("sdk threads", []).append(
                        _timed(lambda: list(pool.map(lambda m: _sdk_read(sdk, m[1]), made)))
                    )
                before = len(_events(s.home, "grant-token"))
                refreshes = emu.counters()["refreshes"]
                took = _timed(lambda: client.gather(client.map(_cat, paths, fs=fs, pure=False)))
                seconds.setdefault("cluster", []).append(took)
                pulls.append((len(_events(s.home, "grant-token")) - before) / took)
                per_life.append((emu.counters()["refreshes"] - refreshes) / lifetimes(took))
    return _section(files, seconds, pulls, per_life)


def lifetimes(took: float) -> int:
    """How many token expiries a reading of ``took`` seconds can meet at most: one per 18 s
    (20 s tokens, refreshed 2 s early) begun, so a short round meeting one expiry counts 1."""
    return max(1, math.ceil(took / (LIFETIME - 2)))


def _events(home: Path, event: str) -> list[dict[str, Any]]:
    return [e for e in audit.read(home, NAME) if e["event"] == event]


def transfer_rows(what: str, rate: Callable[[str], Figure]) -> list[Row]:
    """The rows every transfer comparison has: box:// against the official SDK, sequential
    and with threads, then the cluster (no peer: boxfs cannot be pickled); ``rate(key)`` is a
    way's figure."""
    return [
        Row(
            f"{what}, one process, sequential",
            rate("sequential"),
            rate("sdk sequential"),
            "official SDK, sequential",
            higher_is_better=True,
        ),
        Row(
            f"{what}, one process, {THREADS} threads",
            rate("threads"),
            rate("sdk threads"),
            f"official SDK, {THREADS} threads",
            higher_is_better=True,
        ),
        Row(
            f"{what}, 4-worker LocalCluster (workers with grants, no vault)",
            rate("cluster"),
            peer_text="none: boxfs 0.3.0 cannot be pickled",
            higher_is_better=True,
        ),
    ]


def _section(
    files: int, seconds: dict[str, list[float]], pulls: list[float], per_life: list[float]
) -> Section:
    def rate(key: str) -> Figure:
        return Figure([files / s for s in seconds[key]], "files/s")

    what = f"{files} files of 20 KB"
    rows = [
        *transfer_rows(what, rate),
        Row("… token pulls at the authority", Figure(pulls, "pulls/s"), compare=False),
        Row(
            "… Box refreshes per token lifetime (20 s tokens)",
            Figure(per_life, "refreshes"),
            goal="<= 1",
            met=max(per_life) <= 1.0 + 1e-9 if per_life else None,
            compare=False,
        ),
    ]
    notes = [f"MB/s = files/s x {SIZE / 1e6:.3f} MB."]
    return Section(
        "cluster", "8. Many small files: threads and a Dask cluster", method(__doc__), rows, notes
    )


if __name__ == "__main__":
    import json

    print(json.dumps(measure(files=100, runs=1).to_dict(), indent=1))
