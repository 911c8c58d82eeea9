"""The connection form in hub mode, in Chromium: a real hub (its proxy, box-widget's service),
a user's JupyterLab the hub spawned, the emulator as Box with the service's one redirect URI.

The form asks for no Client Secret ("held by your hub"), shows the hub's one Redirect URL (the
page's origin + the service's callback path) and says where the tokens are kept; Generate opens
Box from the click, the service's callback page tells the form (same origin), Test Connection
names the Box user, Disconnect has the service revoke at Box.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from support.hub import Hub, box_for_hub, free_port, service_box_env, start_hub
from support.hub_server import user_server

from box_widget.emulator import BoxEmulator

from .conftest import (
    FORM_TIMEOUT,
    Shots,
    expect,
    generate,
    notebook_json,
    require,
)
from .hub_pages import log_in, open_form

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
    with box_for_hub(port) as emu:
        box_env = service_box_env(emu)
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
        log_in(page, f"{hub.url}/hub/login", server.user, re.compile(r"/hub/|/user/"))
        form = open_form(page, server.url, NOTEBOOK)

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
