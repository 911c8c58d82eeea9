"""The form's kernel side, without a kernel: the messages the browser sends, the traits it sees."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from support.emulator_flow import CALLBACK, new_connection

from box_widget import BoxConnection, widget
from box_widget.authorize import (
    claim_pending_sign_in,
    code_from_box_answer,
    exchange_code_and_save,
    params_from_redirect,
)
from box_widget.emulator import BoxEmulator
from box_widget.errors import AuthorityUnreachable, ConfigurationError
from box_widget.widget import ConnectionForm

#: ``home`` (conftest.py) is the vault folder; no keyring or credentials from the environment.
pytestmark = pytest.mark.usefixtures("isolated_env")


def browser_says(form: ConnectionForm, **content: Any) -> None:
    """Deliver a message as the browser side would."""
    form._on_message(form, content, [])


def open_form(emu: BoxEmulator, home: Path, name: str = "work") -> ConnectionForm:
    conn = BoxConnection(name, endpoints=emu.endpoints, home=home)
    form: ConnectionForm = conn.form
    form.client_id = emu.app.client_id
    form.mode = "server"
    form.redirect_uri = CALLBACK
    return form


def synced(form: ConnectionForm) -> str:
    """Everything the widget would save into a notebook."""
    return json.dumps(form.get_state())


def test_the_secret_is_a_message_never_a_trait(emulator: BoxEmulator, home: Path) -> None:
    form = open_form(emulator, home)
    assert form.authorize_url == ""  # no secret yet: nothing to generate
    browser_says(form, type="secret", value=emulator.app.client_secret)
    assert form.secret_set
    assert form.authorize_url.startswith(emulator.endpoints.authorize_url)
    assert emulator.app.client_secret not in synced(form)
    assert emulator.app.client_secret not in repr(form) + repr(form._conn)


def test_generate_then_outcome_connects(emulator: BoxEmulator, home: Path) -> None:
    form = open_form(emulator, home)
    browser_says(form, type="secret", value=emulator.app.client_secret)
    url = form.authorize_url
    browser_says(form, type="generate", opened=True)
    assert form.state == "waiting"
    # the server extension's part: Box redirects, the callback finishes the sign-in
    BoxConnection("work", home=home).complete(emulator.authorize(url))
    browser_says(form, type="outcome", ok=True)
    assert form.state == "connected"
    assert (form.user_name, form.user_login) == ("Ada Lovelace", "ada@example.com")
    assert form.expires_at > time.time()
    assert form.authorize_url and form.authorize_url != url  # a fresh single-use state
    record = form._conn.vault.load("work") or {}
    token = record["token"]
    state = synced(form)
    for secret in (token["access_token"], token["refresh_token"], emulator.app.client_secret):
        assert secret not in state
    assert form.token_hint == token["access_token"][-4:]
    browser_says(form, type="test")
    assert "Test Connection: OK" in form.message
    browser_says(form, type="disconnect")
    assert form.state == "disconnected"
    assert not form._conn.connected


def test_the_vault_watch_notices_a_connection_without_the_browser(
    emulator: BoxEmulator, home: Path
) -> None:
    form = open_form(emulator, home)
    browser_says(form, type="secret", value=emulator.app.client_secret)
    url = form.authorize_url
    browser_says(form, type="generate", opened=True)
    BoxConnection("work", home=home).complete(emulator.authorize(url))
    deadline = time.monotonic() + 10
    while form.state != "connected" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert form.state == "connected"


def test_a_failed_outcome_is_shown_in_plain_words(emulator: BoxEmulator, home: Path) -> None:
    form = open_form(emulator, home)
    browser_says(form, type="secret", value=emulator.app.client_secret)
    browser_says(
        form, type="outcome", ok=False, message="You declined access to Box. Click Generate again."
    )
    assert form.state == "error"
    assert "declined" in form.message


def test_headless_complete_and_errors(emulator: BoxEmulator, home: Path) -> None:
    conn = new_connection(emulator, home)
    form: ConnectionForm = conn.form
    form.mode = "headless"
    assert form.authorize_url
    browser_says(form, type="complete", address="http://127.0.0.1:8888/cb?state=nope&code=x")
    assert form.state == "error"
    assert "sign-in page again" in form.message  # the headless form's way to start again
    browser_says(form, type="complete", address=emulator.authorize(form.authorize_url))
    assert form.state == "connected"


def test_displaying_a_connection_shows_the_form_and_hides_secrets(
    emulator: BoxEmulator, home: Path
) -> None:
    conn = BoxConnection(
        "work",
        client_id=emulator.app.client_id,
        client_secret=emulator.app.client_secret,
        endpoints=emulator.endpoints,
        home=home,
    )
    bundle = conn._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    assert emulator.app.client_secret not in json.dumps(data)


def test_an_administrators_app_needs_no_secret_in_the_kernel(
    emulator: BoxEmulator, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server holds the app's secret (c.BoxWidgetApp.client_secret): the browser passes on
    the status API's client id, the kernel prepares a sign-in without a secret, the callback
    (here: the server's part, done by hand) exchanges the code with it, and the connection is
    saved as the server's app, without the secret: the kernel never holds it, and refreshes
    through the Jupyter server (none here: a plain-words error; tests/test_server_app.py and
    tests/test_server_kernel.py do it with a real one)."""
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))  # no server running
    monkeypatch.delenv("JPY_PARENT_PID", raising=False)
    conn = BoxConnection("work", endpoints=emulator.endpoints, home=home)
    form: ConnectionForm = conn.form
    form.redirect_uri = CALLBACK
    assert form.authorize_url == ""
    form.mode = "server"
    form.server_client_id = form.client_id = emulator.app.client_id
    url = form.authorize_url
    assert url.startswith(emulator.endpoints.authorize_url)
    assert not form.secret_set
    # The server's part, as CallbackHandler does it.
    params = params_from_redirect(emulator.authorize(url))
    pending = claim_pending_sign_in(conn.vault, params)
    assert pending["client_secret"] is None  # nothing secret was written by the kernel
    exchange_code_and_save(
        conn.vault,
        pending,
        code_from_box_answer(params),
        server_secret=emulator.app.client_secret,
    )
    browser_says(form, type="outcome", ok=True)
    assert form.state == "connected"
    record = conn.vault.load("work") or {}
    assert (record["client_secret"], record.get("app")) == (None, "server")
    assert BoxConnection("work", home=home)._client_secret is None
    emulator.clock.advance(3601)  # Box expires the access token: a refresh is needed
    with pytest.raises(AuthorityUnreachable, match="run this in a notebook on that server"):
        BoxConnection("work", home=home).test_connection()
    assert emulator.counters()["refreshes"] == 0
    # The next sign-in the form prepared cannot be finished in the kernel, which has no secret.
    assert form.authorize_url not in ("", url)
    conn.vault.delete("work")  # so that only the form's pending record could provide a secret
    with pytest.raises(ConfigurationError, match=r"c\.BoxWidgetApp\.client_secret"):
        BoxConnection("work", home=home).complete(emulator.authorize(form.authorize_url))
    assert conn.vault.names() == []


