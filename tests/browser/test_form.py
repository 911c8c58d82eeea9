"""The connection form in a real browser: JupyterLab, Notebook 7 and a JupyterHub-like base URL,
Chromium, the Box emulator.

Each test opens a notebook whose cell displays ``BoxConnection(name)``, drives the form through
its ``data-testid`` hooks, answers Box's consent page in the window Generate opens, and checks the
form, the vault and the emulator. Screenshots of every state go to the artifacts folder.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import psutil
import pytest
import requests

from box_widget.emulator import BoxEmulator
from box_widget.records import SIGNED_OUT

from .conftest import (
    WIDGET_STATE,
    WIDGET_VIEW,
    Form,
    Jupyter,
    JupyterServer,
    Shots,
    browser_context,
    cell_count,
    consent_in_popup,
    expect,
    form_at,
    generate,
    open_notebook,
    type_into,
    wait_closed,
    wait_until,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext

pytestmark = pytest.mark.timeout(150)


def show(name: str, variable: str = "conn") -> str:
    return f"from box_widget import BoxConnection\n{variable} = BoxConnection({name!r})\n{variable}"


ONE_FORM = [show("work")]
CONNECTED_ADA = re.compile(r"Connected (to Box )?as Ada Lovelace")
CONNECTED_GRACE = re.compile(r"Connected (to Box )?as Grace Hopper")
#: Command-mode shortcuts of JupyterLab and Notebook 7: insert above/below, delete (d d),
#: markdown, cut, copy, paste, undo, change to code/raw, move.
SHORTCUT_KEYS = "abddmxcvzyrjk"
#: Each visible label of the form, and the control it must name.
LABELS = {
    "Connection Type": "input",
    "Client ID": "client-id",
    "Client Secret": "client-secret",
    "Redirect URL": "redirect-uri",
    "Access Token": "token",
}


@pytest.fixture
def lab(jupyter: Jupyter) -> Iterator[JupyterServer]:
    """JupyterLab without BOX_CLIENT_* in its environment: the user types both into the form."""
    server = jupyter("lab")
    yield server
    server.shutdown_kernels()  # keep the two cores for the next test


def connect(
    form: Form, emu: BoxEmulator, *, shots: Shots | None = None, user_name: str = "Ada Lovelace"
) -> None:
    """The main flow: credentials typed, Generate, Grant in the popup, connected."""
    form.enter_credentials(emu.app.client_id, emu.app.client_secret)
    generate(form, shots=shots)
    form.expect_state("connected")
    expect(form.hook("status")).to_contain_text(user_name)


def press_shortcut_keys(form: Form) -> None:
    """Type notebook command-mode shortcut keys into a field and on a button of the form: none
    may reach the notebook (its cells stay as they are)."""
    cells = cell_count(form.page)
    type_into(form.hook("client-id"), SHORTCUT_KEYS, typed=True)
    form.hook("copy-redirect").focus()
    for key in SHORTCUT_KEYS:
        form.page.keyboard.press(key)
    assert cell_count(form.page) == cells, "a key typed in the form ran a notebook shortcut"
    expect(form.hook("client-id")).to_be_visible()  # the form's cell was not cut or deleted


def check_token_shown(form: Form, server: JupyterServer, name: str) -> dict[str, str]:
    """The token line shows the access token's last 4 characters and when it expires, and the
    page holds neither token; the vault's token."""
    token = (server.vault().load(name) or {}).get("token") or {}
    assert token.get("access_token"), f"no token saved in the vault for {name!r}"
    expect(form.hook("token")).to_contain_text(token["access_token"][-4:])
    expect(form.hook("token")).to_contain_text(re.compile("expire", re.I))
    html = form.page.content()
    assert token["access_token"] not in html
    assert token["refresh_token"] not in html
    return token


def connected_form(
    context: BrowserContext, lab: JupyterServer, emu: BoxEmulator, notebook: str
) -> tuple[Form, dict[str, str]]:
    """A new notebook's form connected through the main flow; the vault's token."""
    form = form_at(open_notebook(context, lab, notebook, ONE_FORM))
    connect(form, emu)
    return form, check_token_shown(form, lab, "work")


# --- 1. the main flow ----------------------------------------------------------------------------


