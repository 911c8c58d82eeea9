"""``python -m bench [--quick] [--only a,b] [--FIELD N ...]``: run the benchmarks, write
``bench/RESULTS.md`` (a full run at the issue's counts; a partial or quick run writes its table
under ``bench/out/`` instead) and the raw figures as JSON under ``bench/out/``. A full run also
saves its samples in ``bench/samples/`` and rewrites the README's headline block from them.

``python -m bench --check`` recomputes RESULTS.md and the README's headlines from
``bench/samples/`` and fails if either differs from the committed text; ``--render`` rewrites
them from the samples.

To add a benchmark: a module ``bench/NAME.py`` whose ``measure(...)`` returns a
``bench.results.Section`` (or its dict), and one ``Benchmark`` line in ``BENCHMARKS``.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import importlib.util
import json
import logging
import shlex
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from . import REPO, Options, Unavailable, machine, readme, samples
from .report import render
from .results import Section

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Benchmark:
    """One benchmark: its module and how to call its ``measure`` with the options."""

    key: str
    title: str
    module: str
    call: Callable[[Any, Options], Section | dict[str, Any]]
    #: Shown instead of figures while the module does not exist yet.
    pending: str = ""


BENCHMARKS = [
    Benchmark(
        "callback",
        "1. Callback to tokens saved",
        "bench.callback",
        lambda m, o: m.measure(flows=o.flows),
    ),
    Benchmark(
        "browser",
        '2. Click to "Connected" in a browser',
        "bench.browser",
        lambda m, o: m.measure(runs=o.browser_runs),
    ),
    Benchmark(
        "overhead",
        "3. Per-request overhead",
        "bench.overhead",
        lambda m, o: m.measure(requests=o.requests, rounds=o.overhead_rounds),
    ),
    Benchmark(
        "storm",
        "4. Refresh storm",
        "bench.storm",
        lambda m, o: m.measure(runs=o.storm_runs, seconds=o.storm_seconds),
    ),
    Benchmark(
        "imports", "5. Cold import", "bench.imports", lambda m, o: m.measure(runs=o.import_runs)
    ),
    Benchmark(
        "transfers",
        "6. File transfers",
        "bench.transfers",
        lambda m, o: m.measure(o.size_download, o.size_upload, o.transfer_runs),
    ),
    Benchmark(
        "flood",
        "7. Status API during a callback flood",
        "bench.flood",
        lambda m, o: m.measure(floods=o.floods),
    ),
    Benchmark(
        "cluster",
        "8. Many small files: threads and a Dask cluster",
        "bench.cluster",
        lambda m, o: m.measure(files=o.small_files, runs=o.cluster_runs),
    ),
    Benchmark(
        "hub",
        "9. Token pulls from the JupyterHub service",
        "bench.hub",
        lambda m, o: m.measure(
            kernels=o.hub_kernels, seconds=o.hub_seconds, connections=o.hub_connections
        ),
    ),
    Benchmark(
        "large",
        "10. Large files (threads, a Dask cluster) and a long listing",
        "bench.large",
        lambda m, o: m.measure(
            files=o.large_files,
            size=o.large_size,
            runs=o.large_runs,
            items=o.listing_items,
            listing_runs=o.listing_runs,
        ),
    ),
]


def run_one(bench: Benchmark, options: Options) -> Section:
    """Run one benchmark; a missing module or a crash becomes a section saying so."""
    if importlib.util.find_spec(bench.module) is None:
        return Section(
            bench.key, bench.title, pending=bench.pending or f"`{bench.module}` is missing."
        )
    started = time.perf_counter()
    print(f"== {bench.title}", flush=True)
    try:
        outcome = bench.call(importlib.import_module(bench.module), options)
    except Unavailable as exc:
        return Section(bench.key, bench.title, pending=f"Not measured on this machine: {exc}")
    except Exception as exc:
        traceback.print_exc()
        return Section(
            bench.key, bench.title, pending=f"Failed in this run: {type(exc).__name__}: {exc}"[:500]
        )
    if isinstance(outcome, Section):
        section = outcome
    elif "rows" in outcome:
        section = Section.from_dict({"key": bench.key, "title": bench.title, **outcome})
    else:  # a plain dict of figures: shown as they are, until the module returns rows
        section = Section(
            bench.key,
            bench.title,
            raw=outcome,
            notes=[f"{name}: {json.dumps(value)}" for name, value in outcome.items()],
        )
    section.title = bench.title
    section.seconds = time.perf_counter() - started
    print(f"   done in {section.seconds:.0f} s", flush=True)
    return section


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="a short smoke run")
    parser.add_argument(
        "--only",
        default="",
        metavar="A,B",
        help="run only these: " + ", ".join(b.key for b in BENCHMARKS),
    )
    parser.add_argument(
        "--results",
        type=Path,
        default=None,
        help="where to write the table (default: bench/RESULTS.md for a full "
        "run of every benchmark at the issue's counts, else "
        "bench/out/RESULTS-<time>.md, so a partial run never replaces "
        "the committed table)",
    )
    parser.add_argument(
        "--out", type=Path, default=HERE / "out", help="folder for the raw JSON (default bench/out)"
    )
    parser.add_argument("--note", default="", help="a line about the conditions of this run")
    parser.add_argument(
        "--check",
        action="store_true",
        help="run nothing: recompute RESULTS.md and the README's headlines from "
        "bench/samples/ and fail if they differ from the committed text",
    )
    parser.add_argument(
        "--render",
        action="store_true",
        help="run nothing: rewrite RESULTS.md and the README's headlines from bench/samples/",
    )
    for field in dataclasses.fields(Options):
        if field.name != "quick":
            parser.add_argument(
                "--" + field.name.replace("_", "-"),
                type=type(field.default),
                help=f"default {field.default}, quick {getattr(Options.quick_run(), field.name)}",
            )
    return parser.parse_args(argv)


def expected_texts(saved: samples.SavedRun) -> dict[Path, str]:
    """RESULTS.md and README.md as the saved samples give them."""
    block = readme.headlines(saved.sections, saved.machine)
    return {
        HERE / "RESULTS.md": saved.render(),
        readme.README: readme.splice(readme.README.read_text(encoding="utf-8"), block),
    }


def check() -> int:
    """0 if RESULTS.md and the README's headlines are what bench/samples/ gives, else 1."""
    stale = [
        path
        for path, text in expected_texts(samples.load()).items()
        if path.read_text(encoding="utf-8") != text
    ]
    for path in stale:
        print(
            f"{_shown(path)} differs from what bench/samples/ gives: a figure was edited by "
            "hand, or the samples are from another run (`python -m bench --render` rewrites "
            "it from the samples)",
            file=sys.stderr,
        )
    if not stale:
        print("RESULTS.md and the README's headlines match bench/samples/")
    return 1 if stale else 0


