"""A connection's token (``tokens.py``): refresh and rotation, the expiry the client believes,
refresh ahead of expiry, one refresh for many threads, dead refresh tokens.

Each test has its own vault folder and never touches a real OS keyring; every emulator answer
is also checked against Box's OpenAPI description (the ``emulator`` fixture).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from support.connection_checks import (
    DAY,
    NAME,
    TIMEOUT,
    age_token,
    api_calls,
    bearer,
    connect,
    counters,
    make,
    mini,
    raises_clean,
    record,
    stored_token,
    use_refresh_token,
)

from box_widget import (
    AuthorizationError,
    BoxConnection,
    ReauthorizationRequired,
    connections,
    form_words,
)
from box_widget.cli import main as cli_main
from box_widget.emulator import BoxEmulator
from box_widget.records import SIGNED_OUT

#: No real keyring, no credentials or endpoints from the environment; and afterwards, no
#: process-wide switch to plain HTTP left behind by the code under test (conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_env", "insecure_transport_restored")


def test_threads_that_all_see_a_401_refresh_once(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    connect(emu, home)
    sessions = [BoxConnection(NAME, home=home).session for _ in range(8)]
    emu.clock.advance(3601)  # Box refuses the token the sessions hold
    start = threading.Barrier(len(sessions))
    results: list[Any] = []

    def call(session: requests.Session) -> None:
        start.wait(TIMEOUT)
        try:
            results.append(session.get("users/me").json()["id"])
        except Exception as exc:  # reported by the assertion below
            results.append(exc)

    threads = [threading.Thread(target=call, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == [emu.user.id] * len(sessions)
    assert counters(emu)["refreshes"] == 1
    assert counters(emu)["failed_refreshes"] == 0


def test_an_expired_token_is_refreshed_and_the_refresh_token_rotates(
    emulator: BoxEmulator, home: Path
) -> None:
    """No wall clock in it: the token lives an hour, and it expires by moving Box's clock and
    the vault's copy past its end (a loaded machine cannot make it expire early or late)."""
    emu = emulator
    emu.settings.access_token_lifetime = 3600
    conn = connect(emu, home)
    old = stored_token(home)
    assert old["expires_in"] == 3600
    assert mini(conn.test_connection()) == mini(emu.user)
    assert counters(emu)["refreshes"] == 0  # a live token is not refreshed on every call

    # the token expires, for Box and for the client (a new connection reads the aged vault)
    emu.clock.advance(3601)
    age_token(home, -1)
    later = BoxConnection(NAME, home=home)
    calls = api_calls(emu)
    assert mini(later.test_connection()) == mini(emu.user)
    assert counters(emu)["refreshes"] == 1
    assert counters(emu)["grants"]["refresh_token"] == 1
    assert api_calls(emu) == calls + 1  # refreshed before the request: no 401 round trip
    assert emu.state.counters.refresh_margins[-1] <= 0  # it had expired

    new = stored_token(home)
    assert new["refresh_token"] != old["refresh_token"]
    assert new["access_token"] != old["access_token"]
    assert new["expires_at"] > old["expires_at"]

    dead = use_refresh_token(emu, old["refresh_token"])
    assert dead.status_code == 400
    assert dead.json()["error"] == "invalid_grant"
    assert (
        requests.get(
            f"{emu.endpoints.api_url}/users/me",
            timeout=TIMEOUT,
            headers=bearer(new["access_token"]),
        ).status_code
        == 200
    )


def test_the_client_never_thinks_a_token_lives_longer_than_box_says(
    emulator: BoxEmulator, home: Path
) -> None:
    """The expiry is the clock reading when the token request was sent plus ``expires_in``:
    never later than Box's, at most a round trip earlier, and not a rounded second (oauthlib's
    ``expires_at`` is ``round(time.time()) + expires_in``, up to 0.5 s late, which matters
    when the refresh margin of a short-lived token is 0.2 s)."""
    emu = emulator
    lifetime = 3600  # long enough that the refresh below is the only one, however slow the machine
    emu.settings.access_token_lifetime = lifetime
    conn = make(emu, home)
    redirected = emu.authorize(conn.authorization_url())
    before = time.time()
    conn.complete(redirected)
    after = time.time()
    token = stored_token(home)
    at_box = emu.state.oauth.access_tokens[token["access_token"]].expires_at
    assert before + lifetime <= token["expires_at"] <= after + lifetime
    assert token["expires_at"] <= at_box  # never later than Box (counted from the request)...
    assert at_box - token["expires_at"] <= after - before  # ...and earlier by < a round trip

    age_token(home, -1)
    later = BoxConnection(NAME, home=home)
    before = time.time()
    later.test_connection()  # a refresh first, then users/me
    after = time.time()
    token = stored_token(home)
    assert counters(emu)["refreshes"] == 1
    assert before + lifetime <= token["expires_at"] <= after + lifetime