def test_a_different_app_than_the_administrators_still_needs_a_secret(
    emulator: BoxEmulator, home: Path
) -> None:
    form = open_form(emulator, home)
    form.server_client_id = "the-administrators-app"
    assert form.authorize_url == ""
    assert not form.secret_on_server


def test_unchanged_inputs_make_no_new_sign_in(emulator: BoxEmulator, home: Path) -> None:
    """Each authorize address is a pending record in the vault: the browser's updates that
    change nothing the address depends on (the same values again, another trait) make none;
    a new secret or a changed input makes a fresh one."""
    form = open_form(emulator, home)
    browser_says(form, type="secret", value=emulator.app.client_secret)
    url = form.authorize_url
    pending = home / "pending"
    assert len(list(pending.glob("*.box"))) == 1
    form.mode = "server"
    form.redirect_uri = CALLBACK
    form.client_id = emulator.app.client_id
    form.server_client_id = "the-administrators-app"  # not this form's app: no difference
    assert form.authorize_url == url
    assert len(list(pending.glob("*.box"))) == 1
    browser_says(form, type="secret", value=emulator.app.client_secret)
    assert form.authorize_url not in ("", url)
    form.redirect_uri = "http://localhost:8888/box-widget/oauth2/callback"
    assert len(list(pending.glob("*.box"))) == 3


