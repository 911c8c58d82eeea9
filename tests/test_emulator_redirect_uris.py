"""How many redirect URIs an emulator app may register, and adding one to an app (issue 17,
item 13). Box's limit is not in its docs; docs/emulator.md says where the figure comes from."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests

from box_widget.emulator import BoxEmulator
from box_widget.emulator.consent import ConsentPageError

T = 10
JSON = {"Content-Type": "application/json"}


def uris(n: int, start: int = 0) -> list[str]:
    return [f"https://app.example.com/cb/{i}" for i in range(start, start + n)]


def authorize_url(emu: BoxEmulator, client_id: str, redirect_uri: str) -> str:
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": "s",
    }
    return f"{emu.endpoints.authorize_url}?{urlencode(query)}"


def assert_too_many(answer: requests.Response) -> None:
    assert answer.status_code == 400
    error = answer.json()
    assert (error["type"], error["status"], error["code"]) == ("error", 400, "bad_request")
    assert "at most 10 redirect URIs" in error["message"]
    (detail,) = error["context_info"]["errors"]
    assert (detail["reason"], detail["name"]) == ("invalid_parameter", "redirect_uris")
    assert answer.headers["box-request-id"] == error["request_id"]


def test_an_app_registers_at_most_ten_redirect_uris(emulator: BoxEmulator) -> None:
    emulator.add_app("Ten", uris(10))
    with pytest.raises(ValueError, match=r"at most 10 redirect URIs; .* 11$"):
        emulator.add_app("Eleven", uris(11))
    with pytest.raises(ValueError, match=r"at most 10 redirect URIs; .* 500$"):
        emulator.add_app("Many", uris(500))
    assert {app.name for app in emulator.state.oauth.apps.values()} == {"Box Widget Demo", "Ten"}


def test_the_control_api_refuses_too_many_redirect_uris_in_boxs_error(
    emulator: BoxEmulator,
) -> None:
    before = set(emulator.state.oauth.apps)
    answer = requests.post(
        f"{emulator.url}/_emulator/apps",
        json={"name": "Many", "redirect_uris": uris(500)},
        timeout=T,
    )
    assert_too_many(answer)
    assert set(emulator.state.oauth.apps) == before


def test_a_redirect_uri_is_added_to_an_app_that_keeps_everything_else(
    emulator: BoxEmulator,
) -> None:
    app = emulator.add_app("Grows", uris(1), ccg_enabled=True)
    secret, robot = app.client_secret, app.service_account_id
    new = "https://other.example.org/hub/services/box-widget/oauth2/callback"
    with pytest.raises(ConsentPageError, match="redirect_uri_mismatch"):
        emulator.authorize(authorize_url(emulator, app.client_id, new))
    added = requests.post(
        f"{emulator.url}/_emulator/apps/{app.client_id}/redirect_uris",
        json={"redirect_uri": new},
        timeout=T,
    )
    assert added.status_code == 201
    assert added.json()["redirect_uris"] == [*uris(1), new]
    assert "client_secret" not in added.json()
    assert emulator.state.oauth.apps[app.client_id] is app
    assert (app.client_secret, app.service_account_id) == (secret, robot)
    location = emulator.authorize(authorize_url(emulator, app.client_id, new))
    assert location.startswith(new + "?code=")
    # the Python API does the same
    emulator.add_redirect_uri("http://127.0.0.1:1/cb", client_id=app.client_id)
    assert app.redirect_uris[-1] == "http://127.0.0.1:1/cb"
    emulator.add_redirect_uri("http://localhost:1/cb")  # the demo app by default
    assert emulator.app.redirect_uris[-1] == "http://localhost:1/cb"


def test_adding_a_redirect_uri_follows_boxs_rules(emulator: BoxEmulator) -> None:
    app = emulator.add_app("Full", uris(10))
    control = f"{emulator.url}/_emulator/apps"

    def add(uri: object, client_id: str = app.client_id) -> requests.Response:
        return requests.post(
            f"{control}/{client_id}/redirect_uris", json={"redirect_uri": uri}, timeout=T
        )

    assert_too_many(add("https://app.example.com/eleventh"))
    small = emulator.add_app("Small", uris(1))
    for bad in (uris(1)[0], "http://example.com/plain-http", "", None):
        answer = add(bad, small.client_id)
        assert answer.status_code == 400, bad
        assert answer.json()["code"] == "bad_request"
    missing = add("https://app.example.com/x", "no-such-client")
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert (app.redirect_uris, small.redirect_uris) == (uris(10), uris(1))
    with pytest.raises(ValueError, match="at most 10"):
        emulator.add_redirect_uri("https://app.example.com/eleventh", client_id=app.client_id)


def test_posting_an_app_again_replaces_it_whole(emulator: BoxEmulator) -> None:
    """What docs/emulator.md says: the second POST with the same client_id is a new app."""
    first = requests.post(
        f"{emulator.url}/_emulator/apps",
        json={"name": "A", "redirect_uris": uris(2), "client_id": "fixed", "client_secret": "s1"},
        timeout=T,
    ).json()
    second = requests.post(
        f"{emulator.url}/_emulator/apps",
        json={"name": "B", "redirect_uris": uris(1, 5), "client_id": "fixed"},
        timeout=T,
    ).json()
    assert first["client_id"] == second["client_id"] == "fixed"
    app = emulator.state.oauth.apps["fixed"]
    assert (app.name, app.redirect_uris) == ("B", uris(1, 5))
    assert app.client_secret != "s1"  # a new secret unless one is given
