"""What a hub user does in the browser before the form: log in to the hub, then open a notebook
in their JupyterLab and run it until the form shows (``test_hub``, ``test_hub_form``)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from support.hub import PASSWORD

from .conftest import (
    FORM_TIMEOUT,
    KERNEL_IDLE_JS,
    KERNEL_TIMEOUT,
    RUN_ALL_JS,
    Form,
    expect,
    form_at,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page


def log_in(page: Page, login_url: str, user: str, landing: re.Pattern[str]) -> None:
    """The hub's login form at ``login_url``, as ``user``; waits for an address like
    ``landing``."""
    page.goto(login_url, wait_until="domcontentloaded")
    page.fill("#username_input", user)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_url(landing, timeout=KERNEL_TIMEOUT)


def open_form(page: Page, lab_url: str, notebook: str) -> Form:
    """Open ``notebook`` in the JupyterLab at ``lab_url`` (ending in ``/``), run its cells,
    wait for the one form."""
    page.goto(f"{lab_url}lab/tree/{notebook}", wait_until="domcontentloaded")
    page.wait_for_function("() => !!window.jupyterapp", timeout=KERNEL_TIMEOUT)
    page.locator("#jp-main-statusbar >> text=Idle").wait_for(timeout=KERNEL_TIMEOUT)
    page.wait_for_function(
        KERNEL_IDLE_JS.replace("PATH", json.dumps(notebook)), timeout=KERNEL_TIMEOUT
    )
    page.evaluate(RUN_ALL_JS)
    expect(page.locator(".box-widget")).to_have_count(1, timeout=FORM_TIMEOUT)
    return form_at(page)
