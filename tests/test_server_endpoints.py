"""Box's URLs set only as ``c.BoxWidgetApp.*_url`` on the Jupyter server reach the kernel.

A JupyterHub administrator points the server at another Box (here the emulator) in the server's
config only; kernels get no ``BOX_*_URL``. The form learns the server's endpoints from the
status API (``endpoints``, as the browser passes them on in ``server_endpoints``), so its
authorize address points at the configured Box, and the sign-in completes there, not at Box's
real hosts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_server import NAME, Box, query

# test_server's fixtures, used by name (re-exported so that pytest finds them here)
from test_server import box as box
from test_server import box_app as box_app
from test_server import redirect_uri as redirect_uri
from traitlets.config import Config

from box_widget import BoxConnection
from box_widget.emulator import BoxEmulator
from box_widget.endpoints import BOX_AUTHORIZE_URL, ENV_VARS

#: As test_server: the environment is cleared of BOX_* settings for each test.
pytestmark = pytest.mark.usefixtures("isolated_env")


@pytest.fixture
def jp_server_config(home: Path, emulator: BoxEmulator) -> Config:
    """box_widget enabled, a login required, the test's vault, the emulator's URLs as
    traitlets only (``c.BoxWidgetApp.authorize_url`` ...)."""
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"box_widget": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
            },
            "BoxWidgetApp": {"home": str(home), **emulator.endpoints.to_dict()},
        }
    )


async def test_endpoints_configured_only_on_the_server_are_used_by_the_form(box: Box) -> None:
    assert not any(os.environ.get(var) for var in ENV_VARS.values())  # none for the kernel
    code, body = await box.status()
    assert code == 200
    status = json.loads(body)
    assert status["endpoints"] == box.emu.endpoints.to_dict()

    # The kernel: a new connection, its endpoints from the (empty) environment: Box's own.
    conn = BoxConnection(
        NAME, client_id=box.app.client_id, client_secret=box.app.client_secret, home=box.home
    )
    assert conn.endpoints.authorize_url == BOX_AUTHORIZE_URL
    form = conn.form
    # What the browser saves after asking the status API (form.js, detectServer).
    form.set_state(
        {
            "redirect_uri": box.redirect_uri,
            "server_endpoints": status["endpoints"],
            "mode": "server",
        }
    )
    url = form.authorize_url
    authorize_at = url.split("?")[0]  # (the query holds the single-use state)
    assert authorize_at == box.emu.endpoints.authorize_url

    location = box.consent(url)
    assert query(location)["code"]
    page = await box.callback(location)
    assert page.status == 200, page.text
    assert box.emu.counters()["grants"]["authorization_code"] == 1  # exchanged at the emulator
    saved = box.vault.load(NAME)
    assert saved is not None and saved["endpoints"] == box.emu.endpoints.to_dict()
    assert BoxConnection(NAME, home=box.home).test_connection()["login"] == "ada@example.com"
