"""The secret scan: every secret, token, code and state used, looked for everywhere it could leak.

A real Jupyter server (DEBUG logs of every library, captured whole), sign-ins through its callback
(success, replay, denial, wrong secret), a kernel in another process with DEBUG logging on its
stderr (refresh ahead of expiry, refresh after a 401, an API error), and the new fault paths in
this process (a refresh answer lost after Box rotated, a full disk, a dead refresh token, a
revocation). Then ``secret_scan`` looks through the server's log, the kernel's output, every page
and status answer, every exception text (message, repr, traceback) and every file of the vault
(records, pending, audit trail): zero hits, and the vault holds the tokens only as ciphertext
(decrypted, the same record holds them: the scan of its bytes would have seen them).
The browser flows' saved notebooks are scanned in ``test_secret_scan_browser``.
"""

from __future__ import annotations

import errno
import logging
import os
import subprocess
import sys
import traceback
from pathlib import Path

import pytest
from support.secret_scan import emulator_secrets, main, scan
from test_server import NAME, Box, LogTap, query

from box_widget import BoxAPIError, BoxConnection, BoxWidgetError

from .conftest import expire

KERNEL = r"""
import logging, sys, time
logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                    format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
from box_widget import BoxConnection
from box_widget.errors import BoxAPIError
conn = BoxConnection(sys.argv[1], home=sys.argv[2])
print(repr(conn), repr(conn.session), repr(conn.session.source.client))
print(conn.test_connection()["login"])                        # a refresh ahead of expiry
conn.session.source._token = {**conn.session.source.token, "access_token": "refused-by-box-xyz"}
print(conn.test_connection()["login"])                        # a refresh after a 401
try:
    conn.session.get("folders/999999/items")
except BoxAPIError as exc:
    import traceback
    print("".join(traceback.format_exception(exc)))
print(conn.audit_log())
"""


def exception_text(exc: BaseException) -> str:
    return "\n".join([str(exc), repr(exc), *traceback.format_exception(exc)])