def test_an_idle_form_renews_its_address_before_it_gets_old(
    emulator: BoxEmulator, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A form left open for a while (coffee) still gives Generate a sign-in with time left:
    its authorize address is replaced every RENEW_SECONDS, except while Box is using it."""
    monkeypatch.setattr(widget, "RENEW_SECONDS", 0.2)
    form = open_form(emulator, home)
    try:
        browser_says(form, type="secret", value=emulator.app.client_secret)
        first = form.authorize_url
        deadline = time.monotonic() + 10
        while form.authorize_url in ("", first) and time.monotonic() < deadline:
            time.sleep(0.05)
        renewed = form.authorize_url
        assert renewed not in ("", first), "the address was not renewed"
        browser_says(form, type="generate", opened=True)  # now in use at Box
        time.sleep(0.6)  # three renewal periods
        assert form.authorize_url == renewed
        BoxConnection("work", home=home).complete(emulator.authorize(renewed))  # still valid
    finally:
        form.close()
    assert form._renewal is None or form._renewal.finished.is_set()  # no renewal after close


def connected_form(emu: BoxEmulator, home: Path) -> ConnectionForm:
    """A form that went through Generate and Box's consent: connected."""
    form = open_form(emu, home)
    browser_says(form, type="secret", value=emu.app.client_secret)
    browser_says(form, type="generate", opened=True)
    BoxConnection("work", home=home).complete(emu.authorize(form.authorize_url))
    browser_says(form, type="outcome", ok=True)
    assert form.state == "connected"
    return form


def test_test_connection_when_box_cannot_be_reached(emulator: BoxEmulator, home: Path) -> None:
    """Box down (here: the emulator stopped): the form says so in plain words, keeps the saved
    connection and still lets the user try again."""
    form = connected_form(emulator, home)
    saved = form._conn.vault.load("work")
    hint = form.token_hint
    emulator.stop()
    browser_says(form, type="test")  # refused: no exception escapes the message handler
    assert form.state == "error"
    assert "Box could not be reached" in form.message
    assert "network" in form.message and "try again" in form.message
    assert form._conn.vault.load("work") == saved  # no stored token lost
    assert form.token_hint == hint  # still shown: Test Connection can be tried again
    for secret in (saved["token"]["access_token"], saved["token"]["refresh_token"]):
        assert secret not in form.message


def test_an_answer_that_is_not_json_is_an_error_in_plain_words(
    emulator: BoxEmulator, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A proxy's HTML page instead of Box's JSON (cannot be produced by the emulator, which
    answers as Box does: ``Response.json`` is made to fail as it would on such a page)."""
    form = connected_form(emulator, home)

    real_json = requests.Response.json

    def not_json(response: requests.Response, **kwargs: Any) -> Any:
        response._content = b"<html>Bad gateway</html>"
        return real_json(response, **kwargs)

    monkeypatch.setattr(requests.Response, "json", not_json)
    browser_says(form, type="test")
    assert form.state == "error"
    assert "could not be read" in form.message
    assert (form._conn.vault.load("work") or {}).get("token")


def test_test_connection_shows_the_refreshed_token(emulator: BoxEmulator, home: Path) -> None:
    """Test Connection refreshes a token near its expiry; the token line then shows the new
    token's last 4 characters and expiry, not the old one's."""
    emulator.settings.update({"access_token_lifetime": 2})
    form = connected_form(emulator, home)
    old_hint, old_expiry = form.token_hint, form.expires_at
    emulator.settings.update({"access_token_lifetime": 3600})
    emulator.clock.advance(3)  # Box's clock: the 2 s token has expired there (no sleep)
    browser_says(form, type="test")
    assert emulator.counters()["refreshes"] == 1
    assert "Test Connection: OK" in form.message
    token = (form._conn.vault.load("work") or {})["token"]
    assert form.token_hint == token["access_token"][-4:] != old_hint
    assert form.expires_at == token["expires_at"] > old_expiry + 3000


def test_the_redirect_line_says_what_whoever_started_the_kernel_set(
    emulator: BoxEmulator, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The demo registers the Redirect URL itself and says so through the environment (see
    box_widget.cli.demo_lab); elsewhere the form keeps its own "Register exactly this URL"."""
    from box_widget.cli.demo_lab import REDIRECT_HINT

    assert open_form(emulator, home, "plain").redirect_hint == ""  # form.js: its own line
    monkeypatch.setenv("BOX_WIDGET_REDIRECT_HINT", REDIRECT_HINT)
    form = open_form(emulator, home, "demo")
    assert form.redirect_hint == "The demo's emulator has this URL registered already."
    assert json.loads(synced(form))["redirect_hint"] == REDIRECT_HINT  # what the page shows
