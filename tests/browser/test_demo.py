"""The newcomer's first minutes: the README's main-job command in a real browser.

``box-widget demo`` (read from README line 1, plus ``--no-browser`` and ``--port 0``) starts the
emulator and JupyterLab; Chromium opens the printed address, runs getting-started.ipynb's cells
with Shift+Enter up to the form, clicks Generate, grants access on the emulator's consent page,
sees "Connected", runs the rest of the notebook (the CSV in pandas), then the demo is stopped with
SIGINT by its pid and JupyterLab, its kernels and the emulator must all be gone.
"""

from __future__ import annotations

import hashlib
import json
import re
import signal
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests
from support.demo_process import (
    INSTALL_PROBE,
    INSTALLS,
    check_all_gone,
    check_install,
    command_line,
    demo_prefix,
    start_demo,
)

from box_widget.cli.demo_lab import FIRST_NOTEBOOK, shipped_notebooks

from .conftest import (
    FORM_TIMEOUT,
    KERNEL_IDLE_JS,
    KERNEL_TIMEOUT,
    Shots,
    consent_in_popup,
    expect,
    form_at,
    run_in_kernel,
)

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

pytestmark = pytest.mark.timeout(240)
NEWS_QUESTION = "Would you like to get notified about official Jupyter news?"
CELL_TIMEOUT = 30_000  # ms: a cell's output (the first pandas import is the slowest)


def form_cell_index(notebook: Path) -> int:
    """Where the notebook shows the form: its first cell tagged browser-only."""
    cells = json.loads(notebook.read_text())["cells"]
    return next(
        i for i, cell in enumerate(cells) if "browser-only" in cell["metadata"].get("tags", [])
    )


ACTIVE_CELL_JS = "() => window.jupyterapp.shell.currentWidget.content.activeCellIndex"


def run_cells(page: Page, count: int) -> None:
    """Shift+Enter ``count`` times, as a reader going through the notebook does: each time,
    once JupyterLab has moved on to the next cell."""
    first = page.evaluate(ACTIVE_CELL_JS)
    for n in range(1, count + 1):
        page.keyboard.press("Shift+Enter")
        page.wait_for_function(f"() => ({ACTIVE_CELL_JS})() >= {first + n}", timeout=CELL_TIMEOUT)


@pytest.mark.parametrize("install", list(INSTALLS))
def test_readme_demo_command_connects_in_the_browser(
    context: BrowserContext, shots: Shots, tmp_path: Path, install: str
) -> None:
    prefix = demo_prefix(install)
    shipped = hashlib.sha256((shipped_notebooks() / FIRST_NOTEBOOK).read_bytes()).hexdigest()
    demo = start_demo(tmp_path, "--no-browser", "--port", "0", prefix=prefix)
    try:
        apps = requests.get(f"{demo.emulator_url}/_emulator/state", timeout=10).json()["apps"]
        client_id = apps[0]["client_id"]

        page = context.new_page()
        page.goto(demo.url, wait_until="domcontentloaded", timeout=KERNEL_TIMEOUT)
        page.wait_for_function("() => !!window.jupyterapp", timeout=KERNEL_TIMEOUT)
        page.locator("#jp-main-statusbar >> text=Idle").wait_for(timeout=KERNEL_TIMEOUT)
        page.wait_for_function(
            KERNEL_IDLE_JS.replace("PATH", json.dumps(FIRST_NOTEBOOK)), timeout=KERNEL_TIMEOUT
        )
        shots.take(page, "notebook-opened")

        # The reader runs the cells one by one, down to the form.
        form_at_cell = form_cell_index(tmp_path / "box-widget-demo" / FIRST_NOTEBOOK)
        page.locator(".jp-Notebook .jp-Cell").first.click()
        run_cells(page, form_at_cell + 1)
        expect(page.locator(".box-widget")).to_have_count(1, timeout=FORM_TIMEOUT)
        form = form_at(page)
        form.expect_state("new")
        expect(form.hook("name")).to_contain_text("demo")
        expect(form.hook("client-id")).to_have_value(client_id)  # pre-filled by the demo
        expect(form.hook("client-secret")).to_have_attribute(
            "placeholder", re.compile("set", re.I)
        )  # the kernel has it; the page does not
        expect(form.hook("redirect-uri")).to_have_value(
            f"http://127.0.0.1:{demo.port}/box-widget/oauth2/callback"
        )
        expect(form.hook("status")).to_contain_text("Ready: click Generate.")
        shots.take(form.root, "form-prefilled")
        check_install(demo, install, prefix, json.loads(run_in_kernel(page, INSTALL_PROBE)))

        # Generate, then grant access in the emulator's window.
        with context.expect_page() as opened:
            form.hook("generate").click()
        popup = opened.value
        form.expect_state("waiting")
        consent_in_popup(popup, shots=shots)
        form.expect_state("connected")
        expect(form.hook("status")).to_have_text(re.compile(r"Connected (to Box )?as Ada"))
        shots.take(form.root, "connected")

        form.hook("test").click()
        expect(form.hook("status")).to_contain_text("Test Connection: OK")

        # The rest of the notebook: the user, the root folder, q1.csv in pandas.
        cells = page.locator(".jp-Notebook .jp-Cell")
        cells.nth(form_at_cell + 1).click()
        run_cells(page, cells.count() - form_at_cell - 2)  # not the closing markdown cell
        outputs = page.locator(".jp-OutputArea-output")
        expect(
            outputs.filter(has_text="Connected to Box as Ada Lovelace (ada@example.com)")
        ).to_have_count(1, timeout=CELL_TIMEOUT)
        expect(outputs.filter(has_text="Welcome.txt")).to_have_count(1, timeout=CELL_TIMEOUT)
        totals = outputs.filter(has_text="Name: revenue")
        expect(totals).to_have_count(1, timeout=CELL_TIMEOUT)
        expect(totals).to_contain_text("North")
        expect(
            page.locator('.jp-OutputArea-output [data-mime-type="application/vnd.jupyter.stderr"]')
        ).to_have_count(0)  # no cell failed
        totals.scroll_into_view_if_needed()
        shots.take(page, "csv-in-pandas")
        # The demo answered JupyterLab's news question (it runs offline): no toast over the page.
        expect(page.get_by_text(NEWS_QUESTION)).to_have_count(0)

        started = demo.descendants()
        assert any("ipykernel_launcher" in command_line(p) for p in started)
        assert demo.stop(signal.SIGINT) == 0  # Ctrl-C
        assert "Stopped." in demo.rest()
        check_all_gone(demo, started)
        shipped_now = (shipped_notebooks() / FIRST_NOTEBOOK).read_bytes()
        assert hashlib.sha256(shipped_now).hexdigest() == shipped  # the copy was used
    except BaseException:
        print(demo.transcript())  # e.g. JupyterLab gone mid-test: its log says who stopped it
        raise
    finally:
        demo.kill()
