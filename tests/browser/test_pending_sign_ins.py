"""Sign-ins that outlive what started them: a kernel restarted while Box's page is still open,
and the same connection signed in from two browser tabs at once.

A pending sign-in lives in the vault, not in the kernel, so the Jupyter server's extension
finishes it whatever became of the kernel or the form that started it; every form of that
connection hears the callback page (``BroadcastChannel``) and shows what the vault now holds.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import psutil
import pytest

from box_widget import audit
from box_widget.emulator import BoxEmulator

from .conftest import (
    FORM_TIMEOUT,
    KERNEL_IDLE_JS,
    KERNEL_TIMEOUT,
    RUN_ALL_JS,
    Form,
    Jupyter,
    JupyterServer,
    Shots,
    consent_in_popup,
    expect,
    form_at,
    open_notebook,
    run_in_kernel,
    wait_until,
)

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.timeout(150)

NAME = "work"
FORM_CELL = [f"from box_widget import BoxConnection\nconn = BoxConnection({NAME!r})\nconn"]
CONNECTED_ADA = re.compile(r"Connected (to Box )?as Ada Lovelace")
CONNECTED_GRACE = re.compile(r"Connected (to Box )?as Grace Hopper")
#: Run in a kernel: its process id and how many vault watches (threads) it runs.
KERNEL_FACTS = (
    "import json, os, threading\n"
    "print(json.dumps({'pid': os.getpid(), 'watches': sum(t.name.startswith("
    "'box-widget-watch-') and t.is_alive() for t in threading.enumerate())}))"
)


@pytest.fixture
def lab(jupyter: Jupyter) -> Iterator[JupyterServer]:
    """JupyterLab whose kernels have the app's Client ID and Secret: the form is ready at once."""
    server = jupyter("lab", with_client=True)
    yield server
    server.shutdown_kernels()  # keep the two cores for the next test


def kernel_facts(page: Page) -> dict[str, int]:
    facts: dict[str, int] = json.loads(run_in_kernel(page, KERNEL_FACTS))
    return facts


def kernel_processes(server: JupyterServer) -> list[psutil.Process]:
    """The kernels the Jupyter server runs (its ipykernel child processes)."""
    found = []
    for process in psutil.Process(server.proc.pid).children(recursive=True):
        try:
            if "ipykernel_launcher" in " ".join(process.cmdline()):
                found.append(process)
        except psutil.Error:  # exited meanwhile: not running
            continue
    return found


def click_generate(form: Form) -> Page:
    """Generate on a ready form: the window it opens (Box's consent page), the form waiting."""
    expect(form.hook("status")).to_contain_text("Ready: click Generate.")
    with form.page.context.expect_page() as opened:
        form.hook("generate").click()
    form.expect_state("waiting")
    popup = opened.value
    popup.wait_for_load_state("domcontentloaded")
    return popup


def connects(server: JupyterServer) -> list[dict[str, object]]:
    return [e for e in audit.read(server.home, NAME) if e.get("event") == "connect"]


# --- a kernel restarted while the sign-in is pending ---------------------------------------------


