"""Finishing an authorization (``authorize.py``, through ``BoxConnection.complete``): across
processes, and every way it can fail (expired code, replayed or foreign state, expired and
capped pending sign-ins, denied consent, a bad address, a wrong client secret).

Each test has its own vault folder and never touches a real OS keyring; every emulator answer
is also checked against Box's OpenAPI description (the ``emulator`` fixture).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from support.connection_checks import (
    NAME,
    REDIRECT_URI,
    counters,
    make,
    mini,
    raises_clean,
    record,
    run_child,
)

from box_widget import AuthorizationError, BoxConnection, connections
from box_widget.emulator import BoxEmulator

#: No real keyring, no credentials or endpoints from the environment; and afterwards, no
#: process-wide switch to plain HTTP left behind by the code under test (conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_env", "insecure_transport_restored")


CHILD_AUTHORIZE = """
import sys
from box_widget import BoxConnection
print(BoxConnection(sys.argv[1], home=sys.argv[2]).authorization_url())
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