def test_connect_by_filling_the_form(
    context: BrowserContext, lab: JupyterServer, emulator_server: BoxEmulator, shots: Shots
) -> None:
    emu = emulator_server
    page = open_notebook(context, lab, "connect.ipynb", ONE_FORM)
    form = form_at(page)
    form.expect_state("new")
    shots.take(form.root, "new")
    for label, testid in LABELS.items():  # each label names exactly its own control
        control = page.get_by_label(label, exact=True)
        expect(control).to_have_count(1)
        if testid != "input":
            assert control.get_attribute("data-testid") == testid, label
    expect(page.get_by_role("button", name="Generate access token", exact=True)).to_have_count(1)
    expect(form.hook("name")).to_contain_text("work")
    expect(form.hook("client-id")).to_have_value("")  # no BOX_CLIENT_ID in this server's env
    expect(form.hook("client-secret")).to_have_attribute("type", "password")
    expect(form.hook("key-source")).to_contain_text(re.compile("file", re.I))  # keyring off

    redirect = form.hook("redirect-uri")
    expect(redirect).to_have_value(lab.callback)  # computed in the browser
    expect(redirect).not_to_be_editable()
    form.hook("copy-redirect").click()
    assert page.evaluate("() => navigator.clipboard.readText()") == lab.callback
    # Without the clipboard API (a plain-http page that is not localhost): the URL is selected
    # for the user to copy, and the button says so.
    page.evaluate(
        "() => Object.defineProperty(navigator, 'clipboard', "
        "{value: undefined, configurable: true})"
    )
    form.hook("copy-redirect").click()
    expect(redirect).to_be_focused()
    selected = page.evaluate(
        "() => { const f = document.activeElement; "
        "return f.value.slice(f.selectionStart, f.selectionEnd); }"
    )
    assert selected == lab.callback
    expect(form.hook("copy-redirect")).to_contain_text(re.compile(r"Selected.*copy", re.I))

    cells = cell_count(page)
    press_shortcut_keys(form)
    form.enter_credentials(emu.app.client_id, emu.app.client_secret, typed=True)
    assert cell_count(page) == cells
    expect(form.hook("client-id")).to_have_value(emu.app.client_id)
    assert emu.app.client_secret not in page.content()
    shots.take(form.root, "filled")

    generate(form, shots=shots)
    form.expect_state("connected")
    expect(form.hook("status")).to_have_text(CONNECTED_ADA)
    expect(form.root).to_contain_text("ada@example.com")
    assert cell_count(page) == cells
    check_token_shown(form, lab, "work")
    shots.take(form.root, "connected")
    shots.take(page, "connected-page")

    status = form.hook("status")
    before_text = status.inner_text()
    before_calls = emu.counters()["api_calls"]
    form.hook("test").click()
    expect(status).not_to_have_text(before_text)
    expect(status).to_contain_text("Ada Lovelace")
    wait_until(lambda: emu.counters()["api_calls"] > before_calls, "Test Connection's users/me")
    form.expect_state("connected")
    shots.take(form.root, "tested")


def test_an_administrators_app_needs_only_generate(
    context: BrowserContext, jupyter: Jupyter, emulator_server: BoxEmulator, shots: Shots
) -> None:
    """JupyterHub style: the Box app is configured on the server (c.BoxWidgetApp.client_id and
    client_secret) and nowhere else; the user clicks Generate and nothing more."""
    emu = emulator_server
    server = jupyter("lab", admin_app=True)
    try:
        page = open_notebook(context, server, "admin.ipynb", ONE_FORM)
        form = form_at(page)
        kernels = [
            p
            for p in psutil.Process(server.proc.pid).children(recursive=True)
            if "ipykernel" in " ".join(p.cmdline())
        ]
        assert kernels, "no kernel runs the notebook"
        for kernel in kernels:  # the app's secret is on the server only
            assert emu.app.client_secret not in json.dumps(kernel.environ())
        expect(form.hook("client-id")).to_have_value(emu.app.client_id)  # from the server
        expect(form.hook("client-secret")).to_have_attribute(
            "placeholder", re.compile("held by the Jupyter server")
        )
        expect(form.hook("status")).to_have_text("Ready: click Generate.")
        shots.take(form.root, "admin-app-ready")
        generate(form, shots=shots)
        form.expect_state("connected")
        expect(form.hook("status")).to_have_text(CONNECTED_ADA)
        check_token_shown(form, server, "work")
        form.hook("test").click()
        expect(form.hook("status")).to_contain_text("Test Connection: OK")
        assert emu.app.client_secret not in page.content()
        record = server.vault().load("work") or {}
        assert (record["client_secret"], record.get("app")) == (None, "server")  # by reference
        # Box expires the access token: the kernel, which holds no secret, gets a new one from
        # the Jupyter server (its token API), which refreshes with the configured secret.
        refreshes = emu.counters()["refreshes"]
        emu.clock.advance(3601)
        form.hook("test").click()
        wait_until(lambda: emu.counters()["refreshes"] > refreshes, "the server's refresh")
        expect(form.hook("status")).to_contain_text("Test Connection: OK")
        assert emu.counters()["refreshes"] == refreshes + 1
    finally:
        server.shutdown_kernels()


