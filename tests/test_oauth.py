"""Box's token endpoint (``oauth.py``): retried while it answers 503, nothing changed while it
stays down; the client-credentials grant.

Each test has its own vault folder and never touches a real OS keyring; every emulator answer
is also checked against Box's OpenAPI description (the ``emulator`` fixture).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from support.connection_checks import (
    age_token,
    connect,
    counters,
    make,
    mini,
    raises_clean,
    record,
    stored_token,
)

from box_widget import (
    BoxConnection,
    BoxWidgetError,
    ConfigurationError,
    ReauthorizationRequired,
    connections,
)
from box_widget.emulator import BoxEmulator

#: No real keyring, no credentials or endpoints from the environment; and afterwards, no
#: process-wide switch to plain HTTP left behind by the code under test (conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_env", "insecure_transport_restored")


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
