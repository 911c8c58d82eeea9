"""The emulator's upload host: direct multipart uploads and chunked upload sessions."""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

import pytest
import requests
from support.emulator_flow import bearer

from box_widget.emulator import BoxEmulator

T = 10


def sha_header(data: bytes) -> str:
    return "sha=" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def direct(
    emu: BoxEmulator,
    auth: dict[str, str],
    name: str,
    data: bytes,
    parent: str = "0",
    *,
    attributes_first: bool = True,
    url: str | None = None,
    headers: dict[str, str] | None = None,
) -> requests.Response:
    attributes = (
        "attributes",
        (None, json.dumps({"name": name, "parent": {"id": parent}}), "application/json"),
    )
    file = ("file", (name, data, "application/octet-stream"))
    parts = [attributes, file] if attributes_first else [file, attributes]
    return requests.post(
        url or f"{emu.endpoints.upload_url}/files/content",
        files=parts,
        headers={**auth, **(headers or {})},
        timeout=T,
    )


def download(emu: BoxEmulator, auth: dict[str, str], file_id: str) -> bytes:
    response = requests.get(
        f"{emu.endpoints.api_url}/files/{file_id}/content", headers=auth, timeout=T
    )
    response.raise_for_status()
    return response.content


def test_direct_upload_round_trip(emulator: BoxEmulator) -> None:
    auth = bearer(emulator)
    data = bytes(range(256)) * 40
    response = direct(emulator, auth, "blob.bin", data)
    assert response.status_code == 201
    body = response.json()
    assert body["total_count"] == 1
    entry = body["entries"][0]
    assert entry["name"] == "blob.bin" and entry["size"] == len(data)
    assert entry["sha1"] == hashlib.sha1(data).hexdigest()
    assert download(emulator, auth, entry["id"]) == data


def test_direct_upload_rules(emulator: BoxEmulator) -> None:
    auth = bearer(emulator)
    assert direct(emulator, auth, "a.txt", b"1").status_code == 201
    conflict = direct(emulator, auth, "A.TXT", b"2")
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "item_name_in_use"
    assert conflict.json()["context_info"]["conflicts"][0]["name"] == "a.txt"
    late = direct(emulator, auth, "b.txt", b"1", attributes_first=False)
    assert late.status_code == 400 and late.json()["code"] == "metadata_after_file_contents"
    bad_name = direct(emulator, auth, "x/y", b"1")
    assert bad_name.status_code == 400 and bad_name.json()["code"] == "item_name_invalid"
    no_parent = direct(emulator, auth, "c.txt", b"1", parent="424242")
    assert no_parent.status_code == 404
    wrong_sha = direct(emulator, auth, "d.txt", b"1", headers={"Content-MD5": "0" * 40})
    assert wrong_sha.status_code == 412
    right_sha = direct(
        emulator, auth, "e.txt", b"1", headers={"Content-MD5": hashlib.sha1(b"1").hexdigest()}
    )
    assert right_sha.status_code == 201
    not_multipart = requests.post(
        f"{emulator.endpoints.upload_url}/files/content", json={}, headers=auth, timeout=T
    )
    assert not_multipart.status_code == 400


def test_direct_upload_size_limit(emulator: BoxEmulator) -> None:
    emulator.settings.direct_upload_limit = 1000
    auth = bearer(emulator)
    assert direct(emulator, auth, "ok.bin", b"x" * 1000).status_code == 201
    too_big = direct(emulator, auth, "big.bin", b"x" * 1001)
    assert too_big.status_code == 413
    assert too_big.json()["code"] == "request_entity_too_large"
    huge = direct(emulator, auth, "huge.bin", b"x" * (3 * 1024 * 1024))
    assert huge.status_code == 413


