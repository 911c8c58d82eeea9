"""An access token that dies in the middle of a long transfer through ``box://``.

The emulator expires the token at a chosen point (``expire_access_tokens``, or its clock moved an
hour on), so Box answers 401 to a request the client sent with a token it still thought good:
between the parts of a chunked upload, and in the middle of a download read by ranges. The
transfer must refresh once (counted at the emulator), go on where it was (the same upload
session, the same open file) and deliver the same bytes (SHA-1 and content compared).
"""

from __future__ import annotations

import hashlib
import random
from typing import Any

import requests
from support.boxfs_support import NAME, Box, MiB

from box_widget import audit
from box_widget.boxfs import BoxFileSystem

#: The paths of one upload session's parts (and its commit), not the session's creation.
PARTS = "/api/2.0/files/upload_sessions/"
PART_SIZE = 256 * 1024


def random_bytes(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def small_chunks(box: Box) -> BoxFileSystem:
    """A file system whose uploads of 1 MiB or more go through an upload session of 256 KiB
    parts (Box's minimum is 20 MB; the emulator is told to take smaller ones)."""
    box.emu.settings.chunked_upload_minimum = MiB
    box.emu.settings.part_size = PART_SIZE
    return box.new_fs(chunked_threshold=MiB)


class Answers:
    """Every answer the file system's session receives: (method, url, status)."""

    def __init__(self, session: requests.Session) -> None:
        self.seen: list[tuple[str, str, int]] = []
        session.hooks["response"].append(self._record)

    def _record(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        self.seen.append((str(response.request.method), str(response.url), response.status_code))

    def with_status(self, status: int) -> list[tuple[str, str]]:
        return [(method, url) for method, url, code in self.seen if code == status]


def changes(box: Box, before: dict[str, Any]) -> dict[str, int]:
    """How the emulator's counters moved since ``before``."""
    now = box.emu.counters()
    keys = ("refreshes", "failed_refreshes", "rejected_tokens", "upload_sessions")
    return {key: now[key] - before[key] for key in keys}


def refreshes_audited(box: Box) -> int:
    return sum(event["event"] == "refresh" for event in audit.read(box.home, NAME))


def test_a_token_that_dies_between_upload_parts_is_refreshed_once(box: Box) -> None:
    fs = small_chunks(box)
    data = random_bytes(3 * MiB + 1000, seed=21)  # 13 parts, 4 in flight at a time
    answers = Answers(fs.session)
    before = box.emu.counters()
    # The token dies once 4 parts have come in: the 5th part (at least) is refused with 401.
    box.emu.expire_access_tokens(after_calls=4, path=PARTS)

    fs.pipe("expiring.bin", data)

    assert changes(box, before) == {
        "refreshes": 1,  # once, however many parts in flight heard 401
        "failed_refreshes": 0,
        "rejected_tokens": len(answers.with_status(401)),
        "upload_sessions": 1,  # the same session went on: no restart
    }
    refused = answers.with_status(401)
    assert refused, "no part was refused: the token did not die mid-upload"
    assert {method for method, _ in refused} == {"PUT"}  # parts, between the first and commit
    part_urls = {url for method, url, _ in answers.seen if method == "PUT"}
    assert len(part_urls) == 1  # every part (and every part sent again) went to one session
    accepted = [url for method, url, code in answers.seen if method == "PUT" and code == 200]
    assert len(accepted) == 13
    assert refreshes_audited(box) == 1

    stored = box.file("expiring.bin")
    assert stored.size == len(data)
    assert stored.sha1 == hashlib.sha1(data).hexdigest()  # Box's SHA-1 of what it assembled
    assert fs.cat("expiring.bin") == data  # and the bytes themselves, read back


def test_a_token_that_dies_mid_download_is_refreshed_once_by_the_next_range_read(
    box: Box,
) -> None:
    data = random_bytes(2 * MiB + 7, seed=22)
    box.fs.pipe("long.bin", data)
    fs = box.new_fs()
    answers = Answers(fs.session)
    before = box.emu.counters()
    got = bytearray()
    with fs.open("long.bin", "rb", block_size=PART_SIZE, cache_type="none") as f:
        while len(got) < MiB:
            got += f.read(PART_SIZE)
        # The token dies: the download link needs none, so reading goes on without a refresh.
        box.emu.expire_access_tokens()
        got += f.read(PART_SIZE)
        assert changes(box, before)["refreshes"] == 0
        # An hour later the link has expired too: the next range read needs a new link, asks
        # for it with the dead token, hears 401, refreshes once, and reads on.
        box.emu.clock.advance(box.emu.settings.access_token_lifetime + 1)
        while chunk := f.read(PART_SIZE):
            got += chunk

    assert changes(box, before) == {
        "refreshes": 1,
        "failed_refreshes": 0,
        "rejected_tokens": 1,
        "upload_sessions": 0,
    }
    refused = answers.with_status(401)
    assert len(refused) == 1
    assert refused[0][0] == "GET" and refused[0][1].endswith("/content")  # the link's request
    expired_links = answers.with_status(404)
    assert len(expired_links) == 1 and "/dl/" in expired_links[0][1]  # the old link, once
    assert refreshes_audited(box) == 1
    assert len(got) == len(data)
    assert hashlib.sha1(got).hexdigest() == box.file("long.bin").sha1
    assert bytes(got) == data
