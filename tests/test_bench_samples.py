"""The committed benchmark figures come from kept samples: ``bench/RESULTS.md`` and the README's
headline block are what ``bench/samples/`` gives, and nothing else in the README quotes a
measured figure (issue 18, items 9 and 10)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from bench import readme, samples

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "RESULTS.md"
#: A measured figure: a ratio, a duration in ms/µs, a throughput, a test-suite time.
MEASURED = re.compile(r"\d[\d.,]*\s*(?:\u00d7|x\b|ms\b|µs\b|MiB/s|minutes\b)")


def test_python_m_bench_check_passes_on_the_committed_files() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bench", "--check"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_table_is_recomputed_from_the_samples() -> None:
    saved = samples.load()
    assert saved.render() == RESULTS.read_text(encoding="utf-8")
    row = next(r for s in saved.sections for r in s.rows if r.ours and len(r.ours.samples) > 1)
    row.ours.samples = [value * 3 for value in row.ours.samples]  # another run's samples
    assert saved.render() != RESULTS.read_text(encoding="utf-8")


def test_every_section_of_the_table_has_its_samples() -> None:
    saved = samples.load()
    measured = [s for s in saved.sections if not s.pending]
    assert measured, "the saved run measured nothing"
    for section in measured:
        for row in section.rows:
            for figure in (row.ours, row.peer):
                assert figure is None or figure.samples, (section.key, row.measure)


def test_the_readme_quotes_no_measured_figure_outside_the_generated_block() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    start, end = text.index(readme.BEGIN), text.index(readme.END)
    block = text[start:end]
    assert readme.headlines(samples.load().sections, samples.load().machine) in block
    outside = text[:start] + text[end:]
    assert MEASURED.findall(outside) == []
