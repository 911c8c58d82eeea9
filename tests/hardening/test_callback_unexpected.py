"""An exception nobody planned for, in the callback: still the extension's own page.

A real fault: after the code exchange (tokens saved), Box's ``users/me`` answers 200 with an
HTML page instead of JSON (a proxy's page; the emulator's ``body`` fault). The callback must
answer its own page (500, ``no-store``, ``no-referrer``, the outcome broadcast to the form, no
traceback), keep the tokens it saved, and log where it failed without a secret.

The emulator here is a plain one: the conftest's checks its answers against Box's OpenAPI
description, and this answer is deliberately not Box's.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_server import NAME, Box, LogTap, assert_failed, query

from box_widget.emulator import BoxEmulator


@pytest.fixture
def emulator() -> Iterator[BoxEmulator]:
    """An emulator whose answers are not checked against Box's spec (see the docstring)."""
    with BoxEmulator() as emu:
        yield emu


async def test_a_non_json_users_me_gets_our_page_and_keeps_the_tokens(
    log_tap: LogTap, box: Box
) -> None:
    box.tap = log_tap
    box.emu.inject_fault(
        status=200, body="<html><p>Proxy says hello</p></html>", path="/2.0/users/me"
    )

    page = await box.flow()

    assert_failed(page, 500, "internal", "could not finish the sign-in", "JSONDecodeError")
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.result["type"] == "box-widget:oauth"
    assert page.result["name"] == NAME  # the form for this connection hears it
    assert "Traceback" not in page.body
    saved = box.vault.load(NAME)
    assert saved is not None and saved["token"]["refresh_token"]  # the tokens stay saved
    assert saved["user"] is None
    assert "the callback failed unexpectedly: JSONDecodeError" in log_tap.text
    oauth = box.emu.state.oauth
    with oauth.lock:
        issued = set(oauth.codes) | set(oauth.access_tokens) | set(oauth.refresh_tokens)
    sent = query(box.locations[-1])
    secrets = issued | {box.app.client_secret, sent["code"], sent["state"]}
    secrets |= {saved["token"]["access_token"], saved["token"]["refresh_token"]}
    leaks = sorted(s[:6] + "..." for s in secrets if s in log_tap.text or s in page.body)
    assert leaks == []
