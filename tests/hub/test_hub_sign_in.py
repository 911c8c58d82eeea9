"""Signing in through the hub service: the kernel's API, Box's one redirect URI, the browser's
hub login; and what the callback refuses (another hub user's sign-in, a replay)."""

from __future__ import annotations

from support.hub import Hub
from support.hub_flow import (
    api,
    code_of,
    connect,
    grant,
    open_callback,
    start,
    state_of,
    vault_of,
)
from support.secret_scan import find

from box_widget.emulator import BoxEmulator
from box_widget.token_api import fingerprint


def test_a_user_token_signs_in_and_gets_access_tokens_only(hub: Hub, emu: BoxEmulator) -> None:
    token = hub.token("alice")
    authorize_url = start(hub, token, "work")
    assert f"redirect_uri={hub.callback_url.replace(':', '%3A').replace('/', '%2F')}" in (
        authorize_url
    )
    location = grant(emu, authorize_url)
    browser = hub.login("alice")  # logged in to the hub, never to the service yet
    page = open_callback(browser, location)
    assert page.status_code == 200, page.text
    assert "Connected to Box as Ada Lovelace" in page.text
    # The hub's OAuth login ran in between and carried Box's code through, without ever
    # sending Box's code or state to the hub (the service kept them).
    hops = [r.headers.get("Location", "") for r in page.history]
    assert any("/hub/api/oauth2/authorize" in hop for hop in hops)
    to_hub = [hop for hop in hops if "/hub/" in hop]
    assert not find({code_of(location), state_of(location)}, " ".join(to_hub))

    status = api(hub, token, "GET", "api/status").json()
    assert status["mode"] == "hub" and status["hub_user"] == "alice"
    assert status["callback_path"] == "/services/box-widget/oauth2/callback"
    assert status["client_secret_configured"] is True
    assert status["vault"] == {"key_source": "hub"}
    assert [c["name"] for c in status["connections"]] == ["work"]
    assert emu.app.client_secret not in str(status)

    answer = api(hub, token, "POST", "api/connections/work/token", json={})
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    body = answer.json()
    assert set(body) == {"access_token", "expires_at", "expires_in"}
    me = emu.state.oauth.validate_access(body["access_token"])
    assert me is not None and me.user_id == emu.user.id

    # A token Box refused (its fingerprint): a new one, refreshed once.
    before = emu.counters()["refreshes"]
    failed = {"failed": fingerprint(body["access_token"])}
    again = api(hub, token, "POST", "api/connections/work/token", json=failed).json()
    assert again["access_token"] != body["access_token"]
    assert emu.counters()["refreshes"] == before + 1

    record = vault_of(hub, "alice").load("work")
    assert record is not None and record["client_secret"] is None and record["app"] == "server"
    events = api(hub, token, "GET", "api/connections/work/audit").json()["events"]
    assert [e["event"] for e in events] == ["connect", "refresh"]
    assert {e["hub_user"] for e in events} == {"alice"}

    # Neither Box's code nor the sign-in's state is in the service's (or the hub's) log.
    assert not find({code_of(location), state_of(location)}, hub.log_path.read_bytes())


def test_a_browser_with_the_service_cookie_completes_at_once(hub: Hub, emu: BoxEmulator) -> None:
    token = connect(hub, emu, "amir", "first")
    browser = hub.login("amir")
    open_callback(browser, grant(emu, start(hub, token, "warmup")))  # the cookie is set now
    page = open_callback(browser, grant(emu, start(hub, token, "second")))
    assert page.status_code == 200 and not page.history  # no hub login in between
    names = [c["name"] for c in api(hub, token, "GET", "api/status").json()["connections"]]
    assert names == ["first", "second", "warmup"]


