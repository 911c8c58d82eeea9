"""``bench/samples/results.json.gz``: every sample behind the committed ``bench/RESULTS.md``.

A full run saves its sections (samples, notes, raw figures) and the machine it ran on here,
gzipped JSON; ``render_saved()`` recomputes RESULTS.md from them (every median, spread and
ratio is computed again from the samples), so ``python -m bench --check`` can tell whether the
committed table is the one its samples give.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .report import render
from .results import Section

HERE = Path(__file__).resolve().parent
SAMPLES = HERE / "samples" / "results.json.gz"


@dataclass
class SavedRun:
    """One full run as saved: how it was started, the machine, its sections."""

    command: str
    machine: dict[str, Any]
    sections: list[Section]

    def render(self) -> str:
        """RESULTS.md as this run's samples give it."""
        return render(self.machine, self.sections, self.command)


def save(run: SavedRun, path: Path = SAMPLES) -> None:
    """Write the run, gzipped (no timestamp in the gzip header: the same run, the same bytes)."""
    data = {
        "command": run.command,
        "machine": run.machine,
        "sections": [section.to_dict() for section in run.sections],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, separators=(",", ":"), sort_keys=True)
    path.write_bytes(gzip.compress(text.encode(), compresslevel=9, mtime=0))


def load(path: Path = SAMPLES) -> SavedRun:
    """The saved run."""
    data = json.loads(gzip.decompress(path.read_bytes()))
    return SavedRun(
        command=data["command"],
        machine=data["machine"],
        sections=[Section.from_dict(section) for section in data["sections"]],
    )
