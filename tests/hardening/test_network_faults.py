"""Network faults from the emulator's switches, against a real connection over real HTTP.

What ``tests/test_connection.py`` already shows (429 and 5xx on API calls, a token endpoint that
stays down) is not repeated; here:

- 429 bursts and 503 at the token endpoint while refreshing: retried (Box did not process the
  request), and the saved tokens unchanged until a refresh succeeds;
- 500, 502 and 504 while refreshing, whether Box rotated the refresh token first or not: Box
  may have acted, so the refresh mark stays (saying which status) and the same refresh token is
  tried once more, as for a lost answer; if Box had rotated, this process and the next one are
  told to connect again and why;
- a token request that times out, and one whose connection drops before Box processed it: the
  same refresh token is tried once more and works;
- a connection dropped *after* Box rotated the refresh token (the one unrecoverable case): the
  error says to connect again and why, the old token stays in the vault until then, and a
  later attempt (in any process) says what happened;
- uploads (POST) are never sent twice after a 5xx or a dropped connection (Box may have stored
  the file), only after a 429 (Box did not process it): the emulator's counters show it;
- a revoke racing a refresh of the same connection (two threads, as two kernels): no token is
  left live at Box, whichever starts first.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from support.connection_checks import connect, raises_clean, record

from box_widget import BoxAPIError, BoxConnection, BoxWidgetError, ReauthorizationRequired
from box_widget.audit import read as audit_events
from box_widget.emulator import BoxEmulator
from box_widget.errors import AnswerInDoubt, AnswerLost
from box_widget.tokens import REFRESHING
from box_widget.vault import Vault

from .conftest import expire

NAME = "work"
#: The statuses after which Box may have processed a token request.
SERVER_ERRORS = pytest.mark.parametrize("status", [500, 502, 504])


def due(emu: BoxEmulator, home: Path) -> BoxConnection:
    """A connected connection whose access token has expired at Box and for the client."""
    connect(emu, home)
    expire(emu, home, NAME)
    return BoxConnection(NAME, home=home)


def due_with_fault(
    emu: BoxEmulator, home: Path, **fault: Any
) -> tuple[BoxConnection, dict[str, Any]]:
    """A due connection, its saved record, and ``fault`` injected at the token endpoint."""
    conn = due(emu, home)
    before = record(home, NAME)
    emu.inject_fault(path="/oauth2/token", **fault)
    return conn, before


def dropped_after_rotation(
    emu: BoxEmulator, home: Path, times: int
) -> tuple[BoxConnection, dict[str, Any]]:
    """A due connection, its saved record, and the next ``times`` token answers dropped after
    Box acted."""
    return due_with_fault(emu, home, drop=True, after=True, times=times)


def refreshes(emu: BoxEmulator) -> int:
    return int(emu.counters()["refreshes"])


def events(home: Path) -> list[str]:
    return [e["event"] for e in audit_events(home, NAME)]


# --- 1. 429 bursts, 503 while refreshing --------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "times", "recovers"),
    [
        (429, 3, True),  # a burst within the token client's 3 retries
        (503, 2, True),  # Box did not process it: retried
        (503, None, False),  # Box stays unavailable: the mark is taken back
        (429, None, False),  # a burst longer than the retries
    ],
)
def test_token_endpoint_faults_while_refreshing(
    emulator: BoxEmulator, home: Path, status: int, times: int | None, recovers: bool
) -> None:
    emu = emulator
    conn, before = due_with_fault(emu, home, status=status, retry_after=0, times=times)
    if recovers:
        assert conn.test_connection()["login"] == "ada@example.com"
        assert refreshes(emu) == 1
        assert record(home, NAME)["token"]["refresh_token"] != before["token"]["refresh_token"]
        assert events(home) == ["connect", "refresh"]
        return
    with raises_clean(emu, BoxWidgetError, match=f"HTTP {status}") as info:
        conn.test_connection()
    assert not isinstance(info.value, ReauthorizationRequired)
    assert "nothing stored was changed" in str(info.value).lower()
    assert record(home, NAME) == before  # the refresh mark is gone again, the token kept
    assert refreshes(emu) == 0
    assert events(home) == ["connect", "refresh-failed"]
    emu.clear_faults()
    assert conn.test_connection()["login"] == "ada@example.com"  # the same refresh token
    assert refreshes(emu) == 1


# --- 1b. 500, 502, 504 while refreshing: Box may have acted -----------------------------------


@SERVER_ERRORS
def test_a_refresh_failing_with_a_server_error_after_box_rotated_says_so(
    emulator: BoxEmulator, home: Path, status: int
) -> None:
    emu = emulator
    conn, before = due_with_fault(emu, home, status=status, after=True, times=1)

    with raises_clean(emu, ReauthorizationRequired) as info:
        conn.test_connection()
    for words in (
        "must be connected again",
        f"process {os.getpid()}",
        f"Box answered it with a server error, HTTP {status}",
        "after Box had already replaced the refresh token",
        "click Generate",
    ):
        assert words in str(info.value), f"{words!r} not in {str(info.value)!r}"
    assert refreshes(emu) == 1  # Box did rotate; the retry with the same token was refused
    saved = record(home, NAME)
    assert saved["token"] == before["token"]
    assert saved[REFRESHING]["pid"] == os.getpid()
    assert saved[REFRESHING]["status"] == status  # the mark stays, saying what happened
    assert events(home) == ["connect", "refresh-unanswered", "reauthorization-required"]
    assert audit_events(home, NAME)[1]["status"] == status

    later = BoxConnection(NAME, home=home)  # whoever tries next gets the accurate message
    with raises_clean(emu, ReauthorizationRequired) as info:
        later.test_connection()
    assert f"Box answered it with a server error, HTTP {status}" in str(info.value)
    assert record(home, NAME)["token"] == before["token"]


@SERVER_ERRORS
def test_a_refresh_failing_twice_with_a_server_error_keeps_the_mark(
    emulator: BoxEmulator, home: Path, status: int
) -> None:
    emu = emulator
    conn, before = due_with_fault(emu, home, status=status, times=2)  # Box did not act

    with raises_clean(emu, AnswerInDoubt, match=f"HTTP {status}") as info:
        conn.test_connection()
    assert "Box may have acted on it" in str(info.value)
    assert "is kept: try again when Box is back" in str(info.value)
    saved = record(home, NAME)
    assert saved["token"] == before["token"]
    assert saved[REFRESHING] == {
        **saved[REFRESHING],
        "pid": os.getpid(),
        "lost": True,
        "status": status,
    }
    assert events(home) == ["connect", "refresh-unanswered", "refresh-failed"]

    # Box had not acted: the next process's refresh works and takes the mark away
    later = BoxConnection(NAME, home=home)
    assert later.test_connection()["login"] == "ada@example.com"
    assert refreshes(emu) == 1
    assert REFRESHING not in record(home, NAME)


@SERVER_ERRORS
def test_a_refresh_failing_once_with_a_server_error_is_tried_once_more(
    emulator: BoxEmulator, home: Path, status: int
) -> None:
    emu = emulator
    conn = due(emu, home)
    emu.inject_fault(status=status, path="/oauth2/token", times=1)
    assert conn.test_connection()["login"] == "ada@example.com"
    assert events(home) == ["connect", "refresh-unanswered", "refresh"]
    assert REFRESHING not in record(home, NAME)


# --- 2. answers lost before Box acted: retried once, recovered ---------------------------------


@pytest.mark.parametrize("fault", ["timeout", "dropped before processing"])
def test_a_lost_refresh_that_box_did_not_process_is_tried_once_more(
    emulator: BoxEmulator, home: Path, fault: str
) -> None:
    emu = emulator
    conn = due(emu, home)
    if fault == "timeout":
        # Box answers in 1.5 s, the client waits 0.5 s: it gives up, tries again at once, and
        # that second try (no delay) is what Box processes first.
        emu.inject_fault(delay=1.5, path="/oauth2/token", times=1)
        conn.session.source.client.timeout = (5.0, 0.5)
    else:
        emu.inject_fault(drop=True, path="/oauth2/token", times=1)
    assert conn.test_connection()["login"] == "ada@example.com"
    assert events(home) == ["connect", "refresh-unanswered", "refresh"]
    assert REFRESHING not in record(home, NAME)
    assert BoxConnection(NAME, home=home).test_connection()["login"] == "ada@example.com"


# --- 3. dropped after Box rotated: the unrecoverable case --------------------------------------


def test_a_refresh_dropped_after_box_rotated_says_to_reconnect_and_why(
    emulator: BoxEmulator, home: Path
) -> None:
    emu = emulator
    conn, before = dropped_after_rotation(emu, home, 1)

    with raises_clean(emu, ReauthorizationRequired) as info:
        conn.test_connection()

    message = str(info.value)
    for words in (
        "must be connected again",
        f"process {os.getpid()}",
        "its connection to Box broke after the request was sent",
        "after Box had already replaced the refresh token",
        "Invalid refresh token",
        "refresh tokens work once",
        "click Generate",
        f"box-widget login {NAME}",
    ):
        assert words in message, f"{words!r} not in {message!r}"
    assert refreshes(emu) == 1  # Box did rotate, once
    assert emu.counters()["failed_refreshes"] == 1  # the one retry with the same token
    saved = record(home, NAME)
    assert saved["token"] == before["token"], "the old token left the vault before we knew"
    assert saved[REFRESHING]["pid"] == os.getpid()
    assert events(home) == ["connect", "refresh-unanswered", "reauthorization-required"]
    assert audit_events(home, NAME)[-1]["error"] == "LostRefresh"


def test_a_refresh_whose_answers_are_all_lost_keeps_the_token_and_explains_later(
    emulator: BoxEmulator, home: Path
) -> None:
    emu = emulator
    conn, before = dropped_after_rotation(emu, home, 2)

    with raises_clean(emu, AnswerLost) as info:
        conn.test_connection()
    assert "is kept: try again when the network is back" in str(info.value)
    assert "connect again" in str(info.value)
    assert record(home, NAME)["token"] == before["token"]

    # another process tries later: Box refuses the spent token, and the error says what happened
    later = BoxConnection(NAME, home=home)
    with raises_clean(emu, ReauthorizationRequired) as info:
        later.test_connection()
    assert f"a refresh started by process {os.getpid()}" in str(info.value)
    assert "never got Box's answer saved" in str(info.value)
    assert record(home, NAME)["token"] == before["token"]  # still nothing deleted silently


# --- 4. uploads are not sent twice -----------------------------------------------------------


def upload(conn: BoxConnection, name: str) -> requests.Response:
    attributes = json.dumps({"name": name, "parent": {"id": "0"}})
    return conn.session.post(
        f"{conn.endpoints.upload_url}/files/content",
        files=[
            ("attributes", (None, attributes, "application/json")),
            ("file", (name, b"payload", "application/octet-stream")),
        ],
    )


def files_named(emu: BoxEmulator, name: str) -> int:
    _, files = emu.state.content.children(emu.user.id, "0")
    return sum(f.name == name for f in files)


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 500},
        {"status": 503},
        {"status": 502},
        {"drop": True},
        {"drop": True, "after": True},
    ],
)
def test_an_upload_is_never_retried_blindly(
    emulator: BoxEmulator, home: Path, fault: dict[str, Any]
) -> None:
    emu = emulator
    conn = connect(emu, home)
    conn.test_connection()
    calls = emu.counters()["api_calls"]
    emu.inject_fault(path="/api/2.0/files/content", method="POST", times=3, **fault)
    expected: type[Exception] = BoxAPIError if "status" in fault else requests.ConnectionError
    with pytest.raises(expected):
        upload(conn, "report.csv")
    assert emu.counters()["api_calls"] == calls + 1, "the upload was sent more than once"
    assert files_named(emu, "report.csv") == (1 if fault.get("after") else 0)


def test_an_upload_refused_with_429_is_sent_again(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    conn = connect(emu, home)
    conn.test_connection()
    calls = emu.counters()["api_calls"]
    emu.inject_fault(
        status=429, retry_after=0, path="/api/2.0/files/content", method="POST", times=2
    )
    assert upload(conn, "report.csv").status_code == 201
    assert emu.counters()["api_calls"] == calls + 3
    assert files_named(emu, "report.csv") == 1


# --- 5. a revoke racing a refresh ----------------------------------------------------------------


def live_tokens(emu: BoxEmulator) -> int:
    """How many access and refresh tokens Box would still accept."""
    oauth, now = emu.state.oauth, emu.clock.now()
    with oauth.lock:
        return sum(
            not t.revoked and now < t.expires_at for t in oauth.access_tokens.values()
        ) + sum(
            not (t.used or t.revoked) and now < t.expires_at for t in oauth.refresh_tokens.values()
        )


@pytest.mark.parametrize("first", ["revoke", "refresh"])
def test_a_refresh_racing_a_revoke_never_leaves_a_live_token(
    emulator: BoxEmulator, home: Path, first: str
) -> None:
    """One thread revokes while another refreshes the same due connection (each its own
    BoxConnection, as two kernels). Box takes 1 s to answer the first revoke, so the refresh
    comes while the revoke is under way (or, the other way round, the revoke while the refresh
    waits 1 s for Box)."""
    emu = emulator
    due(emu, home)
    slow = "/oauth2/revoke" if first == "revoke" else "/oauth2/token"
    emu.inject_fault(delay=1.0, path=slow, times=1)
    outcomes: dict[str, str] = {}

    def run(what: str) -> None:
        conn = BoxConnection(NAME, home=home)
        try:
            conn.revoke() if what == "revoke" else conn.test_connection()
            outcomes[what] = "ok"
        except BoxWidgetError as exc:
            outcomes[what] = type(exc).__name__

    threads = {what: threading.Thread(target=run, args=(what,)) for what in ("revoke", "refresh")}
    second = "refresh" if first == "revoke" else "revoke"
    threads[first].start()
    time.sleep(0.3)  # the first is waiting for Box's answer
    threads[second].start()
    for thread in threads.values():
        thread.join(timeout=60)

    assert outcomes["revoke"] == "ok"
    if first == "revoke":
        assert outcomes["refresh"] == "ReauthorizationRequired"
        assert emu.counters()["refreshes"] == 0
    else:  # the refresh went through; the revoke then waited for the lock and revoked the new
        # tokens, before or after Test Connection's users/me: "ok" or, after, reconnect
        assert outcomes["refresh"] in {"ok", "ReauthorizationRequired"}
        assert emu.counters()["refreshes"] == 1
    assert live_tokens(emu) == 0, "a token is still live at Box after the revoke"
    assert Vault(home).load(NAME) is None
    revokes = [e for e in audit_events(home, NAME) if e["event"] == "revoke"]
    assert [e["at_box"] for e in revokes] == [True]
