"""The emulator's refresh-token reuse grace (docs/emulator.md, "Token"), over HTTP.

Box documents refresh tokens as single use, yet a Box SDK developer saw a reused refresh token
answered with the same access token as before and a shorter ``expires_in``, and a 2015 report
saw two apps both succeed with one refresh token (docs/box-platform.md, section 5). The emulator
is strict by default; ``refresh_reuse_grace`` (seconds, set through
``POST /_emulator/settings``) turns on that grace: a refresh token reused within that long of its
first use gets the same pair again, later it gets ``invalid_grant``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests

from box_widget.emulator import BoxEmulator

TIMEOUT = 10


@pytest.fixture
def emu() -> Iterator[BoxEmulator]:
    with BoxEmulator() as emulator:
        yield emulator


def control(emu: BoxEmulator, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(f"{emu.url}/_emulator/{path}", json=body, timeout=TIMEOUT)


def state(emu: BoxEmulator) -> dict[str, Any]:
    answer = requests.get(f"{emu.url}/_emulator/state", timeout=TIMEOUT)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


def token_post(emu: BoxEmulator, **fields: str) -> requests.Response:
    data = {"client_id": emu.app.client_id, "client_secret": emu.app.client_secret, **fields}
    return requests.post(emu.endpoints.token_url, data=data, timeout=TIMEOUT)


def sign_in(emu: BoxEmulator) -> dict[str, Any]:
    """Ada's consent on the emulator's page, then the code exchanged over HTTP."""
    query = {
        "response_type": "code",
        "client_id": emu.app.client_id,
        "redirect_uri": emu.app.redirect_uris[0],
    }
    location = emu.authorize(f"{emu.endpoints.authorize_url}?{urlencode(query)}")
    code = parse_qs(urlsplit(location).query)["code"][0]
    answer = token_post(emu, grant_type="authorization_code", code=code)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def refresh(emu: BoxEmulator, refresh_token: str) -> requests.Response:
    return token_post(emu, grant_type="refresh_token", refresh_token=refresh_token)


def test_strict_by_default_a_reused_refresh_token_is_refused(emu: BoxEmulator) -> None:
    assert state(emu)["settings"]["refresh_reuse_grace"] == 0
    first = sign_in(emu)
    assert refresh(emu, first["refresh_token"]).status_code == 200
    again = refresh(emu, first["refresh_token"])
    assert again.status_code == 400
    assert again.json() == {"error": "invalid_grant", "error_description": "Invalid refresh token"}
    counters = state(emu)["counters"]
    assert (counters["refreshes"], counters["failed_refreshes"]) == (1, 1)
    assert counters["reused_refreshes"] == 0


def test_with_the_grace_a_reuse_gets_the_same_pair_until_the_grace_ends(
    emu: BoxEmulator,
) -> None:
    switched = control(emu, "settings", {"refresh_reuse_grace": 30})
    assert switched.status_code == 200, switched.text
    assert switched.json()["refresh_reuse_grace"] == 30
    first = sign_in(emu)
    rotated = refresh(emu, first["refresh_token"])
    assert rotated.status_code == 200
    pair = rotated.json()
    assert pair["refresh_token"] != first["refresh_token"]

    assert control(emu, "clock", {"advance": 10}).status_code == 200
    reused = refresh(emu, first["refresh_token"])  # 10 s after its first use: inside the grace
    assert reused.status_code == 200, reused.text
    same = reused.json()
    assert (same["access_token"], same["refresh_token"]) == (
        pair["access_token"],
        pair["refresh_token"],
    )
    assert same["expires_in"] <= pair["expires_in"] - 10  # the same token, 10 s older
    api = requests.get(
        emu.endpoints.api_url + "/users/me",
        headers={"Authorization": f"Bearer {same['access_token']}"},
        timeout=TIMEOUT,
    )
    assert api.status_code == 200

    assert control(emu, "clock", {"advance": 21}).status_code == 200
    late = refresh(emu, first["refresh_token"])  # 31 s after its first use: the grace is over
    assert late.status_code == 400
    assert late.json()["error"] == "invalid_grant"
    counters = state(emu)["counters"]
    assert (counters["refreshes"], counters["reused_refreshes"]) == (1, 1)
    assert counters["failed_refreshes"] == 1

    # The successor still rotates as usual, and switching back to 0 makes reuse strict again.
    assert refresh(emu, pair["refresh_token"]).status_code == 200
    assert control(emu, "settings", {"refresh_reuse_grace": 0}).status_code == 200
    assert refresh(emu, pair["refresh_token"]).status_code == 400


@pytest.mark.parametrize("value", [-1, 1.5, True, "30"])
def test_the_grace_setting_takes_whole_seconds_only(emu: BoxEmulator, value: object) -> None:
    answer = control(emu, "settings", {"refresh_reuse_grace": value})
    assert answer.status_code == 400
    assert "refresh_reuse_grace" in answer.json()["message"]
    assert state(emu)["settings"]["refresh_reuse_grace"] == 0
