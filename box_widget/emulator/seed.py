"""The seeded accounts and files every emulator starts with."""

from __future__ import annotations

from .content import ROOT, ContentStore, User

REGIONS = ("North", "South", "East", "West")
MONTHS = ("Jan", "Feb", "Mar")


def _csv(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def sample_files(store: ContentStore, user: User, *, offset: int) -> None:
    """The files the notebooks read: ``Reports/q1.csv``, ``Reports/q2.csv`` and
    ``Data/measurements.csv``; ``offset`` shifts the figures, so each user's are their own."""
    reports = store.add_folder(user.id, ROOT, "Reports")
    data = store.add_folder(user.id, ROOT, "Data")
    for quarter, base in (("q1", 1200), ("q2", 1350)):
        rows = [
            f"{region},{month},{base + offset + 37 * i + 11 * j}"
            for i, region in enumerate(REGIONS)
            for j, month in enumerate(MONTHS)
        ]
        store.add_file(user.id, reports.id, f"{quarter}.csv", _csv("region,month,revenue", rows))
    rows = [
        f"{i},{20 + (i * 7 + offset) % 13 / 2:.1f},{40 + (i * 11 + offset) % 17}"
        for i in range(1, 49)
    ]
    store.add_file(
        user.id, data.id, "measurements.csv", _csv("sample,temperature_c,humidity", rows)
    )


def seed(store: ContentStore) -> list[User]:
    """The seeded accounts, Ada and Grace: each has the sample files (figures of their own),
    so the notebooks work as either; Ada has a Welcome.txt, Grace a Notes.txt."""
    ada = store.add_user("Ada Lovelace", "ada@example.com", "20000001")
    grace = store.add_user("Grace Hopper", "grace@example.com", "20000002")
    sample_files(store, ada, offset=0)
    store.add_file(ada.id, ROOT, "Welcome.txt", b"Welcome to the Box emulator.\n")
    sample_files(store, grace, offset=250)
    store.add_file(grace.id, ROOT, "Notes.txt", b"It's easier to ask forgiveness.\n")
    return [ada, grace]