# --- 2. and 3. errors in plain words -----------------------------------------------------------


def test_deny_shows_the_declined_message(
    context: BrowserContext, lab: JupyterServer, emulator_server: BoxEmulator, shots: Shots
) -> None:
    emu = emulator_server
    form = form_at(open_notebook(context, lab, "deny.ipynb", ONE_FORM))
    form.enter_credentials(emu.app.client_id, emu.app.client_secret)
    popup = generate(form, deny=True, shots=shots)
    form.expect_state("error")
    expect(form.hook("status")).to_contain_text(re.compile("declined", re.I))
    expect(form.hook("status")).to_contain_text("Generate")  # what to do next
    shots.take(form.root, "error-declined")
    assert lab.vault().load("work") is None
    wait_closed(popup, form.page)  # the callback page closes itself
    generate(form)  # what the message says to do: a fresh sign-in works
    form.expect_state("connected")
    expect(form.hook("status")).to_have_text(CONNECTED_ADA)


#: Press Enter in the Client Secret field (the form sends it to the kernel), then, in the same
#: task, before any answer can arrive: whether Generate is disabled.
COMMIT_SECRET_THEN_LOOK_JS = """() => {
  const root = document.querySelector(".box-widget");
  const secret = root.querySelector('[data-testid="client-secret"]');
  secret.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
  return root.querySelector('[data-testid="generate"]').disabled;
}"""


def test_wrong_secret_explains_invalid_client(
    context: BrowserContext, lab: JupyterServer, emulator_server: BoxEmulator, shots: Shots
) -> None:
    emu = emulator_server
    form = form_at(open_notebook(context, lab, "wrong-secret.ipynb", ONE_FORM))
    form.enter_credentials(emu.app.client_id, "not-the-secret-" + emu.app.client_secret[:6])
    window = generate(form, shots=shots)
    form.expect_state("error")
    status = form.hook("status")
    expect(status).to_contain_text(re.compile(r"Client (ID or Client )?Secret", re.I))
    expect(status).to_contain_text(re.compile(r"wrong|invalid", re.I))
    shots.take(form.root, "error-invalid-client")
    assert lab.vault().load("work") is None

    # The right secret, and Generate at once: the address made for the wrong secret is gone
    # the moment the new one is sent (Generate waits for the kernel's new address), so this
    # sign-in connects.
    expect(form.hook("generate")).to_be_enabled()  # the next (wrong-secret) sign-in, prepared
    wait_closed(window, form.page)  # the callback page closes itself; Generate reuses it
    form.hook("client-secret").fill(emu.app.client_secret)
    disabled_at_once = form.page.evaluate(COMMIT_SECRET_THEN_LOOK_JS)
    assert disabled_at_once, "Generate still offered the address made for the wrong secret"
    generate(form)
    form.expect_state("connected")
    assert lab.vault().load("work") is not None


