"""A Redirect URL Box refuses: Box shows its own error page and never comes back.

The form notices the end of a sign-in that gives no outcome (the window Generate opened closed,
or nothing came back within ``WATCH_SECONDS``) and says in plain words that Box may have refused
the Redirect URL, which URL was sent and where to register it; the headless path says the same
for Box's ``redirect_uri_mismatch`` and for an address without a code (Box's error page pasted).
The browser's side of it is ``tests/browser/test_form.py::test_a_refused_redirect_url_is_named``.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from support.emulator_flow import CALLBACK, new_connection

from box_widget import BoxConnection, form_watch
from box_widget.emulator import BoxEmulator
from box_widget.errors import AuthorizationError
from box_widget.widget import ConnectionForm

REGISTER = "OAuth 2.0 Redirect URIs"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    for name in ("BOX_WIDGET_KEY", "BOX_CLIENT_ID", "BOX_CLIENT_SECRET", "BOX_REDIRECT_URI"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "vault"


def waiting_form(emu: BoxEmulator, home: Path) -> ConnectionForm:
    """A form whose Generate was clicked: waiting for Box."""
    conn = BoxConnection("work", endpoints=emu.endpoints, home=home)
    form: ConnectionForm = conn.form
    form.client_id = emu.app.client_id
    form.mode = "server"
    form.redirect_uri = CALLBACK
    form._on_message(form, {"type": "secret", "value": emu.app.client_secret}, [])
    assert form.authorize_url
    form._on_message(form, {"type": "generate", "opened": True}, [])
    assert form.state == "waiting"
    return form


def test_the_window_closed_without_an_outcome_names_the_redirect_url(
    emulator: BoxEmulator, home: Path
) -> None:
    form = waiting_form(emulator, home)
    form._on_message(form, {"type": "closed"}, [])
    assert form.state == "error"
    assert "Box's window closed before the sign-in finished" in form.message
    assert "refused" in form.message and "redirect_uri_mismatch" in form.message
    assert CALLBACK in form.message  # the URL that was sent
    assert REGISTER in form.message  # where to register it
    assert "abandoned" in form.message and "Generate again" in form.message
    assert form.authorize_url  # a fresh sign-in is ready


def test_a_window_closed_after_the_tokens_came_shows_the_connection(
    emulator: BoxEmulator, home: Path
) -> None:
    form = waiting_form(emulator, home)
    # the callback saved the tokens, but its message to the form was lost
    BoxConnection("work", home=home).complete(emulator.authorize(form.authorize_url))
    form._on_message(form, {"type": "closed"}, [])
    assert form.state == "connected"


def test_a_closed_window_after_the_outcome_changes_nothing(
    emulator: BoxEmulator, home: Path
) -> None:
    form = waiting_form(emulator, home)
    form._on_message(form, {"type": "outcome", "ok": False, "message": "You declined."}, [])
    form._on_message(form, {"type": "closed"}, [])
    assert (form.state, form.message) == ("error", "You declined.")


def test_no_answer_within_the_bound_says_the_same(
    emulator: BoxEmulator, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(form_watch, "WATCH_SECONDS", 1.0)
    form = waiting_form(emulator, home)
    deadline = time.monotonic() + 10
    while form.state == "waiting" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert form.state == "error"
    assert "Box did not come back within" in form.message
    assert CALLBACK in form.message and REGISTER in form.message


def test_headless_redirect_uri_mismatch_names_the_url(emulator: BoxEmulator, home: Path) -> None:
    conn = new_connection(emulator, home)
    state = parse_qs(urlsplit(conn.authorization_url()).query)["state"][0]
    error = {"error": "redirect_uri_mismatch", "error_description": "The redirect URI is wrong"}
    with pytest.raises(AuthorizationError) as info:
        conn.complete(f"{CALLBACK}?{urlencode({**error, 'state': state})}")
    assert "Box refused the Redirect URL" in str(info.value)
    assert CALLBACK in str(info.value) and REGISTER in str(info.value)


def test_headless_box_error_page_pasted_names_the_url(emulator: BoxEmulator, home: Path) -> None:
    conn = new_connection(emulator, home)
    # Box's error page for a refused redirect URI is the authorize address itself: no code.
    with pytest.raises(AuthorizationError) as info:
        conn.complete(conn.authorization_url())
    assert "no authorization code" in str(info.value)
    assert CALLBACK in str(info.value) and REGISTER in str(info.value)
