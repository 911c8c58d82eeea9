"""``BoxConnection`` end to end against the emulator over real HTTP: the headless flow, a
connection made in one process used by another, no secret in a repr or a log line, revocation.

Each test has its own vault folder and never touches a real OS keyring; every emulator answer
is also checked against Box's OpenAPI description (the ``emulator`` fixture).
"""

from __future__ import annotations

import json
import logging
import stat
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from support.connection_checks import (
    NAME,
    REDIRECT_URI,
    STATE,
    TIMEOUT,
    age_token,
    assert_clean,
    bearer,
    connect,
    counters,
    make,
    mini,
    raises_clean,
    run_child,
    stored_token,
    use_refresh_token,
)

from box_widget import (
    AuthorizationError,
    BoxAPIError,
    BoxConnection,
    BoxWidgetError,
    ConfigurationError,
    ReauthorizationRequired,
    connections,
)
from box_widget.emulator import BoxEmulator
from box_widget.vault import Vault

#: No real keyring, no credentials or endpoints from the environment; and afterwards, no
#: process-wide switch to plain HTTP left behind by the code under test (conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_env", "insecure_transport_restored")


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


CHILD_USERS_ME = """
import json, sys
from box_widget import BoxConnection
print(json.dumps(BoxConnection(sys.argv[1], home=sys.argv[2]).session.get("users/me").json()))
"""


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