def test_a_refused_redirect_url_is_named(
    context: BrowserContext, lab: JupyterServer, emulator_server: BoxEmulator, shots: Shots
) -> None:
    """Box shows its own error page for a Redirect URL the app did not register, and never
    comes back; when the user closes that window, the form says so, with the URL it sent."""
    emu = emulator_server
    app = emu.add_app("Registered elsewhere", ["http://127.0.0.1:9/elsewhere/callback"])
    form = form_at(open_notebook(context, lab, "refused.ipynb", ONE_FORM))
    form.enter_credentials(app.client_id, app.client_secret)
    with form.page.context.expect_page() as opened:
        form.hook("generate").click()
    popup = opened.value
    form.expect_state("waiting")
    popup.wait_for_load_state("domcontentloaded")
    expect(popup.locator("#error")).to_have_text("redirect_uri_mismatch")  # no redirect
    shots.take(popup, "box-error-page")
    popup.close()  # the user gives up on Box's window
    form.expect_state("error")
    status = form.hook("status")
    expect(status).to_contain_text("Box's window closed before the sign-in finished")
    expect(status).to_contain_text("redirect_uri_mismatch")
    expect(status).to_contain_text(lab.callback)  # the URL the form sent
    expect(status).to_contain_text("OAuth 2.0 Redirect URIs")  # where to register it
    shots.take(form.root, "error-redirect-refused")
    assert lab.vault().load("work") is None


# --- 4. the popup blocker ----------------------------------------------------------------------


def test_generate_opens_its_window_despite_the_popup_blocker(
    blocking_browser: Browser, lab: JupyterServer, emulator_server: BoxEmulator, shots: Shots
) -> None:
    emu = emulator_server
    with browser_context(
        blocking_browser, on_failure=shots.folder / f"FAILED-{shots.prefix}"
    ) as context:
        # The blocker is on: a page that opens a window as it loads, without a click, is
        # refused (page.evaluate would not do: Playwright runs it as a user gesture).
        probe = context.new_page()
        probe.goto(
            "data:text/html,<script>window.blocked = "
            "window.open('about:blank', 'probe', 'popup') === null;</script>"
        )
        assert probe.evaluate("window.blocked"), "the popup blocker is off: this proves nothing"
        probe.close()
        page = open_notebook(context, lab, "blocker.ipynb", ONE_FORM)
        form = form_at(page)
        form.enter_credentials(emu.app.client_id, emu.app.client_secret)
        with context.expect_page() as opened:
            form.hook("generate").click()
        popup = opened.value
        popup.wait_for_load_state("domcontentloaded")
        assert popup.url.startswith(emu.endpoints.authorize_url)
        assert popup.evaluate("() => window.opener !== null"), (
            "opened without an opener: not window.open(url, name, 'popup')"
        )
        expect(form.hook("open-link")).to_be_hidden()  # the fallback is not needed
        form.expect_state("waiting")
        consent_in_popup(popup, shots=shots, callback_page=False)
        form.expect_state("connected")
        expect(form.hook("status")).to_have_text(CONNECTED_ADA)
        shots.take(form.root, "connected-with-blocker")


def test_blocked_window_falls_back_to_a_link(
    context: BrowserContext, lab: JupyterServer, emulator_server: BoxEmulator, shots: Shots
) -> None:
    emu = emulator_server
    page = open_notebook(context, lab, "fallback.ipynb", ONE_FORM)
    form = form_at(page)
    form.enter_credentials(emu.app.client_id, emu.app.client_secret)
    page.evaluate("() => { window.open = () => null; }")  # as a stricter blocker answers
    form.hook("generate").click()
    form.expect_state("waiting")
    link = form.hook("open-link")
    expect(link).to_be_visible()
    expect(link).to_have_attribute("href", re.compile("^" + re.escape(emu.endpoints.authorize_url)))
    shots.take(form.root, "blocked-link")
    with context.expect_page() as opened:
        link.click()
    consent_in_popup(opened.value, shots=shots)
    form.expect_state("connected")
    expect(form.hook("status")).to_have_text(CONNECTED_ADA)
    expect(link).to_be_hidden()


# --- a busy kernel -----------------------------------------------------------------------------

#: A cell that keeps the kernel busy until the test says so: it marks that it started, waits
#: for a release file (a minute at most), then marks that it finished. While it runs, the
#: kernel handles no other message (widget messages wait in its queue), which is the point.
#: (The server's ``execution_state`` is no witness: a control-channel request answered
#: meanwhile reports "idle" while the cell still runs.)
BUSY_CELL = """import pathlib, time
started, release, finished = (pathlib.Path(p) for p in {paths!r})
started.touch()
deadline = time.monotonic() + 60
while not release.exists() and time.monotonic() < deadline:
    time.sleep(0.05)
finished.touch()"""