def test_a_sign_in_pending_across_a_kernel_restart_still_completes(
    context: BrowserContext, lab: JupyterServer, emulator_server: BoxEmulator, shots: Shots
) -> None:
    page = open_notebook(context, lab, "restart.ipynb", FORM_CELL)
    popup = click_generate(form_at(page))
    old = kernel_facts(page)
    assert old["watches"] == 1  # the waiting form watches the vault from a thread
    assert [p.pid for p in kernel_processes(lab)] == [old["pid"]]
    assert list((lab.home / "pending").iterdir()), "no pending sign-in in the vault"

    # The kernel is restarted (Kernel menu, Restart, confirmed) while Box's page is open; then
    # the form's cell is run again.
    page.evaluate("() => { window.jupyterapp.commands.execute('kernelmenu:restart'); }")
    page.locator(".jp-Dialog .jp-mod-accept").click()  # "Restart" in JupyterLab's dialog
    wait_until(lambda: not psutil.pid_exists(old["pid"]), "the old kernel's process to end")
    page.wait_for_function(
        KERNEL_IDLE_JS.replace("PATH", json.dumps("restart.ipynb")), timeout=KERNEL_TIMEOUT
    )
    page.evaluate(RUN_ALL_JS)
    page.wait_for_function("() => window.__boxRunAll === 'done'", timeout=FORM_TIMEOUT)
    expect(page.locator(".box-widget")).to_have_count(1, timeout=FORM_TIMEOUT)
    form = form_at(page)
    form.expect_state("new")  # a new form, from the new kernel
    expect(form.hook("status")).to_contain_text("Ready: click Generate.")
    shots.take(form.root, "re-rendered")
    new = kernel_facts(page)
    assert new["pid"] != old["pid"]
    assert [p.pid for p in kernel_processes(lab)] == [new["pid"]]  # no stray kernel
    assert new["watches"] <= 1

    # Granting the first sign-in at Box: the server extension finishes it from the vault, and
    # the new form hears the callback page.
    consent_in_popup(popup, user=emulator_server.users[0], shots=shots)
    form.expect_state("connected")
    expect(form.hook("status")).to_have_text(CONNECTED_ADA)
    shots.take(form.root, "connected-after-restart")
    record = lab.vault().load(NAME) or {}
    assert (record.get("user") or {}).get("login") == emulator_server.users[0].login
    assert kernel_facts(page)["watches"] <= 1
    assert [p.pid for p in kernel_processes(lab)] == [new["pid"]]
    form.hook("test").click()
    expect(form.hook("status")).to_contain_text("Test Connection: OK, Box user Ada Lovelace")


# --- two tabs, one connection --------------------------------------------------------------------


def test_two_tabs_signing_in_one_connection_keep_the_later_one(
    context: BrowserContext, lab: JupyterServer, emulator_server: BoxEmulator, shots: Shots
) -> None:
    emu = emulator_server
    ada, grace = emu.users[0], emu.users[1]
    connects_before = len(connects(lab))
    started = time.time()
    tab_a = open_notebook(context, lab, "tab-a.ipynb", FORM_CELL)
    tab_b = open_notebook(context, lab, "tab-b.ipynb", FORM_CELL)
    form_a, form_b = form_at(tab_a), form_at(tab_b)
    # Both tabs click Generate: two sign-ins of the same connection pending at once.
    popup_a = click_generate(form_a)
    popup_b = click_generate(form_b)

    consent_in_popup(popup_a, user=ada, callback_page=False)
    for form in (form_a, form_b):  # both tabs hear the callback page
        form.expect_state("connected")
        expect(form.hook("status")).to_have_text(CONNECTED_ADA)
    consent_in_popup(popup_b, user=grace, callback_page=False)
    for form, label in ((form_a, "tab-a"), (form_b, "tab-b")):
        expect(form.hook("status")).to_have_text(CONNECTED_GRACE)
        form.expect_state("connected")
        shots.take(form.root, label)

    # One connection, the later sign-in's; the audit trail has both.
    vault = lab.vault()
    assert vault.names() == [NAME]
    record = vault.load(NAME) or {}
    assert (record.get("user") or {}).get("login") == grace.login
    events = connects(lab)[connects_before:]
    assert len(events) == 2, events
    assert all(float(str(e["time"])) >= started for e in events)
    for form in (form_a, form_b):
        expect(form.hook("token")).to_contain_text(record["token"]["access_token"][-4:])

    # No lost tokens: the saved refresh token works (tab B's kernel spends it), and both kernels
    # then use the vault's tokens.
    refreshes, failed = emu.counters()["refreshes"], emu.counters()["failed_refreshes"]
    spent = run_in_kernel(
        tab_b,
        "source = conn.session.source\n"
        "old = source.token['access_token']\n"
        "print(source.refresh(failed=old)['access_token'] != old)",
    )
    assert spent.strip() == "True"
    assert emu.counters()["refreshes"] == refreshes + 1
    assert emu.counters()["failed_refreshes"] == failed
    refreshed = vault.load(NAME) or {}
    assert refreshed["token"]["refresh_token"] != record["token"]["refresh_token"]
    for form in (form_b, form_a):
        form.hook("test").click()
        expect(form.hook("status")).to_contain_text("Test Connection: OK, Box user Grace Hopper")
    assert emu.counters()["failed_refreshes"] == failed
