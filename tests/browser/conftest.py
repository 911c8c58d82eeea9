"""The browser harness's fixtures: a Box emulator, real Jupyter servers, and Chromium driven by
Playwright (the plain parts live in ``harness.py``, which ``bench/`` uses too).

Everything here is module-scoped and bounded in time, and every process is stopped in teardown
through its own handle: the emulator (in-process, a thread), each Jupyter server (a subprocess in
its own session; its kernels are shut down through its REST API first), Chromium (Playwright's
``Browser``) and Playwright's driver. The recipe follows ``BROWSER_TESTING.md``:

- these tests run in the same pytest process as the rest of the suite, so pytest-jupyter's
  autouse fixtures ``jp_asyncio_loop`` and ``jp_server_cleanup`` (which break Playwright's sync
  API) are replaced here by no-ops;
- Chromium is Debian's (never ``playwright install``); where it is missing the tests skip with
  a hint, except in CI (``CI=true``), where they fail;
- ``jupyter(app, base_url=..., with_client=..., extension=...)`` starts JupyterLab or Notebook 7
  on a free port with its own config/data/runtime folders, a token, the "news" toast off,
  widget state saved into notebooks, the emulator's endpoints and a private vault folder; it
  registers the Redirect URI with the emulator and checks that the server extension loaded.

Screenshots go to ``$BOX_WIDGET_ARTIFACTS`` when set, else a pytest temporary folder (printed).
The harness's names are importable from here too (``from .conftest import Form, ...``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from conftest import require  # tests/conftest.py (this folder is a package: no name clash)

from box_widget.emulator import BoxEmulator

from .harness import (
    ARGS,
    BOX_ENV,
    CALLBACK,
    CHROMIUM_CANDIDATES,
    CHROMIUM_HINT,
    FORM_TIMEOUT,
    KERNEL_IDLE_JS,
    KERNEL_TIMEOUT,
    RUN_ALL_JS,
    START_TIMEOUT,
    STATUS,
    STEP_TIMEOUT,
    STOP_TIMEOUT,
    WIDGET_STATE,
    WIDGET_VIEW,
    BrowserLog,
    Form,
    HarnessError,
    Jupyter,
    JupyterServer,
    PlaywrightError,
    Shots,
    browser_context,
    cell_count,
    chromium_path,
    consent_in_popup,
    environment,
    expect,
    form_at,
    free_port,
    generate,
    launch,
    notebook_json,
    open_notebook,
    run_in_kernel,
    screenshot_pages,
    type_into,
    wait_closed,
    wait_until,
)

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Playwright

__all__ = [
    "ARGS",
    "BOX_ENV",
    "CALLBACK",
    "CHROMIUM_CANDIDATES",
    "CHROMIUM_HINT",
    "FORM_TIMEOUT",
    "KERNEL_IDLE_JS",
    "KERNEL_TIMEOUT",
    "RUN_ALL_JS",
    "START_TIMEOUT",
    "STATUS",
    "STEP_TIMEOUT",
    "STOP_TIMEOUT",
    "WIDGET_STATE",
    "WIDGET_VIEW",
    "BrowserLog",
    "Form",
    "HarnessError",
    "Jupyter",
    "JupyterServer",
    "PlaywrightError",
    "Shots",
    "browser_context",
    "cell_count",
    "chromium_path",
    "consent_in_popup",
    "environment",
    "expect",
    "form_at",
    "free_port",
    "generate",
    "launch",
    "notebook_json",
    "open_notebook",
    "run_in_kernel",
    "screenshot_pages",
    "type_into",
    "wait_closed",
    "wait_until",
]


# --- pytest-jupyter's autouse fixtures, off for browser tests ------------------------------------


@pytest.fixture
def jp_asyncio_loop() -> None:
    """No event loop of pytest-jupyter's here: Playwright's sync API runs its own."""


@pytest.fixture
def jp_server_cleanup() -> None:
    """No in-process Jupyter server to clean up: these tests start real ones."""


# --- Chromium ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    path = chromium_path()
    require(path is not None, CHROMIUM_HINT)
    assert path is not None
    return path


@pytest.fixture(scope="module")
def playwright_api(chromium: str) -> Iterator[Playwright]:
    require(
        expect is not None,
        "Playwright (the Python package) is not installed: pip install -e '.[test]'",
    )
    from playwright.sync_api import sync_playwright

    expect.set_options(timeout=STEP_TIMEOUT)
    pw = sync_playwright().start()
    try:
        yield pw
    finally:
        pw.stop()


@pytest.fixture(scope="module")
def browser(playwright_api: Playwright, chromium: str) -> Iterator[Browser]:
    instance = launch(playwright_api, chromium)
    try:
        yield instance
    finally:
        instance.close()


@pytest.fixture(scope="module")
def blocking_browser(playwright_api: Playwright, chromium: str) -> Iterator[Browser]:
    """A Chromium with its popup blocker on, as a user's browser has it."""
    instance = launch(playwright_api, chromium, popup_blocker=True)
    try:
        yield instance
    finally:
        instance.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember each phase's outcome on the test item (for screenshots of a failure)."""
    report = yield
    setattr(item, f"box_report_{report.when}", report)
    return report


def call_failed(request: pytest.FixtureRequest) -> bool:
    """In a fixture's teardown: whether the test itself failed."""
    report = getattr(request.node, "box_report_call", None)
    return report is None or report.failed


@pytest.fixture
def context(
    browser: Browser, artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[BrowserContext]:
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    with browser_context(
        browser, on_failure=artifacts / f"FAILED-{name}", failed=lambda: call_failed(request)
    ) as ctx:
        yield ctx


# --- the Box emulator and the artifacts folder ---------------------------------------------------


@pytest.fixture(scope="module")
def emulator_server() -> Iterator[BoxEmulator]:
    """One emulator for the module: Jupyter, its kernels and Chromium reach it on loopback."""
    with BoxEmulator() as emu:
        yield emu


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> Path:
    configured = os.environ.get("BOX_WIDGET_ARTIFACTS")
    folder = Path(configured) if configured else tmp_path_factory.mktemp("browser-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def shots(artifacts: Path, request: pytest.FixtureRequest) -> Iterator[Shots]:
    prefix = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")
    taken = Shots(artifacts, prefix)
    yield taken
    if taken.taken:
        print("screenshots:\n  " + "\n  ".join(map(str, taken.taken)))


@pytest.fixture(scope="module")
def jupyter(
    tmp_path_factory: pytest.TempPathFactory, emulator_server: BoxEmulator
) -> Iterator[Jupyter]:
    servers = Jupyter(tmp_path_factory.mktemp, emulator_server, require=require)
    try:
        yield servers
    finally:
        servers.stop_all()