#: A new cell below the form with ``source``, run as a user would (not awaited).
RUN_CELL_JS = """async (source) => {
  const app = window.jupyterapp;
  const notebook = app.shell.currentWidget.content;
  notebook.activeCellIndex = notebook.widgets.length - 1;
  await app.commands.execute("notebook:insert-cell-below");
  notebook.activeCell.model.sharedModel.setSource(source);
  app.commands.execute("notebook:run-cell");
}"""


def test_a_busy_kernel_still_gets_its_tokens(
    context: BrowserContext, lab: JupyterServer, emulator_server: BoxEmulator, shots: Shots
) -> None:
    """Generate, then run a cell that keeps the kernel busy, then grant: the server saves the
    tokens while the cell runs, and the form shows the connection (through the kernel's vault
    watch, which runs in a thread, or once the kernel is free), with nothing re-run."""
    emu = emulator_server
    started, release, finished = (lab.root / f"busy-{n}" for n in ("started", "release", "done"))
    page = open_notebook(context, lab, "busy.ipynb", ONE_FORM)
    form = form_at(page)
    form.enter_credentials(emu.app.client_id, emu.app.client_secret)
    with context.expect_page() as opened:
        form.hook("generate").click()
    form.expect_state("waiting")
    try:
        paths = [str(started), str(release), str(finished)]
        page.evaluate(RUN_CELL_JS, BUSY_CELL.format(paths=paths))
        wait_until(started.exists, "the busy cell to start")
        consent_in_popup(opened.value, shots=shots, callback_page=False)
        wait_until(
            lambda: bool((lab.vault().load("work") or {}).get("token")),
            "the server to save the tokens",
            timeout=20,
        )
        assert not finished.exists(), "the busy cell ended before the tokens were saved"
        # The form may show them already: the kernel's vault watch is a thread of its own.
        shots.take(form.root, "busy-kernel-tokens-saved")
    finally:
        release.touch()
    wait_until(finished.exists, "the busy cell to end")
    form.expect_state("connected")
    expect(form.hook("status")).to_have_text(CONNECTED_ADA)
    check_token_shown(form, lab, "work")


# --- 5. Disconnect -------------------------------------------------------------------------------


