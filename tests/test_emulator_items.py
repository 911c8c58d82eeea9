"""The emulator's item changes and content storage, over raw HTTP: folders, copies, deletes,
upload preflight, quota, generated files with ranges, part faults, and the temporary folder of
uploaded content that goes away with the emulator."""

from __future__ import annotations

import hashlib

import requests
from support.emulator_flow import bearer

from box_widget.emulator import BoxEmulator
from box_widget.emulator.blobs import CHUNK, DiskBlob, generated_chunks

TIMEOUT = 10


def api(
    emu: BoxEmulator, method: str, path: str, auth: dict[str, str], **kwargs: object
) -> requests.Response:
    return requests.request(
        method, f"{emu.url}/2.0/{path}", headers=auth, timeout=TIMEOUT, **kwargs
    )  # type: ignore[arg-type]


def test_folders_are_created_and_deleted(emulator: BoxEmulator) -> None:
    auth = bearer(emulator)
    made = api(emulator, "POST", "folders", auth, json={"name": "New", "parent": {"id": "0"}})
    assert made.status_code == 201 and made.json()["name"] == "New"
    again = api(emulator, "POST", "folders", auth, json={"name": "new", "parent": {"id": "0"}})
    assert again.status_code == 409 and again.json()["code"] == "item_name_in_use"
    folder_id = made.json()["id"]
    api(emulator, "POST", "folders", auth, json={"name": "Inner", "parent": {"id": folder_id}})
    full = api(emulator, "DELETE", f"folders/{folder_id}", auth)
    assert full.status_code == 400 and full.json()["code"] == "folder_not_empty"
    assert (
        api(
            emulator, "DELETE", f"folders/{folder_id}", auth, params={"recursive": "true"}
        ).status_code
        == 204
    )
    assert api(emulator, "GET", f"folders/{folder_id}", auth).status_code == 404
    assert (
        api(emulator, "DELETE", "folders/0", auth, params={"recursive": "true"}).status_code == 403
    )


def test_files_are_copied_and_deleted(emulator: BoxEmulator) -> None:
    auth = bearer(emulator)
    welcome = next(f for f in emulator.state.content.files.values() if f.name == "Welcome.txt")
    copy = api(
        emulator,
        "POST",
        f"files/{welcome.id}/copy",
        auth,
        json={"parent": {"id": "0"}, "name": "Copy.txt"},
    )
    assert copy.status_code == 201 and copy.json()["sha1"] == welcome.sha1
    taken = api(emulator, "POST", f"files/{welcome.id}/copy", auth, json={"parent": {"id": "0"}})
    assert taken.status_code == 409 and taken.json()["code"] == "item_name_in_use"
    assert api(emulator, "DELETE", f"files/{copy.json()['id']}", auth).status_code == 204
    assert api(emulator, "GET", f"files/{copy.json()['id']}", auth).status_code == 404


def test_preflight_checks_the_name_and_the_quota(emulator: BoxEmulator) -> None:
    auth = bearer(emulator)
    body = {"name": "fresh.csv", "parent": {"id": "0"}, "size": 1000}
    ok = api(emulator, "OPTIONS", "files/content", auth, json=body)
    assert ok.status_code == 200 and ok.json()["upload_url"].endswith("/api/2.0/files/content")
    taken = api(emulator, "OPTIONS", "files/content", auth, json={**body, "name": "Welcome.txt"})
    assert taken.status_code == 409
    emulator.user.space_amount = emulator.state.content.space_used(emulator.user.id) + 999
    full = api(emulator, "OPTIONS", "files/content", auth, json=body)
    assert full.status_code == 403 and full.json()["code"] == "storage_limit_exceeded"


def test_a_generated_file_streams_its_bytes_and_ranges(emulator: BoxEmulator) -> None:
    size = 3 * CHUNK + 10
    file_id = emulator.add_large_file("gen.bin", size, seed=5)
    expected = b"".join(generated_chunks(size, seed=5))
    assert emulator.state.content.files[file_id].sha1 == hashlib.sha1(expected).hexdigest()
    auth = bearer(emulator)
    whole = api(emulator, "GET", f"files/{file_id}/content", auth)
    assert whole.content == expected
    start = CHUNK - 3
    part = api(
        emulator, "GET", f"files/{file_id}/content", {**auth, "Range": f"bytes={start}-{start + 9}"}
    )
    assert part.status_code == 206 and part.content == expected[start : start + 10]
    assert b"".join(generated_chunks(size, 5, start, start + 10)) == expected[start : start + 10]


def test_control_api_adds_large_files_and_part_faults(emulator: BoxEmulator) -> None:
    made = requests.post(
        f"{emulator.url}/_emulator/large_files",
        timeout=TIMEOUT,
        json={"name": "g.bin", "size": 123},
    )
    assert made.status_code == 201
    assert emulator.state.content.files[made.json()["id"]].size == 123
    assert (
        requests.post(
            f"{emulator.url}/_emulator/part_faults",
            timeout=TIMEOUT,
            json={"status": 412, "part": 2},
        ).status_code
        == 201
    )
    assert emulator.state.faults.take_part(2) == 412
    bad = requests.post(
        f"{emulator.url}/_emulator/part_faults", timeout=TIMEOUT, json={"status": 404}
    )
    assert bad.status_code == 400


def test_uploaded_content_lives_on_disk_and_goes_away_on_stop() -> None:
    with BoxEmulator() as emu:
        auth = bearer(emu)
        attributes = '{"name": "d.bin", "parent": {"id": "0"}}'
        files: dict[str, tuple[str | None, str | bytes]] = {
            "attributes": (None, attributes),
            "file": ("d.bin", b"on disk"),
        }
        made = requests.post(
            f"{emu.url}/api/2.0/files/content", headers=auth, files=files, timeout=TIMEOUT
        )
        assert made.status_code == 201
        blob = emu.state.content.files[made.json()["entries"][0]["id"]].blob
        assert isinstance(blob, DiskBlob) and blob.path.read_bytes() == b"on disk"
        folder = emu.state.content.blobs.folder
    assert not folder.exists()
