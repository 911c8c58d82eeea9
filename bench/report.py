"""``bench/RESULTS.md``: the machine, the table, and each benchmark's method and notes."""

from __future__ import annotations

from typing import Any

from .results import Figure, Row, Section

MARK = {True: "yes", False: "**no**", None: "n/a"}


def number(value: float) -> str:
    """Three significant digits, without an exponent."""
    if value == 0:
        return "0"
    magnitude = abs(value)
    if magnitude >= 100:
        return f"{value:,.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    if magnitude >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def figure_cell(figure: Figure | None, text: str = "") -> str:
    """``median unit`` in bold, then the spread: p95, interquartile range, runs."""
    if figure is None:
        return text or "n/a"
    low, high = figure.iqr
    spread = (
        (f"p95 {number(figure.p95)}, IQR {number(low)}–{number(high)}, n={len(figure.samples)}")
        if len(figure.samples) > 1
        else "n=1"
    )
    median = f"{number(figure.median)} {figure.unit}".strip()
    return f"**{median}** ({spread}){text}"


def ratio_cell(row: Row) -> str:
    ratio = row.ratio
    if ratio is None:
        return "n/a"
    return f"{ratio:.2f}×"


def verdict(row: Row) -> str:
    """The "met" cell: yes, no, or why the figures cannot say."""
    if not row.goal:
        return ""
    return row.verdict or MARK[row.met]


def table(sections: list[Section]) -> list[str]:
    lines = [
        "| measure | box-widget | peer (same run) | ours / peer | goal | met |",
        "|---|---|---|---|---|---|",
    ]
    for section in sections:
        if section.pending or not section.rows:
            shown = section.pending or "figures in its section below"
            lines.append(f"| {section.title} | {shown} | | | | |")
            continue
        for row in section.rows:
            peer = figure_cell(row.peer, row.peer_text) if (row.peer or row.peer_text) else "n/a"
            if row.peer_name and (row.peer or row.peer_text):
                peer = f"{row.peer_name}: {peer}"
            lines.append(
                f"| {row.measure} | {figure_cell(row.ours, row.ours_text)} | {peer} | "
                f"{ratio_cell(row)} | {row.goal} | {verdict(row)} |"
            )
    return lines


def machine_lines(machine: dict[str, Any]) -> list[str]:
    versions = ", ".join(f"{name} {version}" for name, version in machine["versions"].items())
    load = machine["load"]
    return [
        f"- date: {machine['date']} (took {machine['seconds']:.0f} s; "
        f"{'quick smoke run' if machine['quick'] else 'full run'})",
        f"- machine: {machine['cpu']}, {machine['cores']} cores, "
        f"{machine['memory_gib']:.0f} GiB; {machine['os']}",
        f"- Python {machine['python']}; {versions}",
        f"- load average (1 min) before / after: {load['before']:.2f} / {load['after']:.2f}"
        + (f"; {machine['note']}" if machine.get("note") else ""),
    ]


def round_ratios(section: Section) -> list[float]:
    """The overhead section's wall-time ratio box-widget / requests, round by round."""
    wall = (section.raw or {}).get("wall_us") or {}
    ours, plain = wall.get("box-widget") or [], wall.get("requests") or []
    return [o / p for o, p in zip(ours, plain, strict=True)]


def render(machine: dict[str, Any], sections: list[Section], command: str) -> str:
    """The whole RESULTS.md."""
    lines = [
        "# Benchmarks",
        "",
        f"Written by `{command}` (see `bench/__main__.py`; the samples behind every figure are "
        "in `bench/samples/`, and `python -m bench --check` recomputes this file from them). "
        "Each figure is the median over repeated runs, with its spread; the peer is measured "
        "in the same run, on the same emulator, and the ratio is ours / peer (medians). "
        "The emulator's refresh tokens are strictly single use (its default, Box's documented "
        "rule) in every figure, except the refresh storm's rows that name a reuse grace "
        "(`refresh_reuse_grace`, docs/emulator.md).",
        "",
        *machine_lines(machine),
        "",
        *table(sections),
        "",
    ]
    for section in sections:
        lines += [f"## {section.title}", ""]
        if section.pending:
            lines += [section.pending, ""]
            continue
        if section.method:
            lines += [section.method, ""]
        lines += [f"- {note}" for note in section.notes]
        if section.key == "overhead" and (rounds := round_ratios(section)):
            lines.append(
                f"- Round by round, the wall-time ratio against plain `requests` ran from "
                f"{min(rounds):.2f} to {max(rounds):.2f}×."
            )
        lines += ["", f"_took {section.seconds:.0f} s_", ""]
    return "\n".join(lines).rstrip() + "\n"
