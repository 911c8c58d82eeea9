"""``BoxSession`` (``session.py``): a 401 refreshes once; 429 and 5xx retried, posts only when
safe; API errors, relative and absolute URLs, timeouts.

Each test has its own vault folder and never touches a real OS keyring; every emulator answer
is also checked against Box's OpenAPI description (the ``emulator`` fixture).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from support.connection_checks import api_calls, connect, counters, mini, raises_clean, stored_token

from box_widget import BoxAPIError, BoxWidgetError
from box_widget.emulator import BoxEmulator

#: No real keyring, no credentials or endpoints from the environment; and afterwards, no
#: process-wide switch to plain HTTP left behind by the code under test (conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_env", "insecure_transport_restored")


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
