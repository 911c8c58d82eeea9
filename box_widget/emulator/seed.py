"""The seeded accounts and files every emulator starts with."""

from __future__ import annotations

from .content import ROOT, ContentStore, User


def _csv(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def seed(store: ContentStore) -> list[User]:
    """The seeded accounts: Ada with a small tree of files, Grace with one note."""
    ada = store.add_user("Ada Lovelace", "ada@example.com", "20000001")
    grace = store.add_user("Grace Hopper", "grace@example.com", "20000002")
    reports = store.add_folder(ada.id, ROOT, "Reports")
    data = store.add_folder(ada.id, ROOT, "Data")
    regions = ["North", "South", "East", "West"]
    for quarter, base in (("q1", 1200), ("q2", 1350)):
        rows = [
            f"{r},{m},{base + 37 * i + 11 * j}"
            for i, r in enumerate(regions)
            for j, m in enumerate(["Jan", "Feb", "Mar"])
        ]
        store.add_file(ada.id, reports.id, f"{quarter}.csv", _csv("region,month,revenue", rows))
    rows = [f"{i},{20 + (i * 7) % 13 / 2:.1f},{40 + (i * 11) % 17}" for i in range(1, 49)]
    store.add_file(ada.id, data.id, "measurements.csv", _csv("sample,temperature_c,humidity", rows))
    store.add_file(ada.id, ROOT, "Welcome.txt", b"Welcome to the Box emulator.\n")
    store.add_file(grace.id, ROOT, "Notes.txt", b"It's easier to ask forgiveness.\n")
    return [ada, grace]
