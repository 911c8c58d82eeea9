"""The connection core (vault, OAuth, session) against the emulator over real HTTP.

``BoxConnection`` end to end: the headless authorization flow, in one process and across two;
refresh rotation, ahead of expiry and after a 401; dead refresh tokens; every way an
authorization can fail; retries of 429 and 5xx; client credentials; revocation; API errors and
timeouts; transport rules; and that no secret, token or code shows in a repr, a log line or an
error message. Each test has its own vault folder and never touches a real OS keyring. Every
emulator answer is also checked against Box's OpenAPI description (the ``emulator`` fixture).
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import emulator_flow
import pytest
import requests
from emulator_flow import CALLBACK, new_connection

from box_widget import (
    AuthorizationError,
    BoxAPIError,
    BoxConnection,
    BoxEndpoints,
    BoxWidgetError,
    ConfigurationError,
    ReauthorizationRequired,
    connections,
)
from box_widget.emulator import BoxEmulator
from box_widget.emulator.content import User
from box_widget.vault import Vault

REDIRECT_URI = CALLBACK
NAME = "work"
DAY = 24 * 3600
TIMEOUT = 10
ENV_VARS = (
    "BOX_WIDGET_KEY",
    "BOX_CLIENT_ID",
    "BOX_CLIENT_SECRET",
    "BOX_REDIRECT_URI",
    "BOX_WIDGET_HOME",
    "OAUTHLIB_INSECURE_TRANSPORT",
    *BoxEndpoints().to_env(),
)
STATE = re.compile(r"[A-Za-z0-9_-]{43,}")  # token_urlsafe(32): 43 characters


# --- fixtures and helpers -----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No real keyring, no credentials or endpoints from the environment; and afterwards, no
    process-wide switch to plain HTTP left behind by the code under test."""
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    yield
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """This test's vault folder."""
    return tmp_path / "box_widget"


def make(emu: BoxEmulator, home: Path, name: str = NAME, **overrides: Any) -> BoxConnection:
    """A connection for the emulator's demo app (not connected yet)."""
    return new_connection(emu, home, name, **overrides)


def connect(emu: BoxEmulator, home: Path, name: str = NAME, **overrides: Any) -> BoxConnection:
    """A connection that went through the headless flow, granted by Ada."""
    return emulator_flow.connect(emu, home, name, **overrides)


def mini(user: dict[str, Any] | User) -> dict[str, Any]:
    """A user's id, name and login."""
    if isinstance(user, User):
        return {"id": user.id, "name": user.name, "login": user.login}
    return {k: user[k] for k in ("id", "name", "login")}


def record(home: Path, name: str = NAME) -> dict[str, Any]:
    """The connection's record as saved in the vault."""
    saved = Vault(home).load(name)
    assert saved is not None, f"connection {name!r} is not in the vault"
    return saved


def stored_token(home: Path, name: str = NAME) -> dict[str, Any]:
    """The connection's token as saved in the vault."""
    token: dict[str, Any] = record(home, name)["token"]
    return token


def age_token(home: Path, remaining: float, name: str = NAME) -> None:
    """Make the saved access token look, to the client, as if it expires in ``remaining`` s.

    The client reads real time; this is how the tests move its clock without sleeping (a new
    ``BoxConnection`` then reads the aged token)."""
    vault = Vault(home)
    with vault.lock(name):
        saved = vault.load(name)
        assert saved is not None
        saved["token"]["expires_at"] = time.time() + remaining
        vault.save(name, saved)


def counters(emu: BoxEmulator) -> dict[str, Any]:
    return emu.counters()


def api_calls(emu: BoxEmulator) -> int:
    return int(emu.counters()["api_calls"])


def issued_secrets(emu: BoxEmulator) -> set[str]:
    """Every secret the emulator knows: app secrets, codes, access and refresh tokens."""
    oauth = emu.state.oauth
    with oauth.lock:
        return (
            {app.client_secret for app in oauth.apps.values()}
            | set(oauth.codes)
            | set(oauth.access_tokens)
            | set(oauth.refresh_tokens)
        )


def assert_clean(emu: BoxEmulator, *texts: str, extra: tuple[str, ...] = ()) -> None:
    """None of the emulator's secrets (nor ``extra``) appears in ``texts``."""
    secrets = issued_secrets(emu) | set(extra)
    assert secrets, "no secret to look for"
    leaked = sorted({s[:6] + "..." for s in secrets for t in texts if s in t})
    assert not leaked, f"secrets leaked (shown truncated): {leaked}"


