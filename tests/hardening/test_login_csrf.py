"""Login CSRF and replay at the callback, with the emulator's real grants.

- a code Box issued for one sign-in, sent with another pending sign-in's state (another Box app):
  Box refuses it, nothing is stored, and the sign-in it belongs to still completes;
- a callback replayed after success (again and again, at once, and with a fresh code) changes
  nothing: the saved record is byte for byte the same and the code is not exchanged again;
- a state created under another vault folder (``home``) fails, and is not used up there.

Box does not bind a code to the ``state`` it was sent with (it has no PKCE, and the token
endpoint never sees the state), so within one Box app the state's secrecy is the protection:
256 random bits, single use, 10 minutes, never logged or shown (see ``test_secret_scan``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from test_server import NAME, Box, assert_failed, query

from box_widget import BoxConnection
from box_widget.audit import read as audit_events


def connection_bytes(box: Box, name: str = NAME) -> bytes:
    return (box.home / "connections" / f"{name}.box").read_bytes()


async def test_a_code_from_another_apps_sign_in_cannot_complete_this_one(box: Box) -> None:
    other_app = box.emu.add_app("Another app", [box.redirect_uri])
    victim = box.start("victim")  # a sign-in with box.app, pending in this vault
    attacker_location = box.consent(
        box.start("attacker", client_id=other_app.client_id, client_secret=other_app.client_secret)
    )
    stolen_code = query(attacker_location)["code"]
    victim_state = query(victim)["state"]
    forged = attacker_location.split("?")[0] + f"?code={stolen_code}&state={victim_state}"

    page = await box.callback(forged)
    assert_failed(page, 400, "invalid_grant", "Box did not connect.")
    assert page.result["name"] == "victim"
    assert box.vault.names() == []
    assert box.emu.counters()["grants"]["authorization_code"] == 0
    assert [e["event"] for e in audit_events(box.home, "victim")] == ["connect-failed"]

    # the sign-in the code belongs to is untouched: it completes with its own state
    page = await box.callback(attacker_location)
    assert page.status == 200, page.body
    assert box.vault.names() == ["attacker"]
    # and the victim's state was used up by the forged callback: it cannot be tried again
    again = await box.callback(box.consent(victim))
    assert_failed(again, 400, "invalid_state", "no longer valid")
    assert box.vault.names() == ["attacker"]


async def test_a_callback_replayed_after_success_changes_nothing(box: Box) -> None:
    location = box.consent(box.start())
    assert (await box.callback(location)).status == 200
    saved = connection_bytes(box)
    fresh_code = query(box.consent(box.start("other")))["code"]  # a live code, other sign-in
    variants = [location] * 10 + [location.replace(query(location)["code"], fresh_code)]

    pages = await asyncio.gather(*(box.callback(v) for v in variants))

    for page in pages:
        assert_failed(page, 400, "invalid_state", "no longer valid")
        assert page.result["name"] is None
    assert connection_bytes(box) == saved
    assert box.emu.counters()["grants"]["authorization_code"] == 1
    assert [e["event"] for e in audit_events(box.home, NAME)] == ["connect"]
    assert box.connection().test_connection()["login"] == "ada@example.com"


async def test_a_state_created_under_another_home_fails_and_is_kept_there(
    box: Box, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "another-vault"
    kernel = box.connection(home=elsewhere)
    location = box.consent(kernel.authorization_url())

    page = await box.callback(location)

    assert_failed(page, 400, "invalid_state", "started from another vault folder")
    assert box.vault.names() == []
    assert box.emu.counters()["grants"]["authorization_code"] == 0
    assert len(list((elsewhere / "pending").glob("*.box"))) == 1
    # the vault that started it finishes it (the headless path)
    assert kernel.complete(location)["login"] == "ada@example.com"
    assert BoxConnection(NAME, home=elsewhere).connected
    assert box.vault.names() == []
