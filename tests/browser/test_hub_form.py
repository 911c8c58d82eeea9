"""The connection form in hub mode, in Chromium: a real hub (its proxy, box-widget's service),
a user's JupyterLab the hub spawned, the emulator as Box with the service's one redirect URI.

The form asks for no Client Secret ("held by your hub"), shows the hub's one Redirect URL (the
page's origin + the service's callback path) and says where the tokens are kept; Generate opens
Box from the click, the service's callback page tells the form (same origin), Test Connection
names the Box user, Disconnect has the service revoke at Box.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from support.hub import PASSWORD, Hub, free_port, start_hub
from support.hub_server import user_server

from box_widget.emulator import BoxEmulator

from .conftest import (
    FORM_TIMEOUT,
    KERNEL_IDLE_JS,
    KERNEL_TIMEOUT,
    RUN_ALL_JS,
    Shots,
    expect,
    form_at,
    generate,
    notebook_json,
    require,
)

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

pytestmark = pytest.mark.timeout(400)

NOTEBOOK = "box-hub-form.ipynb"
CELL = ['from box_widget import BoxConnection\nBoxConnection("work")']
#: JupyterLab exposes ``window.jupyterapp`` (the tests run cells with it); users' servers run as
#: this process's user, and as root Jupyter needs --allow-root.
SERVER_ARGS = ["--LabApp.expose_app_in_browser=True"] + (["--allow-root"] * (os.geteuid() == 0))


@pytest.fixture(scope="module")
def hub_and_box(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Hub, BoxEmulator]]:
    require(shutil.which("configurable-http-proxy") is not None, "configurable-http-proxy")
    port = free_port()
    callback = f"http://127.0.0.1:{port}/services/box-widget/oauth2/callback"
    with BoxEmulator(redirect_uris=[callback]) as emu:
        box_env = {
            "BOX_CLIENT_ID": emu.app.client_id,
            "BOX_CLIENT_SECRET": emu.app.client_secret,
            **emu.endpoints.to_env(),
        }
        folder = tmp_path_factory.mktemp("hub")
        with start_hub(
            folder,
            box_env,
            extra_config=f"c.Spawner.args = {SERVER_ARGS!r}\n",
            PUBLIC_PORT=str(port),
        ) as hub:
            yield hub, emu


def test_the_form_in_hub_mode(
    hub_and_box: tuple[Hub, BoxEmulator], context: BrowserContext, shots: Shots
) -> None:
    hub, emu = hub_and_box
    with user_server(hub, "lou") as server:
        (server.home / NOTEBOOK).write_text(notebook_json(CELL), encoding="utf-8")
        page = context.new_page()
        page.goto(f"{hub.url}/hub/login", wait_until="domcontentloaded")
        page.fill("#username_input", server.user)
        page.fill("#password_input", PASSWORD)
        page.click("#login_submit")
        page.wait_for_url(re.compile(r"/hub/|/user/"), timeout=KERNEL_TIMEOUT)
        page.goto(f"{server.url}lab/tree/{NOTEBOOK}", wait_until="domcontentloaded")
        page.wait_for_function("() => !!window.jupyterapp", timeout=KERNEL_TIMEOUT)
        page.locator("#jp-main-statusbar >> text=Idle").wait_for(timeout=KERNEL_TIMEOUT)
        page.wait_for_function(
            KERNEL_IDLE_JS.replace("PATH", json.dumps(NOTEBOOK)), timeout=KERNEL_TIMEOUT
        )
        page.evaluate(RUN_ALL_JS)
        expect(page.locator(".box-widget")).to_have_count(1, timeout=FORM_TIMEOUT)
        form = form_at(page)

        expect(form.hook("redirect-uri")).to_have_value(hub.callback_url, timeout=FORM_TIMEOUT)
        expect(form.hook("client-id")).to_have_value(emu.app.client_id)
        expect(form.hook("client-secret")).to_have_attribute("placeholder", re.compile("hub"))
        expect(form.hook("key-source")).to_contain_text("held by your hub")
        expect(form.hook("generate")).to_be_enabled(timeout=FORM_TIMEOUT)
        shots.take(form.root, "hub-form-ready")

        generate(form, user=emu.user)
        form.expect_state("connected")
        expect(form.hook("status")).to_contain_text(emu.user.name)
        expect(form.hook("token")).to_contain_text("held by your hub")
        shots.take(form.root, "hub-form-connected")
        form.hook("test").click()
        expect(form.hook("status")).to_contain_text("Test Connection: OK")

        revocations = emu.counters()["revocations"]
        form.hook("disconnect").click()
        form.expect_state("disconnected")
        expect(form.hook("status")).to_contain_text("service revoked")
        assert emu.counters()["revocations"] > revocations
        shots.take(form.root, "hub-form-disconnected")
