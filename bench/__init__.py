"""Benchmarks of box-widget against its peers: ``python -m bench`` writes ``bench/RESULTS.md``.

Speed is shown here, never asserted in the tests. Each module measures one thing and returns a
``bench.results.Section``; ``bench.__main__`` runs them and renders the table.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

REPO = Path(__file__).resolve().parents[1]
TESTS = REPO / "tests"


def use_test_helpers() -> None:
    """Make the test suite's plain helper modules (``emulator_flow``, ``storm_flow``,
    ``browser.harness``) importable under the names pytest gives them."""
    if str(TESTS) not in sys.path:
        sys.path.insert(0, str(TESTS))


class Unavailable(RuntimeError):
    """A benchmark cannot run on this machine (e.g. no Chromium): why, and what to install."""


@dataclass(frozen=True)
class Options:
    """How much to measure. ``quick()`` is a smoke run; the defaults are the issue's counts."""

    flows: int = 200  # callback: sign-ins
    browser_runs: int = 10  # click to "Connected"
    requests: int = 2000  # overhead: GET users/me per client
    overhead_rounds: int = 10  # ... split into this many interleaved rounds
    storm_runs: int = 3  # refresh storm: runs per client
    storm_seconds: float = 13.0  # ... each this long (2 s tokens: >= 5 expiries, with room)
    import_runs: int = 20  # fresh interpreters per import
    size_download: int = 1_000_000_000  # file transfers: bytes down, bytes up (chunked)
    size_upload: int = 200_000_000
    transfer_runs: int = 3  # ... rounds
    floods: int = 10  # 500 callbacks at once, while the status API is polled
    small_files: int = 500  # many small files: one process, threads, a Dask cluster
    cluster_runs: int = 2  # ... rounds
    large_files: int = 8  # large files: through box://, threads, a Dask cluster
    large_size: int = 50_000_000  # ... each this many bytes
    large_runs: int = 2  # ... rounds
    listing_items: int = 10_000  # a long listing (marker pagination): items in the folder
    listing_runs: int = 3  # ... listings each way
    hub_kernels: int = 200  # hub service: simulated kernels pulling tokens
    hub_seconds: float = 15.0  # ... for this long (5 s tokens: a few expiries)
    hub_connections: int = 1000  # ... then this many users' connections in its vault
    quick: bool = False

    #: The issue's minimum counts: a run with fewer is partial (it does not replace RESULTS.md).
    MINIMUM: ClassVar[dict[str, int]] = {
        "flows": 200,
        "browser_runs": 10,
        "requests": 2000,
        "size_download": 1_000_000_000,
        "size_upload": 200_000_000,
        "hub_kernels": 200,
        "hub_connections": 1000,
        "large_files": 8,
        "large_size": 50_000_000,
        "listing_items": 10_000,
    }

    @property
    def complete(self) -> bool:
        """Whether every count is at least the issue's."""
        return not self.quick and all(getattr(self, k) >= v for k, v in self.MINIMUM.items())

    @classmethod
    def quick_run(cls) -> Options:
        return cls(
            flows=20,
            browser_runs=2,
            requests=300,
            overhead_rounds=3,
            storm_runs=1,
            storm_seconds=4.5,
            import_runs=5,
            size_download=50_000_000,
            size_upload=25_000_000,
            transfer_runs=1,
            floods=2,
            small_files=60,
            cluster_runs=1,
            large_files=4,
            large_size=5_000_000,
            large_runs=1,
            listing_items=2000,
            listing_runs=2,
            hub_kernels=16,
            hub_seconds=6.0,
            hub_connections=50,
            quick=True,
        )
