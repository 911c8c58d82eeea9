"""The README's benchmark headlines, written from the saved samples (never by hand).

The block between ``BEGIN`` and ``END`` in README.md is rewritten by ``python -m bench`` after a
full run and by ``python -m bench --render``; ``python -m bench --check`` fails when it differs
from what ``bench/samples/`` gives.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path

from .report import number, round_ratios
from .results import Figure, Row, Section

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN = "<!-- bench:headlines begin (written by python -m bench from bench/samples/) -->"
END = "<!-- bench:headlines end -->"


class Missing(LookupError):
    """A row the headlines quote is not in the saved run."""


def _row(sections: list[Section], key: str, test: Callable[[Row], bool]) -> Row:
    for section in sections:
        if section.key == key:
            for row in section.rows:
                if test(row):
                    return row
    raise Missing(key)


def _median(figure: Figure | None) -> float:
    if figure is None:
        msg = "a figure the headline quotes"
        raise Missing(msg)
    return figure.median


def _mark(row: Row) -> str:
    if row.verdict:
        return row.verdict
    return {True: "met", False: "missed", None: "not judged"}[row.met]


def _sentences(sections: list[Section]) -> list[str]:
    said: list[str] = []

    def add(make: Callable[[], str]) -> None:
        # A benchmark that did not run, or did not finish, in the saved run: no headline.
        with contextlib.suppress(Missing):
            said.append(make())

    def callback() -> str:
        row = _row(sections, "callback", lambda r: r.measure.startswith("Callback"))
        assert row.ours is not None
        return (
            f"Box's callback to tokens saved: median {number(row.ours.median)} ms, p95 "
            f"{number(row.ours.p95)} ms (goal: p95 < 100 ms, {_mark(row)})"
        )

    def browser() -> str:
        row = _row(sections, "browser", lambda r: r.measure.startswith("Click Generate"))
        return (
            f'Generate to "Connected" in the browser: median {number(_median(row.ours))} s '
            f"(goal < 1.5 s, {_mark(row)})"
        )

    def overhead() -> str:
        plain = _row(sections, "overhead", lambda r: r.measure.startswith("`GET users/me`, wall"))
        sdk = _row(
            sections,
            "overhead",
            lambda r: r.measure == "`GET users/me`, wall time per request, vs official SDK",
        )
        rounds = round_ratios(next(s for s in sections if s.key == "overhead"))
        return (
            f"wall time per request {plain.ratio:.2f}× plain `requests` (goal within 5 %: "
            f"{_mark(plain)}; round by round the ratio ran from {min(rounds):.2f} to "
            f"{max(rounds):.2f}×) and {sdk.ratio:.2f}× the official SDK's"
        )

    def storm(mode: str, name: str) -> str:
        def pick(what: str, peer: str) -> Row:
            return _row(
                sections,
                "storm",
                lambda r: name in r.measure and what in r.measure and r.peer_name == peer,
            )

        failed = [pick("failed calls", p) for p in (FILE, CACHED)]
        attempts = pick("refresh attempts", FILE)
        peers = " and ".join(f"{number(_median(r.peer))}" for r in failed)
        return (
            f"a refresh storm of 8 processes × 4 threads on 2 s tokens, {mode}: box-widget "
            f"{number(_median(failed[0].ours))} failed calls and "
            f"{number(_median(attempts.ours))} refresh attempts per expiry per run (median), the "
            f"official SDK's two file token storages {peers} failed calls per run"
        )

    def imports() -> str:
        row = _row(sections, "imports", lambda r: r.measure == "`import box_widget`")
        return f"`import box_widget` in {number(_median(row.ours))} s (median)"

    def download() -> str:
        row = _row(
            sections, "transfers", lambda r: "peak memory" in r.measure and "down" in r.measure
        )
        return f"a 1 GB download at {number(_median(row.ours))} MiB client peak memory"

    def flood() -> str:
        row = _row(sections, "flood", lambda r: r.measure.startswith("Status API"))
        raw = next(s.raw for s in sections if s.key == "flood")
        floods = len(raw["attacks"])
        worst = max(row.ours.samples) if row.ours else float("nan")
        return (
            f"while 500 forged callbacks land at once, the slowest status poll per flood: "
            f"median {number(_median(row.ours))} ms over {floods} floods, slowest of all "
            f"{worst / 1000:.2f} s (goal: every poll within 1 s, {_mark(row)})"
        )

    def hub() -> str:
        pull = _row(sections, "hub", lambda r: r.measure.startswith("token pull through"))
        inside = _row(sections, "hub", lambda r: r.measure.startswith("… of which: inside"))
        per_expiry = _row(sections, "hub", lambda r: r.measure.startswith("refreshes at Box"))
        raw = next(s.raw for s in sections if s.key == "hub")
        assert pull.ours is not None
        return (
            f"{raw['kernels']} simulated kernels pulling access tokens from the JupyterHub "
            f"service through the hub's proxy: p95 {number(pull.ours.p95)} ms (goal < 20 ms, "
            f"{_mark(pull)}), median {number(_median(inside.ours))} ms inside the service; "
            f"{number(_median(per_expiry.ours))} refreshes per expiry (goal 1.00, "
            f"{_mark(per_expiry)})"
        )

    add(callback)
    add(browser)
    add(overhead)
    add(lambda: storm("strict refresh tokens", "strict refresh tokens"))
    add(lambda: storm("with a 30 s refresh-token reuse grace", "reuse grace"))
    add(imports)
    add(download)
    add(flood)
    add(hub)
    return said


FILE = "SDK, FileTokenStorage"
CACHED = "SDK, FileWithInMemoryCacheTokenStorage"


def headlines(sections: list[Section], machine: dict[str, object]) -> str:
    """The README block's text (between the markers)."""
    cores = machine.get("cores", "?")
    date = str(machine.get("date", "?"))
    note = str(machine.get("note", "")) or "no note on the load"
    lines = [
        f"Headlines from the committed run ({date}, {cores} cores; {note}); every figure "
        "comes from `bench/samples/`, as in the table. The emulator's refresh tokens are "
        "strictly single use (its default) in every measurement except the storm's grace "
        "mode, which is named where it is used:",
        "",
    ]
    lines += [f"- {sentence}." for sentence in _sentences(sections)]
    return "\n".join(lines)


def splice(readme: str, block: str) -> str:
    """``readme`` with the text between the markers replaced by ``block``."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        msg = f"README.md has no {BEGIN!r} ... {END!r} block"
        raise ValueError(msg)
    return readme[: start + len(BEGIN)] + "\n" + block + "\n" + readme[end:]