def test_new_version_replaces_content(emulator: BoxEmulator) -> None:
    auth = bearer(emulator)
    first = direct(emulator, auth, "v.txt", b"one").json()["entries"][0]
    url = f"{emulator.endpoints.upload_url}/files/{first['id']}/content"
    second = requests.post(
        url, headers=auth, timeout=T, files=[("file", ("v.txt", b"two", "text/plain"))]
    )
    assert second.status_code == 201
    entry = second.json()["entries"][0]
    assert entry["id"] == first["id"]
    assert entry["file_version"]["id"] != first["file_version"]["id"]
    assert download(emulator, auth, first["id"]) == b"two"


def test_read_only_token_cannot_upload(emulator: BoxEmulator) -> None:
    auth = bearer(emulator, scope="root_readonly")
    denied = direct(emulator, auth, "nope.txt", b"1")
    assert denied.status_code == 403
    assert denied.json()["code"] == "insufficient_scope"


@pytest.fixture
def small_chunks(emulator: BoxEmulator) -> BoxEmulator:
    """Chunked uploads with an 8-byte part size and a 10-byte minimum, to stay fast."""
    emulator.settings.part_size = 8
    emulator.settings.chunked_upload_minimum = 10
    return emulator


def open_session(
    emu: BoxEmulator, auth: dict[str, str], size: int, name: str = "big.bin"
) -> requests.Response:
    return requests.post(
        f"{emu.endpoints.upload_url}/files/upload_sessions",
        headers=auth,
        json={"folder_id": "0", "file_size": size, "file_name": name},
        timeout=T,
    )


def put_part(
    emu: BoxEmulator,
    session: dict[str, Any],
    auth: dict[str, str],
    data: bytes,
    lo: int,
    *,
    total: int,
    digest: str | None = None,
) -> requests.Response:
    chunk_range = f"bytes {lo}-{lo + len(data) - 1}/{total}"
    return requests.put(
        session["session_endpoints"]["upload_part"],
        data=data,
        timeout=T,
        headers={
            **auth,
            "Digest": digest or sha_header(data),
            "Content-Range": chunk_range,
            "Content-Type": "application/octet-stream",
        },
    )


def test_chunked_upload_round_trip(small_chunks: BoxEmulator) -> None:
    emu = small_chunks
    auth = bearer(emu)
    data = b"0123456789abcdefghij"
    created = open_session(emu, auth, len(data))
    assert created.status_code == 201
    session = created.json()
    assert (session["part_size"], session["total_parts"], session["num_parts_processed"]) == (
        8,
        3,
        0,
    )
    parts = []
    for lo in range(0, len(data), 8):
        answer = put_part(emu, session, auth, data[lo : lo + 8], lo, total=len(data))
        assert answer.status_code == 200, answer.text
        parts.append(answer.json()["part"])
    listed = requests.get(session["session_endpoints"]["list_parts"], headers=auth, timeout=T)
    assert listed.json()["entries"] == parts
    status = requests.get(session["session_endpoints"]["status"], headers=auth, timeout=T)
    assert status.json()["num_parts_processed"] == 3
    commit = requests.post(
        session["session_endpoints"]["commit"],
        json={"parts": parts},
        headers={**auth, "Digest": sha_header(data)},
        timeout=T,
    )
    assert commit.status_code == 201, commit.text
    entry = commit.json()["entries"][0]
    assert entry["size"] == len(data) and entry["sha1"] == hashlib.sha1(data).hexdigest()
    assert download(emu, auth, entry["id"]) == data


def test_chunked_upload_session_rules(small_chunks: BoxEmulator) -> None:
    emu = small_chunks
    auth = bearer(emu)
    small = open_session(emu, auth, 9)
    assert small.status_code == 400 and small.json()["code"] == "file_size_too_small"
    for body, code in (
        ({"file_size": 20, "file_name": "x"}, "missing_destination"),
        ({"folder_id": "0", "file_name": "x"}, "missing_file_size"),
        ({"folder_id": "0", "file_size": "big", "file_name": "x"}, "invalid_file_size"),
        ({"folder_id": "0", "file_size": 20}, "missing_file_name"),
    ):
        answer = requests.post(
            f"{emu.endpoints.upload_url}/files/upload_sessions", json=body, headers=auth, timeout=T
        )
        assert answer.status_code == 400 and answer.json()["code"] == code
    assert open_session(emu, auth, 20, name="Welcome.txt").status_code == 409