def test_another_users_connection_is_not_found(hub: Hub, emu: BoxEmulator) -> None:
    connect(hub, emu, "ines", "private")
    bob = hub.token("bob")
    for method, path in (
        ("GET", "api/connections/private"),
        ("POST", "api/connections/private/token"),
        ("GET", "api/connections/nothing-here"),
    ):
        answer = api(hub, bob, method, path, json={} if method == "POST" else None)
        assert answer.status_code == 404, (method, path, answer.text)
        assert answer.json()["error"] == "not_found"
        assert "ines" not in answer.text
    assert api(hub, bob, "DELETE", "api/connections/private").json() == {"revoked": False}
    assert vault_of(hub, "ines").load("private") is not None  # untouched
    assert vault_of(hub, "bob").names() == []


def test_a_callback_with_another_users_state_is_refused(hub: Hub, emu: BoxEmulator) -> None:
    dora = hub.token("dora")
    location = grant(emu, start(hub, dora, "mine"))
    page = open_callback(hub.login("eve"), location)  # eve's browser, dora's sign-in
    assert page.status_code == 403
    assert "started by another hub user" in page.text
    assert vault_of(hub, "eve").names() == []
    assert vault_of(hub, "dora").has_pending(state_of(location))  # left as it was
    # ...so dora can still finish it, with the same code.
    finished = open_callback(hub.login("dora"), location)
    assert finished.status_code == 200, finished.text
    assert vault_of(hub, "dora").names() == ["mine"]


def test_a_replayed_callback_is_refused(hub: Hub, emu: BoxEmulator) -> None:
    token = hub.token("fred")
    location = grant(emu, start(hub, token, "once"))
    browser = hub.login("fred")
    assert open_callback(browser, location).status_code == 200
    connected_at = vault_of(hub, "fred").summary("once").connected_at
    again = open_callback(browser, location)
    assert again.status_code == 400
    assert "no longer valid" in again.text
    assert vault_of(hub, "fred").summary("once").connected_at == connected_at


def test_the_headless_path_completes_with_the_pasted_address(hub: Hub, emu: BoxEmulator) -> None:
    token = hub.token("gil")
    location = grant(emu, start(hub, token, "pasted"))
    other = hub.token("hana")
    refused = api(
        hub, other, "POST", "api/connections/pasted/complete", json={"redirected_url": location}
    )
    assert refused.status_code == 409 and refused.json()["error"] == "authorization"
    answer = api(
        hub, token, "POST", "api/connections/pasted/complete", json={"redirected_url": location}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["user"]["login"] == emu.user.login


def test_no_token_or_a_token_without_the_scope_is_refused(hub: Hub) -> None:
    bare = hub.service("")
    bare.headers.pop("Authorization")
    assert bare.get(hub.service_url + "api/status", timeout=30).status_code == 403
    assert api(hub, "not-a-token", "GET", "api/status").status_code == 403
    narrow = hub.token("ivan", scopes=["read:users:name!user=ivan"])
    answer = api(hub, narrow, "GET", "api/status")
    assert answer.status_code == 403
    assert answer.json()["error"] == "forbidden"


def test_a_declined_consent_says_so_and_uses_the_sign_in_up(hub: Hub, emu: BoxEmulator) -> None:
    token = hub.token("olga")
    location = emu.authorize(start(hub, token, "declined"), grant=False)
    assert "error=access_denied" in location
    browser = hub.login("olga")
    page = open_callback(browser, location)
    assert page.status_code == 400
    assert "You declined access to Box." in page.text
    assert vault_of(hub, "olga").names() == []
    assert not vault_of(hub, "olga").has_pending(state_of(location))
    events = api(hub, token, "GET", "api/connections/declined/audit").json()["events"]
    assert [(e["event"], e["error"], e["hub_user"]) for e in events] == [
        ("connect-failed", "access_denied", "olga")
    ]


def test_the_service_logs_no_query_string(hub: Hub, emu: BoxEmulator) -> None:
    connect(hub, emu, "pia", "quiet")
    lines = [line for line in hub.log().splitlines() if "box_widget.hub.access" in line]
    assert any("oauth2/callback" in line for line in lines)
    assert any("oauth_callback" in line for line in lines)
    assert not [line for line in lines if "?" in line]