@pytest.mark.parametrize(
    ("lifetime", "remaining", "refreshes"),
    [
        # Seconds left, and the margin, leave room for a slow machine between aging the token
        # and the request (at least 15 s either way: Box's copy ages in real time meanwhile).
        (300, 45.0, 0),  # margin min(60, 300/10) = 30 s: 45 s left is plenty
        (300, 20.0, 1),  # 20 s left: refresh first
        (3600, 75.0, 0),  # margin 60 s
        (3600, 45.0, 1),
    ],
)
def test_a_token_is_refreshed_shortly_before_it_expires(
    emulator: BoxEmulator, home: Path, lifetime: int, remaining: float, refreshes: int
) -> None:
    emu = emulator
    emu.settings.access_token_lifetime = lifetime
    conn = connect(emu, home)
    assert mini(conn.test_connection()) == mini(emu.user)  # just issued: no refresh
    assert counters(emu)["refreshes"] == 0

    # time passes, for Box and for the client, until `remaining` seconds are left
    emu.clock.advance(lifetime - remaining)
    age_token(home, remaining)
    later = BoxConnection(NAME, home=home)
    calls = api_calls(emu)
    assert mini(later.test_connection()) == mini(emu.user)
    assert counters(emu)["refreshes"] == refreshes
    assert api_calls(emu) == calls + 1  # Box never answered 401
    if refreshes:
        margin = emu.state.counters.refresh_margins[-1]
        assert 0 < margin <= remaining, margin  # refreshed while the old token still lived
        assert stored_token(home)["expires_at"] > time.time() + lifetime - 5
        later.test_connection()  # the new token is fresh: no second refresh
        assert counters(emu)["refreshes"] == 1


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_a_dead_refresh_token_asks_to_connect_again(
    emulator: BoxEmulator, home: Path, how: str, capsys: pytest.CaptureFixture[str]
) -> None:
    emu = emulator
    connect(emu, home)
    before = record(home)
    if how == "revoked":  # e.g. the user removed the app in Box's account settings
        answer = requests.post(
            emu.endpoints.revoke_url,
            timeout=TIMEOUT,
            data={
                "client_id": emu.app.client_id,
                "client_secret": emu.app.client_secret,
                "token": before["token"]["refresh_token"],
            },
        )
        assert answer.status_code == 200
    else:  # unused for 60 days: both tokens expired, for Box and for the client
        emu.clock.advance(60 * DAY + 1)
        age_token(home, -1)
        before = record(home)

    conn = BoxConnection(NAME, home=home)
    with raises_clean(emu, ReauthorizationRequired) as info:
        conn.test_connection()
    message = str(info.value)
    assert info.value.error == "invalid_grant"
    assert "Generate" in message
    assert f"box-widget login {NAME}" in message
    assert isinstance(info.value, AuthorizationError)
    assert counters(emu)["failed_refreshes"] == 1
    # The connection is kept, marked "sign in again": only the dead tokens are dropped.
    assert connections(home) == [NAME]
    after = record(home)
    assert after.pop("signed_out_at") > 0
    assert after == {k: v for k, v in before.items() if k not in ("token", "refreshing")}
    assert_says_sign_in_again(BoxConnection(NAME, home=home), home, capsys)
    assert counters(emu)["failed_refreshes"] == 1  # asked Box once, not again


def assert_says_sign_in_again(
    conn: BoxConnection, home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """What every caller shows of a connection Box signed out: the summary and the status
    API's JSON, the error of using it, the form's status line, ``box-widget list``."""
    summary = conn.summary()
    assert summary.signed_out and not summary.connected
    assert summary.login == "ada@example.com"  # which Box account to sign in as again
    assert conn.summary().to_status()["signed_out_at"] == summary.signed_out_at
    with pytest.raises(ReauthorizationRequired) as info:
        conn.test_connection()
    assert SIGNED_OUT in str(info.value)
    form = conn.form
    assert form.message == form_words.SIGNED_OUT and form.signed_out
    assert form.state == "new" and form.token_hint == ""
    capsys.readouterr()
    assert cli_main(["list", "--home", str(home)]) == 0
    assert SIGNED_OUT in capsys.readouterr().out