def test_chunked_part_checks(small_chunks: BoxEmulator) -> None:
    emu = small_chunks
    auth = bearer(emu)
    data = b"0123456789abcdefghij"
    session = open_session(emu, auth, len(data)).json()
    assert (
        put_part(
            emu, session, auth, data[:8], 0, total=len(data), digest=sha_header(b"other")
        ).status_code
        == 412
    )
    assert put_part(emu, session, auth, data[4:12], 4, total=len(data)).status_code == 416
    assert put_part(emu, session, auth, data[:8], 0, total=99).status_code == 416
    assert put_part(emu, session, auth, data[:4], 0, total=len(data)).status_code == 416
    no_digest = requests.put(
        session["session_endpoints"]["upload_part"],
        data=data[:8],
        headers={**auth, "Content-Range": f"bytes 0-7/{len(data)}"},
        timeout=T,
    )
    assert no_digest.status_code == 400
    first = put_part(emu, session, auth, data[:8], 0, total=len(data))
    assert first.status_code == 200
    again = put_part(emu, session, auth, data[:8], 0, total=len(data))
    assert again.json() == first.json()  # the same part again is idempotent
    overlap = put_part(emu, session, auth, b"XXXXXXXX", 0, total=len(data))
    assert overlap.status_code == 409 and overlap.json()["code"] == "range_overlaps_existing_part"


def test_chunked_commit_checks_and_abort(small_chunks: BoxEmulator) -> None:
    emu = small_chunks
    auth = bearer(emu)
    data = b"0123456789abcdefghij"
    session = open_session(emu, auth, len(data)).json()
    parts = [
        put_part(emu, session, auth, data[lo : lo + 8], lo, total=len(data)).json()["part"]
        for lo in (0, 8)
    ]
    commit_url = session["session_endpoints"]["commit"]
    missing = requests.post(
        commit_url, json={"parts": parts}, headers={**auth, "Digest": sha_header(data)}, timeout=T
    )
    assert missing.status_code == 400
    parts.append(put_part(emu, session, auth, data[16:], 16, total=len(data)).json()["part"])
    wrong = requests.post(
        commit_url,
        json={"parts": parts},
        headers={**auth, "Digest": sha_header(b"nope")},
        timeout=T,
    )
    assert wrong.status_code == 412
    lying = requests.post(
        commit_url,
        json={"parts": parts[:2]},
        headers={**auth, "Digest": sha_header(data)},
        timeout=T,
    )
    assert lying.status_code == 400
    abort = requests.delete(session["session_endpoints"]["abort"], headers=auth, timeout=T)
    assert abort.status_code == 204
    gone = requests.get(session["session_endpoints"]["status"], headers=auth, timeout=T)
    assert gone.status_code == 404


def test_upload_session_expires(small_chunks: BoxEmulator) -> None:
    emu = small_chunks
    auth = bearer(emu)
    session = open_session(emu, auth, 20).json()
    emu.clock.advance(emu.settings.upload_session_lifetime + 1)
    auth = bearer(emu)  # the old access token expired with the clock
    expired = requests.get(session["session_endpoints"]["status"], headers=auth, timeout=T)
    assert expired.status_code == 410 and expired.json()["code"] == "session_expired"


def test_other_users_cannot_touch_a_session(small_chunks: BoxEmulator) -> None:
    emu = small_chunks
    session = open_session(emu, bearer(emu), 20).json()
    grace = bearer(emu, emu.users[1])
    response = requests.get(session["session_endpoints"]["status"], headers=grace, timeout=T)
    assert response.status_code == 404
