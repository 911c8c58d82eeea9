"""What a benchmark hands back: figures (samples summarised), rows, and a section per benchmark.

Every benchmark module's ``measure(...)`` returns a ``Section`` or the same thing as a plain dict
(``Section.to_dict()``'s shape), so that a module may be written without importing this one:

    {"key": "transfers", "title": "6. File transfers", "method": "how it was measured",
     "rows": [{"measure": "download 1 GB", "ours": FIGURE, "peer": FIGURE | None,
               "peer_name": "official SDK", "goal": "...", "met": True | False | None,
               "higher_is_better": True}],
     "notes": ["..."], "raw": {...}}

where FIGURE is ``{"samples": [...], "unit": "MB/s"}`` (``Figure.to_dict()`` adds the summary).
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


def method(doc: str | None) -> str:
    """How a benchmark measures: its module docstring after the first paragraph."""
    parts = (doc or "").split("\n\n", 1)
    return parts[1].strip() if len(parts) > 1 else ""


def quantile(samples: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of ``samples``, linear between the closest ranks."""
    ordered = sorted(samples)
    if not ordered:
        msg = "no samples"
        raise ValueError(msg)
    position = q * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class Figure:
    """Repeated measurements of one quantity, in ``unit``."""

    samples: list[float]
    unit: str

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        return quantile(self.samples, 0.95)

    @property
    def iqr(self) -> tuple[float, float]:
        return quantile(self.samples, 0.25), quantile(self.samples, 0.75)

    def to_dict(self) -> dict[str, Any]:
        low, high = self.iqr
        return {
            "unit": self.unit,
            "n": len(self.samples),
            "median": self.median,
            "p95": self.p95,
            "p25": low,
            "p75": high,
            "min": min(self.samples),
            "max": max(self.samples),
            "samples": self.samples,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Figure:
        return cls([float(x) for x in data["samples"]], str(data["unit"]))


@dataclass
class Row:
    """One line of the results table: our figure, the peer's from the same run, the goal."""

    measure: str
    ours: Figure | None
    peer: Figure | None = None
    peer_name: str = ""
    goal: str = ""
    met: bool | None = None
    #: For throughput-like figures: the ratio then reads "how many times the peer's".
    higher_is_better: bool = False
    #: A figure that is a plain count or text rather than samples (e.g. "0 failures").
    ours_text: str = ""
    peer_text: str = ""
    #: False for counts, where "ours / peer" means nothing (0 failures vs 600).
    compare: bool = True
    #: Shown instead of yes/no when the figures cannot settle the goal (e.g. "within noise":
    #: the goal's bound lies inside the run's own round-to-round spread).
    verdict: str = ""

    @property
    def ratio(self) -> float | None:
        """ours / peer (medians)."""
        if not self.compare or self.ours is None or self.peer is None or self.peer.median == 0:
            return None
        return self.ours.median / self.peer.median

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "ours": self.ours.to_dict() if self.ours else None,
            "peer": self.peer.to_dict() if self.peer else None,
            "peer_name": self.peer_name,
            "goal": self.goal,
            "met": self.met,
            "higher_is_better": self.higher_is_better,
            "ratio": self.ratio,
            "ours_text": self.ours_text,
            "peer_text": self.peer_text,
            "compare": self.compare,
            "verdict": self.verdict,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Row:
        def figure(value: Any) -> Figure | None:
            return Figure.from_dict(value) if value else None

        return cls(
            measure=data["measure"],
            ours=figure(data.get("ours")),
            peer=figure(data.get("peer")),
            peer_name=data.get("peer_name", ""),
            goal=data.get("goal", ""),
            met=data.get("met"),
            higher_is_better=bool(data.get("higher_is_better", False)),
            ours_text=data.get("ours_text", ""),
            peer_text=data.get("peer_text", ""),
            compare=bool(data.get("compare", True)),
            verdict=data.get("verdict", ""),
        )


@dataclass
class Section:
    """One benchmark's outcome: how it was measured, its rows, notes, and raw data (JSON)."""

    key: str
    title: str
    method: str = ""
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)
    #: Set instead of rows when the benchmark could not run (why, and what it waits for).
    pending: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "method": self.method,
            "rows": [row.to_dict() for row in self.rows],
            "notes": self.notes,
            "raw": self.raw,
            "pending": self.pending,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Section:
        return cls(
            key=data["key"],
            title=data["title"],
            method=data.get("method", ""),
            rows=[Row.from_dict(r) for r in data.get("rows", [])],
            notes=list(data.get("notes", [])),
            raw=dict(data.get("raw", {})),
            pending=data.get("pending", ""),
            seconds=float(data.get("seconds", 0.0)),
        )