@contextmanager
def raises_clean(
    emu: BoxEmulator,
    kind: type[BaseException] | tuple[type[BaseException], ...],
    match: str | None = None,
    extra: tuple[str, ...] = (),
) -> Iterator[Any]:
    """``pytest.raises``, then check that the error, as a user would see it printed (message,
    repr, the whole traceback), holds no secret, token or code."""
    with pytest.raises(kind, match=match) as info:
        yield info
    exc = info.value
    shown = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    assert_clean(emu, str(exc), repr(exc), shown, extra=extra)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def use_refresh_token(emu: BoxEmulator, refresh_token: str) -> requests.Response:
    """Spend a refresh token at the emulator ourselves."""
    return requests.post(
        emu.endpoints.token_url,
        timeout=TIMEOUT,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": emu.app.client_id,
            "client_secret": emu.app.client_secret,
        },
    )


def run_child(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``script`` in a new Python process; its standard output."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


# --- 1. the headless flow -----------------------------------------------------------------------


def test_headless_flow_connects_and_saves_the_connection(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    conn = make(emu, home)
    assert not conn.connected
    assert conn.user is None
    assert connections(home) == []

    url = conn.authorization_url()
    base, _, _ = url.partition("?")
    assert base == emu.endpoints.authorize_url
    query = parse_qs(urlsplit(url).query, keep_blank_values=True)
    assert set(query) == {"response_type", "client_id", "redirect_uri", "state"}
    assert query["response_type"] == ["code"]
    assert query["client_id"] == [emu.app.client_id]
    assert query["redirect_uri"] == [REDIRECT_URI]
    state = query["state"][0]
    assert STATE.fullmatch(state), state
    other = parse_qs(urlsplit(conn.authorization_url()).query)["state"][0]
    assert other != state  # a new state every time

    user = conn.complete(emu.authorize(url))
    assert mini(user) == mini(emu.user)
    assert conn.connected
    assert mini(conn.user or {}) == mini(emu.user)
    assert conn.token_expires_at is not None and conn.token_expires_at > time.time() + 3000
    assert connections(home) == [NAME]
    assert counters(emu)["grants"]["authorization_code"] == 1

    # a new object, no credentials given: the saved connection is loaded and works
    again = BoxConnection(NAME, home=home)
    assert again.connected
    assert again.client_id == emu.app.client_id
    assert again.redirect_uri == REDIRECT_URI
    assert again.endpoints == emu.endpoints
    assert mini(again.test_connection()) == mini(emu.user)
    assert counters(emu)["refreshes"] == 0


def test_the_vault_is_private_and_encrypted(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    conn = connect(emu, home)
    assert conn.vault_status == {"home": str(home), "encrypted": True, "key_source": "file"}
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    files = [p for p in home.rglob("*") if p.is_file()]
    assert any(p.parent.name == "connections" for p in files)
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert_clean(emu, path.read_bytes().decode("latin-1"))
        assert emu.user.login not in path.read_bytes().decode("latin-1")
    for path in home.rglob("*"):
        if path.is_dir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o700, path

    saved = home / "connections" / f"{NAME}.box"
    saved.write_bytes(b"not a vault record")
    conn = BoxConnection(NAME, home=home)  # made all the same: its form can reconnect it
    with raises_clean(emu, ConfigurationError) as info:
        conn.test_connection()
    assert str(saved) in str(info.value)


# --- 2. across processes ------------------------------------------------------------------------


CHILD_AUTHORIZE = """
import sys
from box_widget import BoxConnection
print(BoxConnection(sys.argv[1], home=sys.argv[2]).authorization_url())
"""

CHILD_USERS_ME = """
import json, sys
from box_widget import BoxConnection
print(json.dumps(BoxConnection(sys.argv[1], home=sys.argv[2]).session.get("users/me").json()))
"""


def test_authorize_in_one_process_complete_in_another(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    # the child gets its settings from the environment, as a kernel would
    env = {
        **os.environ,
        **emu.endpoints.to_env(),
        "BOX_CLIENT_ID": emu.app.client_id,
        "BOX_CLIENT_SECRET": emu.app.client_secret,
        "BOX_REDIRECT_URI": REDIRECT_URI,
    }
    url = run_child(CHILD_AUTHORIZE, NAME, str(home), env=env).strip()
    assert url.startswith(emu.endpoints.authorize_url + "?")

    # this process knows nothing but the name and the vault folder
    conn = BoxConnection(NAME, home=home)
    assert mini(conn.complete(emu.authorize(url))) == mini(emu.user)
    assert conn.connected
    assert mini(conn.test_connection()) == mini(emu.user)
    assert record(home)["client_id"] == emu.app.client_id


def test_complete_on_a_bare_connection_takes_the_saved_settings(
    emulator: BoxEmulator, home: Path
) -> None:
    """A connection object made with only a name (a new kernel, before the vault had the
    connection) reflects the saved connection once ``complete`` saved it."""
    emu = emulator
    url = make(emu, home).authorization_url()
    conn = BoxConnection(NAME, home=home)
    conn.complete(emu.authorize(url))
    assert conn.client_id == emu.app.client_id
    assert conn.redirect_uri == REDIRECT_URI
    assert conn.endpoints == emu.endpoints
    assert emu.app.client_id in repr(conn)
    # Generate again on the same object: nothing to retype, the vault has it all
    again = parse_qs(urlsplit(conn.authorization_url()).query)
    assert again["client_id"] == [emu.app.client_id]
    assert urlsplit(conn.authorization_url()).netloc == urlsplit(emu.url).netloc


def test_a_connection_made_here_is_used_by_another_process(
    emulator: BoxEmulator, home: Path
) -> None:
    emu = emulator
    conn = connect(emu, home)
    assert mini(conn.test_connection()) == mini(emu.user)

    child_user = json.loads(run_child(CHILD_USERS_ME, NAME, str(home)))
    assert mini(child_user) == mini(emu.user)

    # Box expires the token: the child refreshes (and saves); this process, whose session still
    # holds the old token, gets a 401 and adopts the child's token instead of refreshing again
    old = stored_token(home)
    emu.clock.advance(3601)
    assert mini(json.loads(run_child(CHILD_USERS_ME, NAME, str(home)))) == mini(emu.user)
    assert counters(emu)["refreshes"] == 1
    assert stored_token(home)["refresh_token"] != old["refresh_token"]
    assert mini(conn.test_connection()) == mini(emu.user)
    assert counters(emu)["refreshes"] == 1
    assert counters(emu)["failed_refreshes"] == 0


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


# --- 3-5. refresh ------------------------------------------------------------------------------


def test_an_expired_token_is_refreshed_and_the_refresh_token_rotates(
    emulator: BoxEmulator, home: Path
) -> None:
    emu = emulator
    emu.settings.access_token_lifetime = 2
    conn = connect(emu, home)
    old = stored_token(home)
    assert old["expires_in"] == 2
    assert mini(conn.test_connection()) == mini(emu.user)
    assert counters(emu)["refreshes"] == 0  # a 2 s token is not refreshed on every call

    at_box = emu.state.oauth.access_tokens[old["access_token"]].expires_at
    time.sleep(max(0.0, max(at_box, old["expires_at"]) - time.time()) + 0.05)  # about 2 s
    calls = api_calls(emu)
    assert mini(conn.test_connection()) == mini(emu.user)
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
    emu.settings.access_token_lifetime = 2
    conn = make(emu, home)
    redirected = emu.authorize(conn.authorization_url())
    before = time.time()
    conn.complete(redirected)
    after = time.time()
    token = stored_token(home)
    at_box = emu.state.oauth.access_tokens[token["access_token"]].expires_at
    assert before + 2 <= token["expires_at"] <= after + 2
    assert token["expires_at"] <= at_box  # never later than Box (counted from the request)...
    assert at_box - token["expires_at"] <= after - before  # ...and earlier by < a round trip

    age_token(home, -1)
    later = BoxConnection(NAME, home=home)
    before = time.time()
    later.test_connection()  # a refresh first, then users/me
    after = time.time()
    token = stored_token(home)
    assert counters(emu)["refreshes"] == 1
    assert before + 2 <= token["expires_at"] <= after + 2


@pytest.mark.parametrize(
    ("lifetime", "remaining", "refreshes"),
    [
        (20, 3.0, 0),  # margin min(60, 20/10) = 2 s: 3 s left is plenty
        (20, 1.5, 1),  # 1.5 s left: refresh first
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


def test_a_401_refreshes_once_then_the_call_succeeds(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    conn = connect(emu, home)
    conn.test_connection()
    old = stored_token(home)

    emu.clock.advance(3601)  # Box thinks the token expired; the client does not
    calls = api_calls(emu)
    assert mini(conn.test_connection()) == mini(emu.user)
    assert counters(emu)["refreshes"] == 1
    assert api_calls(emu) == calls + 2  # the 401, then the retry with the new token
    assert emu.state.counters.refresh_margins[-1] < 0
    assert stored_token(home)["access_token"] != old["access_token"]


def test_a_401_that_persists_after_the_refresh_is_an_api_error(
    emulator: BoxEmulator, home: Path
) -> None:
    emu = emulator
    conn = connect(emu, home)
    conn.test_connection()
    calls = api_calls(emu)
    emu.inject_fault(status=401, path="/2.0/users/me", times=2)
    with raises_clean(emu, BoxAPIError) as info:
        conn.test_connection()
    assert info.value.status == 401
    assert counters(emu)["refreshes"] == 1  # refreshed once, not in a loop
    assert api_calls(emu) == calls + 2
    assert mini(conn.test_connection()) == mini(emu.user)  # and it works again afterwards


# --- 6. dead refresh tokens ---------------------------------------------------------------------


@pytest.mark.parametrize("how", ["revoked", "expired"])
def test_a_dead_refresh_token_asks_to_connect_again(
    emulator: BoxEmulator, home: Path, how: str
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
    # nothing lost or deleted silently
    assert connections(home) == [NAME]
    assert record(home) == before


# --- 7-8. authorization failures ----------------------------------------------------------------


def test_an_expired_code_is_refused(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    conn = make(emu, home)
    redirected = emu.authorize(conn.authorization_url())
    emu.clock.advance(31)  # the code lives 30 s
    with raises_clean(emu, AuthorizationError) as info:
        conn.complete(redirected)
    assert info.value.error == "invalid_grant"
    assert "expired" in str(info.value).lower()
    assert not conn.connected
    assert connections(home) == []


def test_a_replayed_state_is_refused_and_changes_nothing(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    conn = make(emu, home)
    redirected = emu.authorize(conn.authorization_url())
    conn.complete(redirected)
    before = record(home)
    with raises_clean(emu, AuthorizationError) as info:
        conn.complete(redirected)
    assert info.value.error == "invalid_state"
    assert "Generate" in str(info.value)
    assert record(home) == before
    assert counters(emu)["grants"]["authorization_code"] == 1  # the code was not sent again
    assert mini(conn.test_connection()) == mini(emu.user)


def test_a_state_from_another_vault_is_refused(emulator: BoxEmulator, tmp_path: Path) -> None:
    emu = emulator
    first, second = tmp_path / "first", tmp_path / "second"
    started = make(emu, first)
    redirected = emu.authorize(started.authorization_url())
    with raises_clean(emu, AuthorizationError) as info:
        make(emu, second).complete(redirected)
    assert info.value.error == "invalid_state"
    assert connections(second) == []
    assert counters(emu)["grants"]["authorization_code"] == 0
    # the vault that started it can still finish it
    assert mini(started.complete(redirected)) == mini(emu.user)


def test_a_state_started_for_another_connection_is_refused(
    emulator: BoxEmulator, home: Path
) -> None:
    emu = emulator
    started = make(emu, home, "first")
    redirected = emu.authorize(started.authorization_url())
    other = make(emu, home, "second")
    with raises_clean(emu, AuthorizationError) as info:  # a state mismatch (DESIGN: Errors)
        other.complete(redirected)
    assert "'first'" in str(info.value)
    assert not other.connected
    assert connections(home) == []
    assert counters(emu)["grants"]["authorization_code"] == 0


def test_a_pending_authorization_expires_after_ten_minutes(
    emulator: BoxEmulator, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = emulator
    conn = make(emu, home)
    redirected = emu.authorize(conn.authorization_url())
    import box_widget.vault as vault_module

    class Later:
        """The time module, 601 s later (for the vault module only)."""

        def __getattr__(self, name: str) -> Any:
            return getattr(time, name)

        def time(self) -> float:
            return time.time() + 601

    monkeypatch.setattr(vault_module, "time", Later())
    with raises_clean(emu, AuthorizationError) as info:
        conn.complete(redirected)
    assert info.value.error == "invalid_state"
    assert counters(emu)["grants"]["authorization_code"] == 0


def test_pending_authorizations_are_capped(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    conn = make(emu, home)
    first = conn.authorization_url()
    urls = [conn.authorization_url() for _ in range(40)]
    assert len(list((home / "pending").glob("*.box"))) <= 32
    with raises_clean(emu, AuthorizationError) as info:
        conn.complete(emu.authorize(first))  # the oldest went to make room
    assert info.value.error == "invalid_state"
    assert mini(conn.complete(emu.authorize(urls[-1]))) == mini(emu.user)


def test_denied_consent_saves_nothing(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    conn = make(emu, home)
    redirected = emu.authorize(conn.authorization_url(), grant=False)
    assert "error=access_denied" in redirected
    with raises_clean(emu, AuthorizationError) as info:
        conn.complete(redirected)
    assert info.value.error == "access_denied"
    assert "Grant access" in str(info.value)
    assert not conn.connected
    assert connections(home) == []
    assert counters(emu)["grants"]["authorization_code"] == 0


@pytest.mark.parametrize(
    "address",
    [
        "no state",
        "no code",
        "empty",
        "unknown state",
    ],
)
def test_an_address_without_state_or_code_is_refused(
    emulator: BoxEmulator, home: Path, address: str
) -> None:
    emu = emulator
    conn = make(emu, home)
    redirected = emu.authorize(conn.authorization_url())
    parts = parse_qs(urlsplit(redirected).query)
    code, state = parts["code"][0], parts["state"][0]
    pasted = {
        "no state": f"{REDIRECT_URI}?code={code}",
        "no code": f"{REDIRECT_URI}?state={state}",
        "empty": "",
        "unknown state": f"{REDIRECT_URI}?code={code}&state={'x' * 43}",
    }[address]
    with raises_clean(emu, AuthorizationError) as info:
        conn.complete(pasted)
    assert info.value.error == (
        "invalid_state" if address == "unknown state" else "invalid_request"
    )
    assert connections(home) == []
    assert counters(emu)["grants"]["authorization_code"] == 0


def test_a_wrong_client_secret_says_to_copy_the_credentials_again(
    emulator: BoxEmulator, home: Path
) -> None:
    emu = emulator
    wrong = "Wr0ngSecretWr0ngSecretWr0ngSecret"
    conn = make(emu, home, client_secret=wrong)
    redirected = emu.authorize(conn.authorization_url())
    with raises_clean(emu, AuthorizationError, extra=(wrong,)) as info:
        conn.complete(redirected)
    message = str(info.value)
    assert info.value.error == "invalid_client"
    assert "invalid_client" in message
    assert "Client ID" in message and "Client Secret" in message
    assert "copy" in message.lower()
    assert not conn.connected
    assert connections(home) == []
    assert not (home / "connections").exists() or not list((home / "connections").iterdir())


# --- 9. retries ----------------------------------------------------------------------------------


def test_429_is_retried_after_retry_after(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    conn = connect(emu, home)
    conn.test_connection()
    calls = api_calls(emu)
    emu.inject_fault(status=429, retry_after=1, path="/2.0/users/me", times=2)
    began = time.monotonic()
    assert mini(conn.test_connection()) == mini(emu.user)
    assert time.monotonic() - began >= 1.9  # Retry-After: 1, twice
    assert api_calls(emu) == calls + 3


def test_429_on_a_post_is_retried(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    conn = connect(emu, home)
    conn.test_connection()
    calls = api_calls(emu)
    emu.inject_fault(status=429, retry_after=0, path="/2.0/users/me", method="POST", times=1)
    conn.session.raise_on_error = False
    answer = conn.session.post("users/me", json={})
    assert answer.status_code == 405  # Box did not process the 429: sent again, and refused
    assert api_calls(emu) == calls + 2


@pytest.mark.parametrize(("status", "times"), [(503, 2), (500, 1), (502, 1), (504, 1)])
def test_5xx_on_a_get_is_retried(
    emulator: BoxEmulator, home: Path, status: int, times: int
) -> None:
    emu = emulator
    conn = connect(emu, home)
    conn.test_connection()
    calls = api_calls(emu)
    emu.inject_fault(status=status, path="/2.0/users/me", times=times)
    assert mini(conn.test_connection()) == mini(emu.user)
    assert api_calls(emu) == calls + times + 1


def test_500_on_a_post_is_not_retried(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    conn = connect(emu, home)
    conn.test_connection()
    calls = api_calls(emu)
    emu.inject_fault(status=500, path="/2.0/users/me", method="POST", times=2)
    with raises_clean(emu, BoxAPIError) as info:
        conn.session.post("users/me", json={})
    assert info.value.status == 500
    assert api_calls(emu) == calls + 1  # Box may have done it: not sent twice
    emu.clear_faults()


def test_503_from_the_token_endpoint_is_retried_during_complete(
    emulator: BoxEmulator, home: Path
) -> None:
    emu = emulator
    conn = make(emu, home)
    redirected = emu.authorize(conn.authorization_url())
    emu.inject_fault(status=503, path="/oauth2/token", times=1)
    assert mini(conn.complete(redirected)) == mini(emu.user)
    assert counters(emu)["grants"]["authorization_code"] == 1
    assert conn.connected


def test_a_token_endpoint_that_stays_down_changes_nothing(
    emulator: BoxEmulator, home: Path
) -> None:
    emu = emulator
    conn = connect(emu, home)
    conn.test_connection()
    before = record(home)
    emu.clock.advance(3601)  # the next call needs a refresh
    emu.inject_fault(status=503, path="/oauth2/token", times=None)
    with raises_clean(emu, BoxWidgetError) as info:
        conn.test_connection()
    assert not isinstance(info.value, ReauthorizationRequired)
    assert "nothing stored was changed" in str(info.value).lower()
    assert record(home) == before
    assert counters(emu)["refreshes"] == 0

    emu.clear_faults()  # Box is back: the same refresh token still works
    assert mini(conn.test_connection()) == mini(emu.user)
    assert counters(emu)["refreshes"] == 1


# --- 10. client credentials ----------------------------------------------------------------------


@pytest.mark.parametrize("subject", ["enterprise", "user"])
def test_client_credentials(emulator: BoxEmulator, home: Path, subject: str) -> None:
    emu = emulator
    expected = emu.service_account if subject == "enterprise" else emu.users[1]
    subject_id = emu.app.enterprise_id if subject == "enterprise" else emu.users[1].id
    conn = BoxConnection.from_client_credentials(
        "robot",
        client_id=emu.app.client_id,
        client_secret=emu.app.client_secret,
        subject_type=subject,
        subject_id=subject_id,
        endpoints=emu.endpoints,
        home=home,
    )
    assert conn.connected
    assert mini(conn.test_connection()) == mini(expected)
    assert mini(conn.user or {}) == mini(expected)
    assert "refresh_token" not in stored_token(home, "robot")
    assert counters(emu)["grants"]["client_credentials"] == 1
    assert connections(home) == ["robot"]

    # the token expires for the client: a new one is fetched before the call
    age_token(home, -1, name="robot")
    again = BoxConnection("robot", home=home)
    assert mini(again.test_connection()) == mini(expected)
    assert counters(emu)["grants"]["client_credentials"] == 2
    # Box expires it while the client still trusts it: a 401, then a new one
    emu.clock.advance(3601)
    assert mini(again.test_connection()) == mini(expected)
    assert counters(emu)["grants"]["client_credentials"] == 3
    assert counters(emu)["refreshes"] == 0


def test_client_credentials_with_a_wrong_secret(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    wrong = "Wr0ngSecretWr0ngSecretWr0ngSecret"
    with raises_clean(emu, BoxWidgetError, match="Grant credentials are invalid", extra=(wrong,)):
        BoxConnection.from_client_credentials(
            "robot",
            client_id=emu.app.client_id,
            client_secret=wrong,
            subject_type="enterprise",
            subject_id=emu.app.enterprise_id,
            endpoints=emu.endpoints,
            home=home,
        )
    assert connections(home) == []
    with raises_clean(emu, ConfigurationError):
        BoxConnection.from_client_credentials(
            "robot",
            client_id=emu.app.client_id,
            client_secret=emu.app.client_secret,
            subject_type="group",
            subject_id="1",
            endpoints=emu.endpoints,
            home=home,
        )


# --- 11. secrets --------------------------------------------------------------------------------


def test_reprs_mask_secrets_and_tokens(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    conn = connect(emu, home)
    session = conn.session
    session.get("users/me")
    objects = [conn, session, session.source, session.source.client, conn.vault, Vault(home)]
    texts = [text for obj in objects for text in (repr(obj), str(obj))]
    texts += [repr(conn.vault_status), repr(conn.user)]
    assert_clean(emu, *texts)
    assert emu.app.client_id in repr(conn)  # the id is not a secret, and helps


def test_nothing_secret_is_logged(
    emulator: BoxEmulator, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    emu = emulator
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests_oauthlib", "oauthlib", "box_widget", "requests"):
        caplog.set_level(logging.DEBUG, logger=name)

    conn = connect(emu, home)
    conn.test_connection()
    emu.clock.advance(3601)  # a refresh after a 401
    conn.test_connection()
    age_token(home, -1)  # a refresh before the request
    conn = BoxConnection(NAME, home=home)
    conn.test_connection()
    with pytest.raises(BoxAPIError):
        conn.session.get("folders/999999/items")
    wrong = make(emu, home, "other", client_secret="Wr0ngSecretWr0ngSecretWr0ngSecret")
    with pytest.raises(AuthorizationError):
        wrong.complete(emu.authorize(wrong.authorization_url()))
    answer = requests.post(
        emu.endpoints.revoke_url,
        timeout=TIMEOUT,
        data={
            "client_id": emu.app.client_id,
            "client_secret": emu.app.client_secret,
            "token": stored_token(home)["refresh_token"],
        },
    )
    assert answer.status_code == 200
    with pytest.raises(ReauthorizationRequired):
        BoxConnection(NAME, home=home).test_connection()
    connect(emu, home).revoke()

    assert counters(emu)["refreshes"] == 2
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # DEBUG was on
    texts = [caplog.text] + [str(r.args) for r in caplog.records]
    assert_clean(emu, *texts, extra=("Wr0ngSecretWr0ngSecretWr0ngSecret",))


# --- 12. transport ------------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Fail any attempt to resolve or send: the tests below must decide before any I/O."""
    attempts: list[str] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(repr(args)[:80])
        raise AssertionError("network I/O attempted")

    monkeypatch.setattr(requests.Session, "send", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


def test_https_endpoints_build_without_network(home: Path, no_network: list[str]) -> None:
    conn = BoxConnection(
        NAME,
        client_id="abc123",
        client_secret="s3cret",
        redirect_uri="https://hub.example.org/user/ada/box-widget/oauth2/callback",
        home=home,
    )
    assert conn.endpoints == BoxEndpoints()
    url = conn.authorization_url()
    assert url.startswith("https://account.box.com/api/oauth2/authorize?")
    assert "s3cret" not in url
    assert no_network == []


def test_plain_http_is_refused_except_to_this_machine(home: Path, no_network: list[str]) -> None:
    insecure = BoxEndpoints(
        authorize_url="http://example.com/api/oauth2/authorize",
        token_url="http://example.com/oauth2/token",
        revoke_url="http://example.com/oauth2/revoke",
        api_url="http://example.com/2.0",
        upload_url="http://example.com/api/2.0",
    )
    conn = BoxConnection(
        NAME,
        client_id="abc123",
        client_secret="s3cret",
        redirect_uri=REDIRECT_URI,
        endpoints=insecure,
        home=home,
    )
    with pytest.raises(ConfigurationError, match="https"):
        conn.authorization_url()
    with pytest.raises(ConfigurationError, match="https"):
        BoxConnection.from_client_credentials(
            "robot",
            client_id="abc123",
            client_secret="s3cret",
            subject_type="enterprise",
            subject_id="1",
            endpoints=insecure,
            home=home,
        )

    # a secure authorize page, but a plain-http token endpoint: refused at the exchange
    mixed = BoxEndpoints(token_url="http://example.com/oauth2/token")
    started = BoxConnection(
        NAME,
        client_id="abc123",
        client_secret="s3cret",
        redirect_uri=REDIRECT_URI,
        endpoints=mixed,
        home=home,
    )
    state = parse_qs(urlsplit(started.authorization_url()).query)["state"][0]
    with pytest.raises(ConfigurationError, match="https"):
        started.complete(f"{REDIRECT_URI}?code=abc&state={state}")
    assert connections(home) == []
    assert no_network == []
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


def test_the_whole_flow_never_flips_oauthlib_insecure_transport(
    emulator: BoxEmulator, home: Path
) -> None:
    emu = emulator
    conn = connect(emu, home)
    emu.clock.advance(3601)
    conn.test_connection()  # with a refresh
    conn.revoke()
    assert counters(emu)["refreshes"] == 1
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


# --- 13. API errors, URLs and timeouts ----------------------------------------------------------


def test_api_errors_carry_status_code_message_and_request_id(
    emulator: BoxEmulator, home: Path
) -> None:
    emu = emulator
    session = connect(emu, home).session
    with raises_clean(emu, BoxAPIError) as info:
        session.get("folders/999999/items")
    err = info.value
    assert isinstance(err, requests.HTTPError)
    assert isinstance(err, BoxWidgetError)
    assert err.status == 404
    assert err.code == "not_found"
    assert err.message and "Not Found" in err.message
    assert err.response is not None and err.response.status_code == 404
    assert err.request_id and err.request_id == err.response.headers["box-request-id"]
    assert err.request_id in str(err)

    session.raise_on_error = False
    answer = session.get("folders/999999/items")
    assert answer.status_code == 404
    assert answer.json()["code"] == "not_found"


def test_relative_and_absolute_urls(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    session = connect(emu, home).session
    assert session.url("users/me") == f"{emu.endpoints.api_url}/users/me"
    for url in ("users/me", "/users/me", f"{emu.endpoints.api_url}/users/me"):
        assert session.get(url).json()["id"] == emu.user.id, url
    items = session.get("folders/0/items", params={"limit": 2}).json()
    assert items["limit"] == 2


def test_timeouts_default_and_per_request(
    emulator: BoxEmulator, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = emulator
    sent: list[tuple[str, Any]] = []
    send = requests.Session.send  # the spec-checking one the emulator fixture installed

    def recording(
        self: requests.Session, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
        sent.append((urlsplit(str(request.url)).path, kwargs.get("timeout")))
        return send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", recording)
    conn = connect(emu, home)
    session = conn.session
    assert session.timeout == (10, 60)
    conn.test_connection()
    assert sent[-1] == ("/2.0/users/me", (10, 60))
    session.get("users/me", timeout=5)
    assert sent[-1] == ("/2.0/users/me", 5)
    assert all(timeout is not None for _, timeout in sent), sent  # token calls too
    assert ("/oauth2/token", (10, 60)) in sent

    emu.inject_fault(delay=1.0, path="/2.0/users/me", times=None)
    with raises_clean(emu, (requests.Timeout, BoxWidgetError)) as info:
        session.get("users/me", timeout=0.2)
    assert "timed out" in str(info.value).lower() or "timeout" in str(info.value).lower()
    emu.clear_faults()


# --- 14. revoke ----------------------------------------------------------------------------------


def test_revoke_at_box_and_in_the_vault(emulator: BoxEmulator, home: Path) -> None:
    emu = emulator
    conn = connect(emu, home)
    conn.test_connection()
    token = stored_token(home)
    conn.revoke()
    assert counters(emu)["revocations"] >= 1
    refused = requests.get(
        f"{emu.endpoints.api_url}/users/me", timeout=TIMEOUT, headers=bearer(token["access_token"])
    )
    assert refused.status_code == 401
    assert use_refresh_token(emu, token["refresh_token"]).json()["error"] == "invalid_grant"
    assert Vault(home).load(NAME) is None
    assert connections(home) == []
    assert not conn.connected
    with raises_clean(emu, ReauthorizationRequired):
        conn.test_connection()
    conn.revoke()  # nothing left to revoke: no error


def test_revoke_when_box_is_unreachable_still_forgets_the_tokens(
    emulator: BoxEmulator, home: Path
) -> None:
    emu = emulator
    conn = connect(emu, home)
    token = stored_token(home)
    emu.inject_fault(drop=True, path="/oauth2/revoke", times=None)
    with raises_clean(emu, BoxWidgetError) as info:
        conn.revoke()
    assert "deleted" in str(info.value)
    assert Vault(home).load(NAME) is None
    assert connections(home) == []
    assert not conn.connected
    assert counters(emu)["revocations"] == 0
    emu.clear_faults()
    # honest: Box never heard, so the token still works there
    assert (
        requests.get(
            f"{emu.endpoints.api_url}/users/me",
            timeout=TIMEOUT,
            headers=bearer(token["access_token"]),
        ).status_code
        == 200
    )
