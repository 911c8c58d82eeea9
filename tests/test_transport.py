"""Transport rules (``transport.py``): HTTPS to Box, plain HTTP only to this machine, and
oauthlib's process-wide switch to plain HTTP never flipped.

Each test has its own vault folder and never touches a real OS keyring; every emulator answer
is also checked against Box's OpenAPI description (the ``emulator`` fixture).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from support.connection_checks import NAME, REDIRECT_URI, connect, counters

from box_widget import BoxConnection, BoxEndpoints, ConfigurationError, connections
from box_widget.emulator import BoxEmulator

#: No real keyring, no credentials or endpoints from the environment; and afterwards, no
#: process-wide switch to plain HTTP left behind by the code under test (conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_env", "insecure_transport_restored")


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