def write_from_samples() -> None:
    for path, text in expected_texts(samples.load()).items():
        path.write_text(text, encoding="utf-8")
        print(f"wrote {_shown(path)}")


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    if args.check:
        return check()
    if args.render:
        write_from_samples()
        return 0
    options = Options.quick_run() if args.quick else Options()
    overrides = {
        f.name: getattr(args, f.name)
        for f in dataclasses.fields(Options)
        if f.name != "quick" and getattr(args, f.name) is not None
    }
    options = dataclasses.replace(options, **overrides)
    wanted = {key.strip() for key in args.only.split(",") if key.strip()}
    unknown = wanted - {b.key for b in BENCHMARKS}
    if unknown:
        print(f"unknown benchmark(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2

    # The in-process emulators' access log (every 4xx of a refresh storm) is not a result.
    logging.getLogger("tornado.access").setLevel(logging.CRITICAL)
    started = time.perf_counter()
    load_before = machine.load_average()
    sections = [
        run_one(b, options)
        if not wanted or b.key in wanted
        else Section(b.key, b.title, pending="Not run this time (`--only`).")
        for b in BENCHMARKS
    ]
    about = {
        **machine.describe(),
        "quick": options.quick,
        "note": args.note,
        "seconds": time.perf_counter() - started,
        "load": {"before": load_before, "after": machine.load_average()},
        "options": dataclasses.asdict(options),
    }
    command = "python -m bench" + (
        " " + shlex.join(argv if argv is not None else sys.argv[1:])
        if (argv if argv is not None else sys.argv[1:])
        else ""
    )
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    results = args.results or (
        HERE / "RESULTS.md" if options.complete and not wanted else args.out / f"RESULTS-{stamp}.md"
    )
    results.parent.mkdir(parents=True, exist_ok=True)
    results.write_text(render(about, sections, command), encoding="utf-8")
    if results == HERE / "RESULTS.md":  # the committed table: keep its samples, and headlines
        samples.save(samples.SavedRun(command, about, sections))
        write_from_samples()
    args.out.mkdir(parents=True, exist_ok=True)
    raw = args.out / f"results-{stamp}.json"
    raw.write_text(
        json.dumps({"machine": about, "sections": [s.to_dict() for s in sections]}, indent=1),
        encoding="utf-8",
    )
    print(f"wrote {_shown(results)} and {_shown(raw)}")
    failed = [s.key for s in sections if s.pending.startswith("Failed")]
    return 1 if failed else 0


def _shown(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(REPO))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
