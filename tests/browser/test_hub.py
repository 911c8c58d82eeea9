"""box-widget on a real JupyterHub, end to end in Chromium, with alice and bob as Unix users.

The hub is ``jupyterhub`` (PyPI) with its real proxy (``configurable-http-proxy``), configured by
``examples/jupyterhub/jupyterhub_config.py`` (the file the docs show) with only what a test must
change on top: the login (a shared password), the spawner (each user's JupyterLab as that Unix
user, from a venv they can run), ports on 127.0.0.1, Box's URLs (the emulator's) and the
service's vault folder. The emulator, as Box, has exactly one redirect URI registered: the
service's ``/services/box-widget/oauth2/callback``.

alice logs in to the hub, opens JupyterLab, runs a cell displaying ``BoxConnection("work")``,
clicks Generate and grants as one Box user; bob does the same as the other; each one's Test
Connection shows their own Box user. Then alice's kernel and server environments, her home
folder and her saved notebook are scanned for the client secret, every refresh token, code and
access token Box issued: none.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import pytest
from conftest import require  # tests/conftest.py
from support import hub_unix
from support.hub_servers import UnixHub, unix_hub
from support.secret_scan import emulator_secrets, scan

from .conftest import (
    Form,
    Shots,
    browser_context,
    expect,
    form_at,
    generate,
    notebook_json,
    run_in_kernel,
)
from .hub_pages import log_in, open_form

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from box_widget.emulator.content import User

pytestmark = pytest.mark.timeout(400)

NOTEBOOK = "box-hub.ipynb"
NAME = "work"
FORM_CELL = [f"from box_widget import BoxConnection\nconn = BoxConnection({NAME!r})\nconn"]
#: Run in a kernel: its environment as the kernel sees it now, and what it finds in bob's home.
KERNEL_PROBE = (
    "import json, os\n"
    "try:\n"
    "    os.listdir('/home/bob'); bob = 'readable'\n"
    "except PermissionError:\n"
    "    bob = 'denied'\n"
    "print(json.dumps({'environ': dict(os.environ), 'bob_home': bob, 'pid': os.getpid()}))"
)


@pytest.fixture(scope="module")
def box_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[UnixHub]:
    found = hub_unix.problems()
    require(not found, "a hub with real Unix users cannot run here: " + "; ".join(found))
    venv = hub_unix.singleuser_venv()
    assert venv is not None
    for user in hub_unix.USERS:
        hub_unix.fresh_home(user)
    with unix_hub(tmp_path_factory.mktemp("hub"), venv) as running:
        yield running


# --- driving the hub in Chromium --------------------------------------------------------------


def connect_and_test(form: Form, box_user: User, shots: Shots, label: str) -> None:
    """Generate, grant as ``box_user`` on Box's page, connected; Test Connection names them."""
    generate(form, user=box_user)
    form.expect_state("connected")
    expect(form.hook("status")).to_contain_text(box_user.name)
    shots.take(form.root, f"{label}-connected")
    shots.take(form.page, f"{label}-lab")
    form.hook("test").click()
    expect(form.hook("status")).to_contain_text("Test Connection: OK")
    expect(form.hook("status")).to_contain_text(box_user.name)
    form.expect_state("connected")
    shots.take(form.root, f"{label}-tested")


def save_notebook(page: Page) -> None:
    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    expect(page.locator(".jp-mod-dirty")).to_have_count(0)


def server_processes(hub: UnixHub, user: str) -> list[psutil.Process]:
    """The user's single-user server and everything it runs (its kernels)."""
    server = psutil.Process(hub.pids[user])
    return [server, *server.children(recursive=True)]


def test_alice_and_bob_each_connect_their_own_box_user(
    box_hub: UnixHub, browser: Browser, artifacts: Path, shots: Shots
) -> None:
    hub, emu = box_hub, box_hub.emu
    callback = hub.hub.callback_url
    # Box (the emulator) knows exactly one redirect URI: the service's, for the whole hub.
    registered = [uri for app in emu.state.oauth.apps.values() for uri in app.redirect_uris]
    assert registered == [callback]

    box_users = {"alice": emu.users[0], "bob": emu.users[1]}
    pages = {}
    with contextlib.ExitStack() as contexts:
        for user, box_user in box_users.items():
            hub_unix.write_for(user, NOTEBOOK, notebook_json(FORM_CELL))
            context = contexts.enter_context(
                browser_context(browser, on_failure=artifacts / f"FAILED-hub-{user}")
            )
            page = context.new_page()
            log_in(page, f"{hub.url}hub/login", user, re.compile(rf"/user/{user}/lab"))
            hub.wait_server(user)  # its pid, for the scans below
            form = open_form(page, f"{hub.url}user/{user}/", NOTEBOOK)
            connect_and_test(form, box_user, shots, user)
            pages[user] = page
        # alice's form still shows her own Box user after bob connected his.
        expect(form_at(pages["alice"]).hook("status")).to_contain_text(box_users["alice"].name)
        save_notebook(pages["alice"])

        probe = json.loads(run_in_kernel(pages["alice"], KERNEL_PROBE))
        assert probe["bob_home"] == "denied"
        processes = server_processes(hub, "alice")
        assert any(p.pid == probe["pid"] for p in processes), "the kernel is not alice's server's"
        for process in processes:
            assert process.uids().real == hub_unix.uid_of("alice")

        home = hub_unix.home_of("alice")
        saved = home / NOTEBOOK
        cells = json.loads(saved.read_text())["cells"]
        assert "".join(cells[0]["source"]) == FORM_CELL[0]  # alice's notebook, saved
        # The user's side holds no vault: tokens stay with the service.
        assert not list(home.rglob("box_widget")), "a vault folder in alice's home"
        secrets = emulator_secrets(emu)
        # What to look for: the app's secret, both sign-ins' codes and refresh tokens.
        assert emu.app.client_secret in secrets
        assert len(emu.state.oauth.codes) == len(emu.state.oauth.refresh_tokens) == 2
        hits = scan(
            secrets,
            texts={
                "alice's kernel's os.environ": json.dumps(probe["environ"]),
                **{
                    f"/proc/{p.pid}/environ ({' '.join(p.cmdline()[:2])})": (
                        hub_unix.process_environ(p.pid)
                    )
                    for p in processes
                },
            },
            paths=[home, saved],
        )
        assert not hits, f"secrets on alice's side: {hits}"
        shots.take(pages["alice"], "alice-saved")

        # The screenshot of what Box has registered: one app, one redirect URI.
        page = pages["alice"].context.new_page()
        page.goto(f"{emu.url}/_emulator/state", wait_until="domcontentloaded")
        expect(page.locator("body")).to_contain_text(callback)
        shots.take(page, "emulator-redirect-uri")