async def test_no_secret_in_logs_pages_exceptions_or_vault_files(
    box: Box, log_tap: LogTap, monkeypatch: pytest.MonkeyPatch
) -> None:
    box.tap = log_tap
    wrong = "Wr0ng-secret-" + "q" * 24
    pages = [await box.flow()]
    pages.append(await box.callback(box.locations[-1]))  # replayed
    pages.append(await box.callback(box.consent(box.start("denied"), grant=False)))
    pages.append(await box.flow("wrong", client_secret=wrong))
    pages.append(await box.flow("other"))
    assert [p.status for p in pages] == [200, 400, 400, 400, 200]

    # a kernel in another process, DEBUG logging on everything
    expire(box.emu, box.home, NAME)
    env = {**os.environ, "BOX_WIDGET_KEYRING": "0"}
    kernel = subprocess.run(
        [sys.executable, "-c", KERNEL, NAME, str(box.home)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # Scanned before any of it can reach a failure message (and so the CI log).
    kernel_hits = scan(
        emulator_secrets(box.emu) | {wrong},
        texts={"kernel stdout": kernel.stdout, "kernel log (DEBUG)": kernel.stderr},
    )
    assert kernel_hits == {}
    assert kernel.returncode == 0, kernel.stderr[-2000:]
    assert "refreshing the access token: ok" in kernel.stderr  # DEBUG/INFO was on
    assert "urllib3.connectionpool DEBUG" in kernel.stderr

    # the fault paths, in this process (the tap sees their log lines)
    errors: list[BaseException] = []
    other = box.connection("other")
    expire(box.emu, box.home, "other")
    box.emu.inject_fault(drop=True, after=True, path="/oauth2/token", times=1)
    with pytest.raises(BoxWidgetError) as lost:
        other.test_connection()
    errors.append(lost.value)
    with pytest.raises(BoxWidgetError) as dead:
        BoxConnection("other", home=box.home).test_connection()
    errors.append(dead.value)
    with pytest.raises(BoxAPIError) as api:
        box.connection().session.get("files/123456789")
    errors.append(api.value)
    fsync = os.fsync

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    expire(box.emu, box.home, NAME)
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(BoxWidgetError) as disk:
        BoxConnection(NAME, home=box.home).test_connection()
    monkeypatch.setattr(os, "fsync", fsync)
    errors.append(disk.value)
    box.connection("other").revoke()
    status, body = await box.status()
    assert status == 200

    secrets = (
        emulator_secrets(box.emu)
        | {wrong}
        | {
            value
            for location in box.locations
            for key, value in query(location).items()
            if key in {"code", "state"}
        }
    )
    hits = scan(
        secrets,
        texts={
            "server log (DEBUG)": log_tap.text,
            "kernel stdout": kernel.stdout,
            "kernel log (DEBUG)": kernel.stderr,
            "pages": "\n".join(p.raw for p in pages),
            "status API": body,
            **{f"exception {type(e).__name__}": exception_text(e) for e in errors},
        },
        paths=[box.home],
    )
    assert hits == {}
    token = (box.vault.load(NAME) or {})["token"]
    assert {token["access_token"], token["refresh_token"]} <= secrets
    files = [p for p in box.home.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {f"{NAME}.box", "audit.log", "vault.key"}
    print(
        f"\nsecret scan: {len(secrets)} secrets x {len(files)} vault files, "
        f"{len(log_tap.lines)} server log lines, {len(kernel.stderr.splitlines())} kernel "
        f"log lines, {len(pages)} pages, {len(errors)} exception texts: 0 hits"
    )


def test_the_scanner_finds_what_it_should(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "Sup3r-secret_t0ken/with+chars"
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "plain.log").write_text(f"token={secret}\n")
    (folder / "encoded.log").write_text("token=Sup3r-secret_t0ken%2Fwith%2Bchars\n")
    (folder / "json.ipynb").write_text('{"text": "Sup3r-secret_t0ken\\/with+chars"}')
    (folder / "clean.log").write_text("nothing to see\n")
    hits = scan([secret, "short"], texts={"page": f"<p>{secret}</p>", "none": "x"}, paths=[folder])
    assert set(hits) == {
        "page",
        *(str(folder / name) for name in ("plain.log", "encoded.log", "json.ipynb")),
    }
    assert hits["page"] == ["Sup3r-..."]
    secrets_file = tmp_path / "secrets.txt"
    secrets_file.write_text(secret + "\n")
    assert main(["--secrets", str(secrets_file), str(folder)]) == 1
    assert main(["--secrets", str(secrets_file), str(folder / "clean.log")]) == 0
    assert secret not in capsys.readouterr().out
    with pytest.raises(ValueError, match="no secret"):
        scan(["short"], texts={"a": "b"})


def test_widget_messages_logged_by_comm_hold_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    """The ``comm`` package logs every widget message at DEBUG; the form's secret is masked."""
    import box_widget.widget  # noqa: F401 - installs the filter

    secret = "the-client-secret-typed-in-the-form"
    message = {
        "header": {"msg_type": "comm_msg"},
        "content": {
            "comm_id": "c1",
            "data": {"method": "custom", "content": {"type": "secret", "value": secret}},
        },
    }
    other = {"content": {"data": {"method": "custom", "content": {"type": "test"}}}}
    caplog.set_level(logging.DEBUG, logger="Comm")
    logging.getLogger("Comm").debug("handle_msg[%s](%s)", "c1", message)
    logging.getLogger("Comm").debug("handle_msg[%s](%s)", "c1", other)
    assert secret not in caplog.text
    assert "'value': '***'" in caplog.text
    assert "'type': 'test'" in caplog.text
    assert message["content"]["data"]["content"]["value"] == secret  # the message is untouched
