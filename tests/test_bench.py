"""``python -m bench`` runs and writes a filled-in results table (a smoke run of a few of the
benchmarks with tiny counts; no timing is asserted: speed is shown in bench/RESULTS.md)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from bench import Options, readme
from bench.results import Section

REPO = Path(__file__).resolve().parents[1]
RUN = ["callback", "overhead", "imports", "flood"]


def stop_with_descendants(process: subprocess.Popen[str]) -> None:
    """Kill what the bench started (a Jupyter server in its own session, emulator processes)
    and then the bench itself, each by its pid; nothing if all have exited."""
    with contextlib.suppress(psutil.Error):
        for child in psutil.Process(process.pid).children(recursive=True):
            with contextlib.suppress(psutil.Error):
                child.kill()
    if process.poll() is None:
        process.kill()
        process.wait(10)


def run_bench(*args: str, timeout: float) -> None:
    """``python -m bench ARGS`` from the repository, which must succeed within ``timeout``."""
    with subprocess.Popen(
        [sys.executable, "-m", "bench", *args],
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as bench:
        try:
            stdout, stderr = bench.communicate(timeout=timeout)
        finally:
            stop_with_descendants(bench)
    assert bench.returncode == 0, stdout[-3000:] + stderr[-3000:]


@pytest.mark.timeout(180)
def test_bench_writes_results_with_every_row_filled(tmp_path: Path) -> None:
    results, out = tmp_path / "RESULTS.md", tmp_path / "out"
    run_bench(
        "--quick",
        "--only",
        ",".join(RUN),
        "--flows",
        "3",
        "--requests",
        "30",
        "--overhead-rounds",
        "3",
        "--import-runs",
        "2",
        "--floods",
        "2",
        "--results",
        str(results),
        "--out",
        str(out),
        "--note",
        "smoke test",
        timeout=170,
    )
    text = results.read_text()
    assert "smoke test" in text
    assert "Python " in text
    assert "boxsdk " in text
    [raw] = out.glob("results-*.json")
    data = json.loads(raw.read_text())
    sections = {s["key"]: s for s in data["sections"]}
    assert set(sections) == {
        "callback",
        "browser",
        "overhead",
        "storm",
        "imports",
        "transfers",
        "flood",
        "cluster",
        "hub",
        "large",
    }
    for key in RUN:
        section = sections[key]
        assert not section["pending"], section["pending"]
        assert section["rows"], key
        for row in section["rows"]:
            assert row["ours"]["n"] >= 2, row
            assert row["ours"]["median"] > 0, row
            # a row with a goal says whether it was met, or why its figures cannot settle it
            # ("within noise"); an informative row has neither
            settled = row["met"] is not None or bool(row.get("verdict"))
            assert settled == (row["goal"] != ""), row
            assert f"| {row['measure']} | **" in text
    assert "Not run this time" in text
    assert sections["transfers"]["pending"]
    # the peer is measured in the same run wherever there is one
    for key in ("callback", "overhead", "imports"):
        row = sections[key]["rows"][0]
        assert row["peer"]["n"] == row["ours"]["n"], row
        if key == "callback":  # the SDK's in-process exchange is context: no ratio
            assert not row["compare"], row
            assert row["ratio"] is None, row
        else:
            assert row["ratio"] > 0, row


def test_the_default_run_uses_at_least_the_issues_counts() -> None:
    """What ``python -m bench`` measures without flags: the counts issue 7 asks for."""
    options = Options()
    assert options.complete
    assert (options.flows, options.browser_runs, options.requests) >= (200, 10, 2000)
    assert options.storm_seconds >= 12  # 2 s tokens, refreshed 0.2 s early: 5 expiries, and room
    assert (options.size_download, options.size_upload) == (1_000_000_000, 200_000_000)
    assert not Options.quick_run().complete


def test_a_partial_run_does_not_replace_the_committed_table(tmp_path: Path) -> None:
    """--only (like --quick, or smaller counts) writes its table under --out, not RESULTS.md."""
    committed = (REPO / "bench" / "RESULTS.md").read_bytes()
    out = tmp_path / "out"
    run_bench("--quick", "--only", "imports", "--import-runs", "1", "--out", str(out), timeout=120)
    assert (REPO / "bench" / "RESULTS.md").read_bytes() == committed
    [table] = out.glob("RESULTS-*.md")
    assert "Not run this time" in table.read_text()


@pytest.mark.timeout(300)
def test_bench_hub_runs_through_a_real_hub(tmp_path: Path) -> None:
    """``python -m bench --quick --only hub``: a real JupyterHub, its proxy and the service;
    the section, its rows and the README headline render (no figure is judged here)."""
    results, out = tmp_path / "RESULTS.md", tmp_path / "out"
    run_bench("--quick", "--only", "hub", "--results", str(results), "--out", str(out), timeout=280)
    [raw] = out.glob("results-*.json")
    section = next(s for s in json.loads(raw.read_text())["sections"] if s["key"] == "hub")
    assert not section["pending"], section["pending"]
    pull, inside, per_expiry = section["rows"]
    assert pull["ours"]["n"] >= 2 and inside["ours"]["n"] >= 2
    assert per_expiry["ours"]["n"] == 1 and per_expiry["goal"] == "1.00"
    assert section["raw"]["failures"] == 0
    text = results.read_text()
    assert "9. Token pulls from the JupyterHub service" in text
    assert f"| {pull['measure']} | **" in text
    headline = readme.headlines([Section.from_dict(section)], {})
    assert "simulated kernels pulling access tokens from the JupyterHub service" in headline


def test_the_large_files_and_listing_rows_render() -> None:
    """Section 10's rows in the table: MB/s against the SDK's, the cluster row saying why it
    has no peer, the listing's time and its requests counted for both clients."""
    from bench import large
    from bench.report import render

    seconds = {
        k: [2.0, 4.0]
        for k in ("sequential", "threads", "cluster", "sdk sequential", "sdk threads", "ls")
    }
    seconds["sdk ls"] = [1.0, 1.0]
    section = large._section(8, 50_000_000, 10_000, seconds, {"ls": [10, 10], "sdk ls": [10, 10]})
    sequential, threads, cluster, listing, requests = section.rows
    assert sequential.ours is not None and sequential.ours.samples == [200.0, 100.0]
    assert sequential.ratio == 1.0 and threads.peer_name == "official SDK, 8 threads"
    assert cluster.peer is None and "boxfs 0.3.0 cannot be pickled" in cluster.peer_text
    assert listing.ratio == 3.0  # 3 s against 1 s: lower is better
    assert requests.ours is not None and requests.ours.median == 10 and requests.ratio is None
    text = render(
        {
            "date": "today",
            "seconds": 1,
            "quick": True,
            "cpu": "cpu",
            "cores": 2,
            "memory_gib": 1,
            "os": "os",
            "python": "3",
            "versions": {},
            "load": {"before": 0, "after": 0},
        },
        [section],
        "python -m bench",
    )
    assert "| 8 files of 50 MB, one process, sequential | **150 MB/s** " in text
    assert "none: boxfs 0.3.0 cannot be pickled" in text
    assert "| list a folder of 10,000 items (marker pagination) | **3,000 ms** " in text
    assert "| … requests made for that listing | **10.0 requests** " in text
    assert "## 10. Large files (threads, a Dask cluster) and a long listing" in text
