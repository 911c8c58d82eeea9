"""The secret scan after a real browser flow: JupyterLab with DEBUG logs, a kernel logging at
DEBUG, Chromium, the emulator.

The notebook's first cell turns DEBUG logging on in the kernel (to the server's log), the second
shows the form. The user types the credentials, Generates, grants at Box, tests the connection,
the token expires and Test Connection refreshes it, and the notebook is saved with its widget
state. Then ``secret_scan`` looks for the client secret, every token and code the emulator
issued, and the sign-in's state in: the saved notebook, the server's and the kernel's log
(one file), the rendered callback page and notebook page, and the vault's files. Zero hits.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from browser.conftest import (  # the browser harness (fixtures used by name)
    WIDGET_STATE,
    Jupyter,
    browser,
    browser_context,
    chromium,
    emulator_server,
    expect,
    form_at,
    generate,
    jp_asyncio_loop,
    jp_server_cleanup,
    jupyter,
    open_notebook,
    playwright_api,
    wait_until,
)
from support.secret_scan import emulator_secrets, scan

from box_widget.emulator import BoxEmulator

__all__ = [
    "browser",
    "chromium",
    "emulator_server",
    "jp_asyncio_loop",
    "jp_server_cleanup",
    "jupyter",
    "playwright_api",
]

pytestmark = pytest.mark.timeout(180)

DEBUG_CELL = """import logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.__stderr__, force=True,
                    format="[kernel %(process)d] %(name)s %(levelname)s %(message)s")
logging.getLogger("box_widget").debug("kernel DEBUG logging on")"""
FORM_CELL = "from box_widget import BoxConnection\nconn = BoxConnection('work')\nconn"


@pytest.fixture(scope="module")
def debug_server_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Jupyter servers started in this module log at DEBUG (JUPYTER_CONFIG_PATH)."""
    folder = tmp_path_factory.mktemp("debug-config")
    (folder / "jupyter_server_config.json").write_text(
        json.dumps({"ServerApp": {"log_level": "DEBUG"}, "LabApp": {"log_level": "DEBUG"}})
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_CONFIG_PATH", str(folder))
        yield


def test_no_secret_after_the_browser_flow(
    debug_server_config: None, jupyter: Jupyter, browser: object, emulator_server: BoxEmulator
) -> None:
    emu = emulator_server
    lab = jupyter("lab")
    with browser_context(browser) as context:  # type: ignore[arg-type]
        page = open_notebook(context, lab, "scan.ipynb", [DEBUG_CELL, FORM_CELL])
        form = form_at(page)
        form.enter_credentials(emu.app.client_id, emu.app.client_secret)
        popup = generate(form)  # Generate, then Grant in the window it opened
        popup.locator("#outcome").wait_for()  # the callback page (it closes itself in 1.5 s)
        callback_url, callback_page = popup.url, popup.content()
        form.expect_state("connected")

        calls = emu.counters()["api_calls"]
        form.hook("test").click()
        wait_until(lambda: emu.counters()["api_calls"] > calls, "Test Connection")
        emu.clock.advance(3601)  # Box refuses the token: Test Connection refreshes after a 401
        form.hook("test").click()
        wait_until(lambda: emu.counters()["refreshes"] == 1, "the kernel's refresh")
        expect(form.hook("status")).to_contain_text("Test Connection: OK")

        notebook = lab.root / "scan.ipynb"
        page.evaluate("() => { window.jupyterapp.commands.execute('docmanager:save'); }")
        wait_until(
            lambda: WIDGET_STATE in notebook.read_text(encoding="utf-8"),
            "the notebook saved with its widget state",
        )
        notebook_page = page.content()
    lab.shutdown_kernels()

    log = lab.log.read_text(errors="replace")
    assert "[kernel " in log and "box_widget DEBUG kernel DEBUG logging on" in log
    assert "refreshing the access token: ok" in log  # the kernel's refresh was logged
    assert "[D " in log  # the server logged at DEBUG
    sign_in = parse_qs(urlsplit(callback_url).query)
    state = sign_in["state"][0]
    secrets = emulator_secrets(emu) | {state, sign_in["code"][0]}
    record = lab.vault().load("work") or {}
    assert {
        record["token"]["access_token"],
        record["token"]["refresh_token"],
        record["client_secret"],
    } <= secrets

    hits = scan(
        secrets, texts={"callback page": callback_page}, paths=[notebook, lab.log, lab.home]
    )
    # The live notebook page must hold the authorize address (Generate opens it from the click,
    # or offers it as a link when the window is blocked), and with it a state: nothing else.
    hits.update(scan(secrets - {state}, texts={"notebook page": notebook_page}))
    assert hits == {}
    assert notebook_page.count(state) == notebook_page.count(f"&amp;state={state}")
    files = [p for p in lab.home.rglob("*") if p.is_file()]
    print(
        f"\nbrowser secret scan: {len(secrets)} secrets in the saved notebook "
        f"({os.path.getsize(notebook)} bytes), the server+kernel DEBUG log "
        f"({len(log.splitlines())} lines), 2 rendered pages, {len(files)} vault files: 0 hits"
    )