def test_disconnect_revokes_at_box(
    context: BrowserContext, lab: JupyterServer, emulator_server: BoxEmulator, shots: Shots
) -> None:
    emu = emulator_server
    form, token = connected_form(context, lab, emu, "disconnect.ipynb")

    # Box unreachable (every users/me connection dropped): plain words, the token kept, and
    # Test Connection can be tried again, which then works.
    emu.inject_fault(path="/2.0/users/me", drop=True, times=None)
    try:
        form.hook("test").click()
        form.expect_state("error")
    finally:
        emu.clear_faults()
    expect(form.hook("status")).to_contain_text("Box could not be reached")
    expect(form.hook("status")).to_contain_text(re.compile("network.*try again"))
    expect(form.hook("token")).to_contain_text(token["access_token"][-4:])
    shots.take(form.root, "error-unreachable")
    # Box expired the access token meanwhile: Test Connection refreshes it, and the token line
    # shows the new token (its last 4 characters), not the old one.
    refreshes = emu.counters()["refreshes"]
    emu.clock.advance(3601)
    form.hook("test").click()
    expect(form.hook("status")).to_contain_text("Test Connection: OK")
    form.expect_state("connected")
    assert emu.counters()["refreshes"] == refreshes + 1
    old_hint, token = token["access_token"][-4:], check_token_shown(form, lab, "work")
    assert token["access_token"][-4:] != old_hint
    revocations = emu.counters()["revocations"]
    form.hook("disconnect").click()
    form.expect_state("disconnected")
    wait_until(lambda: emu.counters()["revocations"] > revocations, "a revocation at Box")
    assert lab.vault().load("work") is None
    expect(form.hook("token")).not_to_contain_text(token["access_token"][-4:])
    shots.take(form.root, "disconnected")
    # Revoked at Box, not only forgotten here: Box refuses both tokens from now on.
    me = requests.get(
        f"{emu.endpoints.api_url}/users/me",
        timeout=10,
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert me.status_code == 401
    refresh = requests.post(
        emu.endpoints.token_url,
        timeout=10,
        data={
            "grant_type": "refresh_token",
            "refresh_token": token["refresh_token"],
            "client_id": emu.app.client_id,
            "client_secret": emu.app.client_secret,
        },
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"


def test_a_refresh_box_refuses_says_sign_in_again(
    context: BrowserContext, lab: JupyterServer, emulator_server: BoxEmulator, shots: Shots
) -> None:
    emu = emulator_server
    form, token = connected_form(context, lab, emu, "signed-out.ipynb")
    with emu.state.oauth.lock:  # Box forgets it (60 days unused, or revoked in Box's settings)
        emu.state.oauth.refresh_tokens[token["refresh_token"]].revoked = True
    emu.clock.advance(3601)  # the access token expired: Test Connection must refresh
    form.hook("test").click()
    form.expect_state("error")
    expect(form.hook("token")).to_have_text("signed out by Box: sign in again")
    expect(form.hook("test")).to_be_disabled()
    record = lab.vault().load("work") or {}
    assert "token" not in record and record.get("signed_out_at")
    shots.take(form.root, "signed-out")
    # The form shown again (a new kernel, a reopened notebook) says it in its status line.
    again = form_at(open_notebook(context, lab, "signed-out-again.ipynb", ONE_FORM))
    expect(again.hook("status")).to_have_text(SIGNED_OUT + ".")
    expect(again.hook("token")).to_have_text("signed out by Box: sign in again")
    # Signing in again (Generate) connects it again.
    generate(form)
    form.expect_state("connected")
    expect(form.hook("status")).to_contain_text("Ada Lovelace")
    check_token_shown(form, lab, "work")


# --- 6. Notebook 7 and a JupyterHub-like base URL ----------------------------------------------


@pytest.mark.parametrize("variant", ["notebook7", "base-url"])
def test_main_flow_in_other_frontends(
    variant: str,
    context: BrowserContext,
    jupyter: Jupyter,
    emulator_server: BoxEmulator,
    shots: Shots,
) -> None:
    emu = emulator_server
    if variant == "notebook7":
        server = jupyter("notebook")
    else:  # as JupyterHub runs it; the app's id and secret come from the environment
        server = jupyter("lab", base_url="/user/alice/", with_client=True)
    try:
        page = open_notebook(context, server, f"{variant}.ipynb", ONE_FORM)
        form = form_at(page)
        expect(form.hook("redirect-uri")).to_have_value(server.callback)
        cells = cell_count(page)
        if server.with_client:
            expect(form.hook("client-id")).to_have_value(server.box_app.client_id)
        else:  # key by key: Notebook 7's command-mode shortcuts must not fire
            press_shortcut_keys(form)
            form.enter_credentials(emu.app.client_id, emu.app.client_secret, typed=True)
        shots.take(form.root, "new")
        generate(form, shots=shots, keyboard=True)
        form.expect_state("connected")
        expect(form.hook("status")).to_have_text(CONNECTED_ADA)
        assert cell_count(page) == cells
        shots.take(page, "connected-page")
        record = server.vault().load("work") or {}
        assert record.get("client_id") == server.box_app.client_id
        assert record.get("redirect_uri") == server.callback
    finally:
        server.reset()


# --- 7. nothing secret in the saved notebook ---------------------------------------------------


def test_saved_notebook_holds_no_secret(
    context: BrowserContext, lab: JupyterServer, emulator_server: BoxEmulator, shots: Shots
) -> None:
    emu = emulator_server
    page = open_notebook(context, lab, "saved.ipynb", ONE_FORM)
    form = form_at(page)
    connect(form, emu)
    calls = emu.counters()["api_calls"]
    form.hook("test").click()
    wait_until(lambda: emu.counters()["api_calls"] > calls, "Test Connection's users/me")
    record = lab.vault().load("work") or {}
    assert record.get("token"), "no token in the vault after connecting"

    notebook = lab.root / "saved.ipynb"
    page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:save'); }")

    def saved() -> bool:
        text = notebook.read_text(encoding="utf-8")
        return WIDGET_VIEW in text and WIDGET_STATE in text

    wait_until(saved, "the notebook saved with the form's output and widget state")
    shots.take(page, "saved")
    text = notebook.read_text(encoding="utf-8")
    json.loads(text)

    oauth = emu.state.oauth
    with oauth.lock:  # every token and code the emulator issued in this module, too
        issued = [*oauth.access_tokens, *oauth.refresh_tokens, *oauth.codes]
    used = {
        "client secret": emu.app.client_secret,
        "vault client secret": record["client_secret"],
        "access token": record["token"]["access_token"],
        "refresh token": record["token"]["refresh_token"],
    }
    used.update({f"issued token or code {i}": value for i, value in enumerate(issued)})
    hits = sorted(label for label, value in used.items() if value and value in text)
    assert not hits, f"{notebook} holds: {', '.join(hits)}"
    # nor a live sign-in address (its state stays valid for 10 minutes)
    assert "oauth2/authorize?" not in text


# --- 8. two forms, two users -------------------------------------------------------------------


def test_two_forms_connect_two_users(
    context: BrowserContext, lab: JupyterServer, emulator_server: BoxEmulator, shots: Shots
) -> None:
    emu = emulator_server
    ada, grace = emu.users[0], emu.users[1]
    page = open_notebook(
        context, lab, "two.ipynb", [show("work", "work"), show("home", "home")], forms=2
    )
    work, home = form_at(page, 0), form_at(page, 1)
    expect(work.hook("name")).to_contain_text("work")
    expect(home.hook("name")).to_contain_text("home")

    work.enter_credentials(emu.app.client_id, emu.app.client_secret)
    generate(work, user=ada)
    work.expect_state("connected")
    home.expect_state("new")  # the other form did not take work's outcome

    home.enter_credentials(emu.app.client_id, emu.app.client_secret)
    generate(home, user=grace)
    home.expect_state("connected")
    expect(home.hook("status")).to_have_text(CONNECTED_GRACE)
    expect(work.hook("status")).to_have_text(CONNECTED_ADA)  # unchanged by home's outcome
    work.expect_state("connected")
    shots.take(work.root, "work-ada")
    shots.take(home.root, "home-grace")

    vault = lab.vault()
    work_record, home_record = vault.load("work") or {}, vault.load("home") or {}
    assert (work_record.get("user") or {}).get("login") == ada.login
    assert (home_record.get("user") or {}).get("login") == grace.login
    work_token, home_token = work_record["token"], home_record["token"]
    assert work_token["access_token"] != home_token["access_token"]
    assert work_token["refresh_token"] != home_token["refresh_token"]
    expect(work.hook("token")).to_contain_text(work_token["access_token"][-4:])
    expect(home.hook("token")).to_contain_text(home_token["access_token"][-4:])


# --- the headless path: no server extension -----------------------------------------------------


def test_headless_path_without_server_extension(
    context: BrowserContext, jupyter: Jupyter, emulator_server: BoxEmulator, shots: Shots
) -> None:
    emu = emulator_server
    server = jupyter("lab", extension=False, redirect_env=True)
    try:
        page = open_notebook(context, server, "headless.ipynb", ONE_FORM)
        form = form_at(page)
        form.enter_credentials(emu.app.client_id, emu.app.client_secret)
        link = form.hook("auth-link")
        expect(link).to_be_visible()
        # Only the link and the paste field: no Generate promising a window that reports back.
        expect(form.hook("generate")).to_be_hidden()
        expect(form.hook("paste-address")).to_be_visible()
        expect(form.hook("status")).to_have_text(re.compile("sign-in page"))
        expect(form.hook("status")).not_to_contain_text("Generate")
        expect(link).to_have_attribute(
            "href", re.compile("^" + re.escape(emu.endpoints.authorize_url))
        )
        shots.take(form.root, "headless-new")
        with context.expect_page() as opened:
            link.click()
        popup = opened.value
        consent_in_popup(popup, shots=shots, callback_page=False)
        # Nothing answers the callback here: the address itself is what the user pastes.
        popup.wait_for_url(re.compile(re.escape(server.callback) + r"\?.*code="))
        form.hook("paste-address").fill(popup.url)
        form.hook("complete").click()
        form.expect_state("connected")
        expect(form.hook("status")).to_have_text(CONNECTED_ADA)
        shots.take(form.root, "headless-connected")
        assert (server.vault().load("work") or {}).get("token")
    finally:
        server.reset()
