"""5. Cold import: what a kernel pays for ``import box_widget``, vs the official SDK.

Each run is a fresh interpreter (``python -c``) that times the import statement itself with
``time.perf_counter`` (so interpreter start-up is not counted, and no baseline is subtracted),
then reports whether ``jupyter_server`` got imported. The statements are interleaved run by
run, so that a busy moment of the machine hits them alike. The file cache is warm and ``.pyc``
files exist, as on a kernel's second start.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
from typing import Any

from .results import Figure, Row, Section, method

PROBE = """
import json, sys, time
started, started_cpu = time.perf_counter(), time.process_time()
exec(sys.argv[1])
elapsed, cpu = time.perf_counter() - started, time.process_time() - started_cpu
print(json.dumps({"seconds": elapsed, "cpu": cpu, "jupyter_server": "jupyter_server" in sys.modules,
                  "modules": len(sys.modules)}))
"""
#: (label, ours, the peer's equivalent)
PAIRS = [
    ("`import box_widget`", "import box_widget", "import box_sdk_gen"),
    (
        "`from box_widget import BoxConnection` (what a notebook runs)",
        "from box_widget import BoxConnection",
        "from box_sdk_gen import BoxClient, BoxOAuth",
    ),
]
LIMIT = 0.35  # seconds


def probe(statement: str, cwd: str) -> dict[str, Any]:
    """One fresh interpreter running ``statement``: its time and what it imported."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, statement],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
    )
    if done.returncode != 0:
        msg = f"{statement!r} failed: {done.stderr.strip()[-500:]}"
        raise RuntimeError(msg)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def measure(runs: int) -> Section:
    statements = [s for _, ours, peer in PAIRS for s in (ours, peer)]
    seen: dict[str, list[dict[str, Any]]] = {s: [] for s in statements}
    with tempfile.TemporaryDirectory() as cwd:  # not the repository: nothing shadows a package
        for statement in statements:  # warm the file cache and the .pyc files, not counted
            probe(statement, cwd)
        for run in range(runs):
            shift = run % len(statements)
            for statement in statements[shift:] + statements[:shift]:
                seen[statement].append(probe(statement, cwd))

    def figure(statement: str) -> Figure:
        return Figure([r["seconds"] for r in seen[statement]], "s")

    def jupyter(statement: str) -> bool:
        return any(r["jupyter_server"] for r in seen[statement])

    rows, notes = [], []
    for index, (label, ours, peer) in enumerate(PAIRS):
        mine = figure(ours)
        clean = not jupyter(ours)
        modules = seen[ours][-1]["modules"]
        text = f", {modules} modules, jupyter_server {'not imported' if clean else '**imported**'}"
        row = Row(
            label,
            mine,
            figure(peer),
            "`" + peer + "`",
            ours_text=text,
            peer_text=f", {seen[peer][-1]['modules']} modules",
        )
        if index == 0:
            row.goal = f"median < {LIMIT} s, no jupyter_server"
            row.met = mine.median < LIMIT and clean
            if mine.median >= LIMIT:
                notes.append(
                    f"`import box_widget` took {mine.median:.3f} s (median), over "
                    f"the {LIMIT} s goal; `python -X importtime -c 'import "
                    "box_widget'` shows which module to defer."
                )
        rows.append(row)
    cpu = {s: statistics.median(r["cpu"] for r in seen[s]) for s in statements}
    notes.append(
        "CPU time of the import (medians; less disturbed by other load than the "
        "wall-clock figures above): " + ", ".join(f"`{s}` {cpu[s]:.3f} s" for s in statements) + "."
    )
    notes.append(
        "Fresh interpreter per run, the import statement timed inside it "
        "(no start-up, no baseline subtraction); first run per statement discarded "
        "(warm-up); statements interleaved."
    )
    return Section(
        "imports",
        "5. Cold import",
        method=method(__doc__),
        rows=rows,
        notes=notes,
        raw={s: seen[s] for s in statements},
    )
