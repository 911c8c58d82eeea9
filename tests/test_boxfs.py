"""``box://``: the fsspec file system on a ``BoxConnection``, against the emulator over HTTP.

Each operation pandas and fsspec users need (ls, find, info, open with ranges, put, get, mkdir,
rm, copy), path forms and the listing cache, new versions, Box's errors as ``OSError``\\ s with
Box's code and request id, progress bars, and chunked uploads with failing parts. Every emulator
answer is also checked against Box's OpenAPI description (the ``emulator`` fixture).
"""

from __future__ import annotations

import base64
import errno
import hashlib
import io
import random
import re
import time
from pathlib import Path
from typing import Any

import fsspec
import pandas as pd
import pytest
import requests
from support.boxfs_support import NAME, REDIRECT_URI, Box, MiB, connect

from box_widget import BoxConnection
from box_widget.boxfs import BoxFileSystem
from box_widget.boxfs import progress as progress_module
from box_widget.emulator import BoxEmulator
from box_widget.vault import Vault

REQUEST_ID = re.compile(r"request id [0-9a-f]{16}")


def random_bytes(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def small_chunks(box: Box, part_size: int = 256 * 1024) -> BoxFileSystem:
    """A file system whose uploads of 1 MiB or more are chunked, on an emulator that takes
    such small sessions (Box's real minimum is 20 MB; the 200 MB test uses Box's sizes)."""
    box.emu.settings.chunked_upload_minimum = MiB
    box.emu.settings.part_size = part_size
    return box.new_fs(chunked_threshold=MiB)


class RequestLog:
    """Every request the connection's session sends: (method, url, headers)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, session: requests.Session) -> None:
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        original = session.request

        def spy(method: str, url: str, **kwargs: Any) -> requests.Response:
            self.requests.append((method, url, dict(kwargs.get("headers") or {})))
            return original(method, url, **kwargs)

        monkeypatch.setattr(session, "request", spy)

    def ranges(self) -> list[str]:
        return [h["Range"] for _, _, h in self.requests if "Range" in h]


# --- registration and the light import ----------------------------------------------------
def test_box_protocol_is_registered_through_the_entry_point() -> None:
    assert fsspec.get_filesystem_class("box") is BoxFileSystem
    assert "box" in fsspec.available_protocols()


def test_paths_strip_the_protocol() -> None:
    strip = BoxFileSystem._strip_protocol
    assert strip("box://Reports/q1.csv") == "Reports/q1.csv"
    assert strip("box:///Reports//q1.csv/") == "Reports/q1.csv"
    assert strip("box://") == strip("") == strip("/") == ""
    assert strip("box://id:123/a.csv") == "id:123/a.csv"


# --- reading the tree -----------------------------------------------------------------------
def test_ls_find_and_info_read_the_seeded_tree(box: Box) -> None:
    fs = box.fs
    assert fs.ls("", detail=False) == ["Data", "Reports", "Welcome.txt"]
    assert fs.ls("box://Reports", detail=False) == ["Reports/q1.csv", "Reports/q2.csv"]
    assert fs.find("") == [
        "Data/measurements.csv",
        "Reports/q1.csv",
        "Reports/q2.csv",
        "Welcome.txt",
    ]
    seeded = box.emu.state.content.files
    q1 = next(f for f in seeded.values() if f.name == "q1.csv")
    info = fs.info("Reports/q1.csv")
    assert info == {
        "name": "Reports/q1.csv",
        "size": q1.size,
        "type": "file",
        "id": q1.id,
        "sha1": q1.sha1,
        "created_at": info["created_at"],
        "modified_at": info["modified_at"],
    }
    assert fs.info("Reports")["type"] == "directory"
    assert fs.info("")["id"] == "0"
    assert fs.isdir("Data") and fs.isfile("Welcome.txt") and not fs.exists("Nope")
    assert fs.ukey("Reports/q1.csv") == q1.sha1
    assert fs.modified("Reports/q1.csv").year >= 2024
    assert fs.ls("Reports/q1.csv", detail=False) == ["Reports/q1.csv"]


def test_names_match_exactly_first_then_regardless_of_case(box: Box) -> None:
    assert box.fs.info("reports/Q1.CSV")["id"] == box.fs.info("Reports/q1.csv")["id"]


def test_id_paths_name_a_folder_or_a_file(box: Box) -> None:
    fs = box.fs
    folder, file = fs.info("Reports")["id"], fs.info("Reports/q1.csv")["id"]
    assert fs.ls(f"id:{folder}", detail=False) == [f"id:{folder}/q1.csv", f"id:{folder}/q2.csv"]
    assert fs.cat(f"box://id:{folder}/q1.csv") == fs.cat("Reports/q1.csv")
    assert fs.info(f"id:{file}")["size"] == fs.info("Reports/q1.csv")["size"]
    with pytest.raises(FileNotFoundError):
        fs.info("id:999999")
    with pytest.raises(FileNotFoundError):
        fs.info("id:abc")


def test_listings_are_cached_and_invalidated_on_writes(
    box: Box, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = box.fs
    log = RequestLog(monkeypatch, fs.session)
    fs.ls("Reports")
    listed = len(log.requests)
    fs.ls("Reports")
    fs.info("Reports/q1.csv")
    assert len(log.requests) == listed  # served from the cache
    fs.pipe("Reports/new.txt", b"x")
    assert "Reports/new.txt" in fs.ls("Reports", detail=False)
    other = box.new_fs()  # pandas makes an instance per call: it shares the cache
    other.rm("Reports/new.txt")
    assert "Reports/new.txt" not in fs.ls("Reports", detail=False)
    # a change made elsewhere (Box's web app) shows after invalidate_cache(), of one folder
    # or of all
    reports = fs.info("Reports")["id"]
    box.emu.state.content.add_file(box.emu.user.id, reports, "web.txt", b"w")
    assert "Reports/web.txt" not in fs.ls("Reports", detail=False)
    fs.invalidate_cache("box://Reports")
    assert "Reports/web.txt" in fs.ls("Reports", detail=False)
    box.emu.state.content.add_file(box.emu.user.id, reports, "web2.txt", b"w")
    fs.invalidate_cache()
    assert "Reports/web2.txt" in fs.ls("Reports", detail=False)


# --- pandas -----------------------------------------------------------------------------------
def test_pandas_reads_a_csv_and_writes_parquet_back(box: Box) -> None:
    df = pd.read_csv("box://Reports/q1.csv", storage_options=box.options())
    assert list(df.columns) == ["region", "month", "revenue"] and len(df) == 12
    totals = df.groupby("region", as_index=False)["revenue"].sum()
    totals.to_parquet("box://Results/q1-totals.parquet", storage_options=box.options())
    back = pd.read_parquet("box://Results/q1-totals.parquet", storage_options=box.options())
    pd.testing.assert_frame_equal(back, totals)
    totals.to_csv("box://Results/q1-totals.csv", index=False, storage_options=box.options())
    assert box.file("Results/q1-totals.csv").data.decode().splitlines()[0] == "region,revenue"


def test_storage_options_take_a_connection_object(box: Box) -> None:
    conn = BoxConnection(NAME, home=box.home)
    df = pd.read_csv("box://Data/measurements.csv", storage_options={"connection": conn})
    assert len(df) == 48


# --- open: ranges and writes ------------------------------------------------------------------
def test_open_reads_by_range(box: Box, monkeypatch: pytest.MonkeyPatch) -> None:
    data = random_bytes(3 * MiB + 17)
    box.fs.pipe("big.bin", data)
    log = RequestLog(monkeypatch, box.fs.session)
    with box.fs.open("big.bin", "rb", block_size=256 * 1024) as f:
        assert f.size == len(data)
        f.seek(2 * MiB + 5)
        assert f.read(100) == data[2 * MiB + 5 : 2 * MiB + 105]
        f.seek(-10, 2)
        assert f.read() == data[-10:]
        f.seek(7)
        assert f.read(3) == data[7:10]
    ranges = log.ranges()
    assert ranges and all(r.startswith("bytes=") for r in ranges)
    fetched = sum(int(b) - int(a) + 1 for a, b in (re.findall(r"\d+", r) for r in ranges))
    assert fetched < len(data) // 2  # only the blocks read, not the whole file
    assert box.fs.cat_file("big.bin", start=MiB, end=MiB + 4) == data[MiB : MiB + 4]
    assert box.fs.cat_file("big.bin", start=-3) == data[-3:]


def test_a_range_read_gets_a_new_link_when_the_old_one_expired(box: Box) -> None:
    box.fs.pipe("f.bin", b"0123456789")
    with box.fs.open("f.bin", "rb", block_size=4, cache_type="none") as f:
        assert f.read(2) == b"01"
        box.emu.clock.advance(box.emu.settings.download_url_lifetime + 1)
        f.seek(6)
        assert f.read(3) == b"678"


def test_writing_an_existing_file_uploads_a_new_version(box: Box) -> None:
    before = box.file("Welcome.txt")
    first_version = before.version_id
    with box.fs.open("Welcome.txt", "wb") as f:
        f.write(b"new words\n")
    after = box.file("Welcome.txt")
    assert after.id == before.id and after.version_id != first_version
    assert box.fs.cat("Welcome.txt") == b"new words\n"


def test_exclusive_writes_refuse_an_existing_name(box: Box) -> None:
    with pytest.raises(FileExistsError):
        box.fs.open("Welcome.txt", "xb")
    with pytest.raises(FileExistsError):
        box.fs.pipe_file("Welcome.txt", b"x", mode="create")
    with box.fs.open("fresh.txt", "xb") as f:
        f.write(b"ok")
    assert box.fs.cat("fresh.txt") == b"ok"


def test_an_error_inside_a_write_block_uploads_nothing(box: Box) -> None:
    def fail_while_writing() -> None:
        with box.fs.open("half.txt", "wb") as f:
            f.write(b"partial")
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        fail_while_writing()
    assert not box.fs.exists("half.txt")


def test_append_mode_is_refused_plainly(box: Box) -> None:
    with pytest.raises(NotImplementedError, match="cannot append"):
        box.fs.open("Welcome.txt", "ab")


def test_writes_create_missing_parent_folders(box: Box) -> None:
    box.fs.pipe("a/b/c.txt", b"deep")
    assert box.fs.isdir("a/b") and box.fs.cat("a/b/c.txt") == b"deep"


# --- put, get, mkdir, rm, copy ---------------------------------------------------------------
def test_put_and_get_files_and_trees(box: Box, tmp_path: Path) -> None:
    local = tmp_path / "local"
    (local / "sub").mkdir(parents=True)
    (local / "one.csv").write_bytes(b"a,b\n1,2\n")
    (local / "sub" / "two.bin").write_bytes(random_bytes(300_000))
    box.fs.put(str(local), "Upload", recursive=True)
    assert sorted(box.fs.find("Upload")) == ["Upload/one.csv", "Upload/sub/two.bin"]
    assert (
        box.file("Upload/sub/two.bin").sha1
        == hashlib.sha1((local / "sub" / "two.bin").read_bytes()).hexdigest()
    )
    out = tmp_path / "out"
    box.fs.get("Upload", str(out), recursive=True)
    assert (out / "sub" / "two.bin").read_bytes() == (local / "sub" / "two.bin").read_bytes()
    target = io.BytesIO()
    box.fs.get_file("Upload/one.csv", target)
    assert target.getvalue() == b"a,b\n1,2\n"


def test_mkdir_makedirs_and_their_errors(box: Box) -> None:
    fs = box.fs
    fs.mkdir("x/y/z")
    assert fs.isdir("x/y/z")
    with pytest.raises(FileExistsError):
        fs.mkdir("x/y")
    with pytest.raises(FileNotFoundError):
        fs.mkdir("p/q", create_parents=False)
    fs.makedirs("x/y/z", exist_ok=True)
    with pytest.raises(FileExistsError):
        fs.makedirs("x/y/z")
    with pytest.raises(FileExistsError):
        fs.makedirs("Welcome.txt", exist_ok=True)


def test_rm_files_folders_and_trees(box: Box) -> None:
    fs = box.fs
    fs.pipe({"t/a.txt": b"a", "t/s/b.txt": b"b", "t/s/c.txt": b"c"})
    fs.rm_file("t/a.txt")
    assert not fs.exists("t/a.txt")
    with pytest.raises(OSError, match="folder_not_empty") as caught:
        fs.rmdir("t/s")
    assert caught.value.errno == errno.ENOTEMPTY
    with pytest.raises(IsADirectoryError):
        fs.rm_file("t/s")
    fs.rm(["t/s/b.txt", "t/s/c.txt"])
    fs.rmdir("t/s")
    fs.pipe("t/s/d.txt", b"d")
    fs.rm("t", recursive=True)
    assert not fs.exists("t")
    assert not any(f.name == "d.txt" for f in box.emu.state.content.files.values())
    with pytest.raises(FileNotFoundError):
        fs.rm("t")
    with pytest.raises(PermissionError):
        fs.rm("", recursive=True)


def test_copy_uses_box_copy_and_replaces_an_existing_target(box: Box) -> None:
    fs = box.fs
    fs.copy("Reports/q1.csv", "Archive/q1.csv")
    assert fs.cat("Archive/q1.csv") == fs.cat("Reports/q1.csv")
    fs.pipe("Archive/q2.csv", b"old")
    fs.copy("Reports/q2.csv", "Archive/q2.csv")
    assert fs.cat("Archive/q2.csv") == fs.cat("Reports/q2.csv")
    fs.mv("Archive/q2.csv", "Archive/moved.csv")
    assert fs.ls("Archive", detail=False) == ["Archive/moved.csv", "Archive/q1.csv"]


# --- errors -----------------------------------------------------------------------------------
def test_missing_paths_raise_file_not_found(box: Box) -> None:
    for call in (
        lambda: box.fs.info("Nope"),
        lambda: box.fs.cat("Reports/nope.csv"),
        lambda: box.fs.open("Welcome.txt/inside", "rb"),
        lambda: pd.read_csv("box://Nope.csv", storage_options=box.options()),
    ):
        with pytest.raises(FileNotFoundError):
            call()


def test_a_file_deleted_under_an_open_handle_is_file_not_found_with_box_details(box: Box) -> None:
    box.fs.pipe("gone.txt", b"0123456789")
    f = box.fs.open("gone.txt", "rb", block_size=4, cache_type="none")
    box.emu.state.content.delete_file(box.emu.user.id, box.fs.info("gone.txt")["id"])
    with pytest.raises(FileNotFoundError, match="404 not_found") as caught:
        f.read(2)
    assert REQUEST_ID.search(str(caught.value))


def test_a_name_taken_meanwhile_is_file_exists_with_box_details(box: Box) -> None:
    box.fs.ls("Reports")  # cached: the client does not know about the next file
    box.emu.state.content.add_file(
        box.emu.user.id, box.fs.info("Reports")["id"], "race.csv", b"theirs"
    )
    with pytest.raises(FileExistsError, match="409 item_name_in_use") as caught:
        box.fs.pipe("Reports/race.csv", b"mine")
    assert REQUEST_ID.search(str(caught.value))
    assert box.fs.cat("Reports/race.csv") == b"theirs"  # the cache was invalidated


def test_a_read_only_connection_gets_permission_errors(
    emulator: BoxEmulator, box_env: Path
) -> None:
    app = emulator.add_app("Reader", [REDIRECT_URI], scopes=("root_readonly",))
    connect(emulator, box_env, "reader", client_id=app.client_id, client_secret=app.client_secret)
    fs = BoxFileSystem("reader")
    assert fs.cat("Welcome.txt").startswith(b"Welcome")
    with pytest.raises(PermissionError, match="403 insufficient_scope") as caught:
        fs.pipe("new.txt", b"x")
    assert REQUEST_ID.search(str(caught.value))
    with pytest.raises(PermissionError):
        fs.mkdir("NewFolder")


@pytest.mark.parametrize("size", [100, 2 * MiB])
def test_a_full_account_gets_a_permission_error_about_quota(box: Box, size: int) -> None:
    fs = small_chunks(box)  # 2 MiB goes through an upload session
    user = box.emu.user
    user.space_amount = box.emu.state.content.space_used(user.id) + 50
    with pytest.raises(PermissionError, match=r"quota.*403 storage_limit_exceeded") as caught:
        fs.pipe("too-big.bin", random_bytes(size))
    assert REQUEST_ID.search(str(caught.value))
    assert not fs.exists("too-big.bin")


# --- the connection underneath --------------------------------------------------------------
def test_an_expired_token_is_refreshed_under_the_file_system(box: Box) -> None:
    vault = Vault(box.home)
    with vault.lock(NAME):
        saved = vault.load(NAME)
        assert saved is not None
        saved["token"]["expires_at"] = time.time() - 1
        vault.save(NAME, saved)
    refreshes = box.emu.counters()["refreshes"]
    fs = box.new_fs()
    assert fs.cat("Welcome.txt").startswith(b"Welcome")
    assert box.emu.counters()["refreshes"] == refreshes + 1


def test_listing_rides_out_a_rate_limit(box: Box) -> None:
    box.emu.inject_fault(status=429, retry_after=0, path="/2.0/folders", times=2)
    assert box.fs.ls("Reports", detail=False) == ["Reports/q1.csv", "Reports/q2.csv"]


# --- chunked uploads ----------------------------------------------------------------------------
def test_large_writes_use_an_upload_session_with_parts_in_flight(
    box: Box, monkeypatch: pytest.MonkeyPatch
) -> None:
    fs = small_chunks(box)
    data = random_bytes(3 * MiB + 1000)
    log = RequestLog(monkeypatch, fs.session)
    with fs.open("chunked.bin", "wb") as f:
        for offset in range(0, len(data), 100_000):
            f.write(data[offset : offset + 100_000])
    stored = box.file("chunked.bin")
    assert stored.sha1 == hashlib.sha1(data).hexdigest()
    puts = [h for m, _, h in log.requests if m.upper() == "PUT"]
    assert len(puts) == 13  # 12 parts of 256 KiB and a short last one
    assert all(
        h["Digest"].startswith("sha=") and h["Content-Range"].startswith("bytes ") for h in puts
    )
    commit = next(h for m, u, h in log.requests if u.endswith("/commit"))
    assert commit["Digest"] == "sha=" + base64.b64encode(hashlib.sha1(data).digest()).decode()
    # a second write of the same path is a new version through a session on the file
    fs.pipe("chunked.bin", data[::-1])
    assert box.file("chunked.bin").id == stored.id
    assert box.file("chunked.bin").sha1 == hashlib.sha1(data[::-1]).hexdigest()


@pytest.mark.parametrize("status", [412, 503])
def test_a_failed_part_is_sent_again(box: Box, tmp_path: Path, status: int) -> None:
    fs = small_chunks(box)
    data = random_bytes(2 * MiB + 5, seed=status)
    (tmp_path / "src.bin").write_bytes(data)
    box.emu.fail_upload_part(status=status, part=3, times=2)
    fs.put(str(tmp_path / "src.bin"), "retried.bin")
    assert box.file("retried.bin").sha1 == hashlib.sha1(data).hexdigest()
    assert box.emu.state.faults.take_part(3) is None  # both injected failures were met


def test_a_part_whose_answer_was_lost_is_sent_again_and_accepted(box: Box) -> None:
    fs = small_chunks(box)
    data = random_bytes(2 * MiB, seed=9)
    # Box stored the part, then the connection dropped before the answer: the same bytes are
    # sent again and Box accepts them (a part is immutable; an identical one is not a conflict)
    box.emu.inject_fault(
        drop=True, after=True, method="PUT", path="/api/2.0/files/upload_sessions/"
    )
    fs.pipe("lost-answer.bin", data)
    assert box.file("lost-answer.bin").sha1 == hashlib.sha1(data).hexdigest()
    assert box.emu.state.faults.take("PUT", "/api/2.0/files/upload_sessions/x") is None


def test_a_part_that_keeps_failing_aborts_the_session(box: Box) -> None:
    fs = small_chunks(box)
    box.emu.fail_upload_part(status=412, part=1, times=10)
    with pytest.raises(OSError, match="412 precondition_failed"):
        fs.pipe("never.bin", random_bytes(2 * MiB))
    assert not box.emu.state.content.sessions  # aborted: nothing left half-made
    assert not fs.exists("never.bin")
    box.emu.clear_faults()


# --- progress ---------------------------------------------------------------------------------
def test_progress_bars_show_only_when_wanted(
    box: Box, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = random_bytes(progress_module.MIN_SIZE)
    box.fs.pipe("quiet.bin", data)
    box.fs.cat("quiet.bin")
    assert capsys.readouterr().err == ""
    loud = box.new_fs(progress=True)
    loud.pipe("loud.bin", data)
    loud.get_file("loud.bin", io.BytesIO())
    err = capsys.readouterr().err
    assert "Uploading loud.bin" in err and "Downloading loud.bin" in err
    monkeypatch.setenv("BOX_WIDGET_PROGRESS", "1")
    assert progress_module.wanted(None, progress_module.MIN_SIZE)
    assert not progress_module.wanted(None, progress_module.MIN_SIZE - 1)
    assert not progress_module.wanted(False, 10**9)
    monkeypatch.setenv("BOX_WIDGET_PROGRESS", "off")
    assert not progress_module.wanted(None, 10**9)
