"""Driving real Jupyter servers and Chromium: the plain parts of the browser harness.

Shared by the browser tests' fixtures (``conftest.py``) and the benchmarks (``bench/``), so it
imports no pytest: a failure raises ``HarnessError`` (an ``AssertionError``: a failed test under
pytest). Everything is bounded in time, and every process is stopped through its own handle:

- ``launch`` starts Debian's Chromium (never ``playwright install``) headless and offline;
- ``Jupyter(mktemp, emulator)(app, base_url=..., with_client=..., extension=...)`` starts
  JupyterLab, Notebook 7 or a bare Jupyter server on a free port with its own
  config/data/runtime folders, a token, the "news" toast off, widget state saved into notebooks,
  the emulator's endpoints and a private vault folder; it registers the Redirect URI with the
  emulator and checks that the server extension loaded;
- ``open_notebook``, ``Form``, ``generate`` and ``consent_in_popup`` drive the connection form.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import requests

from box_widget.cli.demo_lab import free_port  # a free loopback port, as the demo picks one
from box_widget.emulator import BoxEmulator
from box_widget.endpoints import ENV_VARS
from box_widget.redact import redact_urls, without_query
from box_widget.vault import Vault

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip (or, in CI, fail) with a hint
    PlaywrightError = expect = None  # type: ignore[assignment,misc]

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        Locator,
        Page,
        Playwright,
    )

    from box_widget.emulator.content import User
    from box_widget.emulator.oauth_store import App


class HarnessError(AssertionError):
    """A server or page that did not come up or did not get where it should in time."""


def missing(why: str) -> None:
    """What ``Jupyter`` does by default when a package is missing (the fixtures skip instead)."""
    raise HarnessError(why)


# --- constants ---------------------------------------------------------------------------------

CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium")
CHROMIUM_HINT = (
    "Chromium not found: on a laptop, install it (Debian/Ubuntu: `sudo apt-get "
    "install chromium`) or set BOX_WIDGET_CHROMIUM to a Chromium binary. Never run "
    "`playwright install`; the tests use the system's Chromium."
)
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CALLBACK = "box-widget/oauth2/callback"
STATUS = "box-widget/api/status"
BOX_ENV = (
    "BOX_CLIENT_ID",
    "BOX_CLIENT_SECRET",
    "BOX_REDIRECT_URI",
    "BOX_WIDGET_KEY",
    "BOX_WIDGET_HOME",
    "BOX_WIDGET_KEYRING",
    *ENV_VARS.values(),
)

START_TIMEOUT = 45.0  # a Jupyter server answering /api/status (2.5 to 3.5 s seen)
STOP_TIMEOUT = 15.0  # a Jupyter server exiting after SIGTERM
KERNEL_TIMEOUT = 60_000  # ms: page loaded and kernel idle (JupyterLab's JS, a kernel start)
FORM_TIMEOUT = 30_000  # ms: cells run and the form rendered
STEP_TIMEOUT = 15_000  # ms: every other wait (a state change, a popup, a status line)

#: The Python module that runs each kind of server (``python -m MODULE``).
MODULES = {"lab": "jupyterlab", "notebook": "notebook", "server": "jupyter_server"}

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def chromium_path() -> str | None:
    """Debian's Chromium (or ``$BOX_WIDGET_CHROMIUM``); None where there is none."""
    for candidate in (
        os.environ.get("BOX_WIDGET_CHROMIUM"),
        *CHROMIUM_CANDIDATES,
        shutil.which("chromium"),
    ):
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


@contextlib.contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (or, with None, unset) environment variables for the duration of the block."""

    def apply(settings: dict[str, str | None]) -> None:
        for name, value in settings.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    saved = {name: os.environ.get(name) for name in values}
    try:
        apply(values)
        yield
    finally:
        apply(saved)


def launch(pw: Playwright, executable: str, *, popup_blocker: bool = False) -> Browser:
    """Chromium, headless and offline; Playwright turns the popup blocker off unless asked."""
    extra: dict[str, Any] = (
        {"ignore_default_args": ["--disable-popup-blocking"]} if popup_blocker else {}
    )
    return pw.chromium.launch(executable_path=executable, args=ARGS, timeout=30_000, **extra)


@dataclass
class BrowserLog:
    """Console errors and uncaught exceptions of every page of a context (printed on failure)."""

    lines: list[str] = field(default_factory=list)

    def attach(self, page: Page) -> None:
        page.on(
            "console",
            lambda msg: (
                self.lines.append(redact_urls(f"[{msg.type}] {page.url}: {msg.text}"))
                if msg.type in {"error", "warning"}
                else None
            ),
        )
        page.on(
            "pageerror",
            lambda exc: self.lines.append(redact_urls(f"[pageerror] {page.url}: {exc}")),
        )
        page.on("dialog", lambda dialog: dialog.accept())  # e.g. a confirm() before Disconnect


def screenshot_pages(context: BrowserContext, stem: Path) -> None:
    """Every open page of a context, as ``<stem>-<n>.png`` (after a failure)."""
    for n, page in enumerate(context.pages):
        with contextlib.suppress(PlaywrightError):
            path = stem.with_name(f"{stem.name}-{n}.png")
            page.screenshot(path=str(path), timeout=5_000)
            print(f"page {without_query(page.url)} at failure: {path}")


@contextlib.contextmanager
def browser_context(
    instance: Browser, *, on_failure: Path | None = None, failed: Callable[[], bool] = lambda: False
) -> Iterator[BrowserContext]:
    """A fresh context (cookies, clipboard permission), closed afterwards; its console log is
    printed, and on an exception or when ``failed()`` every open page is screenshot to
    ``on_failure-<n>.png``."""
    log = BrowserLog()
    context = instance.new_context(
        viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    context.set_default_timeout(STEP_TIMEOUT)
    context.on("page", log.attach)
    try:
        yield context
    except BaseException:
        if on_failure is not None:
            screenshot_pages(context, on_failure)
        raise
    else:
        if on_failure is not None and failed():
            screenshot_pages(context, on_failure)
    finally:
        context.close()
        if log.lines:
            print("browser console:\n  " + "\n  ".join(log.lines[-60:]))


@dataclass
class Shots:
    """Numbered screenshots of one test: ``<folder>/<test>-<n>-<label>.png``."""

    folder: Path
    prefix: str
    taken: list[Path] = field(default_factory=list)

    def take(self, target: Page | Locator, label: str) -> Path:
        path = self.folder / f"{self.prefix}-{len(self.taken) + 1:02d}-{label}.png"
        target.screenshot(path=str(path), timeout=STEP_TIMEOUT)
        self.taken.append(path)
        return path


# --- Jupyter servers -----------------------------------------------------------------------------


def notebook_json(sources: list[str]) -> str:
    """A notebook (nbformat 4.5) of code cells, written directly (nbformat costs 2 s to import)."""
    cells = [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": f"cell-{i}",
            "metadata": {},
            "outputs": [],
            "source": source,
        }
        for i, source in enumerate(sources)
    ]
    return json.dumps(
        {
            "cells": cells,
            "metadata": {
                "kernelspec": {
                    "display_name": "Python 3 (ipykernel)",
                    "language": "python",
                    "name": "python3",
                },
                "language_info": {"name": "python"},
            },
            "nbformat": 4,
            "nbformat_minor": 5,
        },
        indent=1,
    )


@dataclass
class JupyterServer:
    """One running ``jupyter lab`` / ``jupyter notebook``, its folders and its Box settings."""

    app: str  # "lab", "notebook" or "server" (no front end)
    port: int
    token: str
    base_url: str  # "/" or "/user/alice/"
    root: Path  # the server's root_dir: notebooks go here
    home: Path  # BOX_WIDGET_HOME of the server and its kernels
    workspaces: Path  # where JupyterLab saves its layout (emptied between tests)
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes]
    box_app: App  # the emulator app whose Redirect URI fits this server
    with_client: bool  # whether BOX_CLIENT_ID/BOX_CLIENT_SECRET are in the environment
    extension: bool  # whether box-widget's server extension is enabled

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.base_url}"

    @property
    def callback(self) -> str:
        """The Redirect URL the form must compute: origin + base URL + the callback path."""
        return self.url + CALLBACK

    def api(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(
            method,
            self.url + path,
            timeout=15,
            headers={"Authorization": f"token {self.token}"},
            **kwargs,
        )

    def notebook_url(self, path: str) -> str:
        view = "lab/tree" if self.app == "lab" else "notebooks"
        return f"{self.url}{view}/{quote(path)}?token={self.token}"

    def write_notebook(self, path: str, sources: list[str]) -> Path:
        target = self.root / path
        target.write_text(notebook_json(sources), encoding="utf-8")
        return target

    def vault(self) -> Vault:
        """The vault the server and its kernels share, opened as they open it."""
        with environment(BOX_WIDGET_KEYRING="0", BOX_WIDGET_KEY=None):
            return Vault(self.home)

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    # --- lifecycle --------------------------------------------------------------------------------
    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise HarnessError(
                    f"jupyter {self.app} exited with {self.proc.returncode}:\n{self.log_tail()}"
                )
            with contextlib.suppress(requests.RequestException):
                if self.api("GET", "api/status").status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise HarnessError(
                    f"jupyter {self.app} did not answer /api/status within "
                    f"{START_TIMEOUT:g} s:\n{self.log_tail()}"
                )
            time.sleep(0.2)
        status = self.api("GET", STATUS)
        if self.extension and status.status_code != 200:
            raise HarnessError(
                f"box-widget's server extension did not load (GET {STATUS}: "
                f"{status.status_code}); is box-widget installed with its "
                f"jupyter_server_config.d file?\n{self.log_tail()}"
            )
        if not self.extension and status.status_code != 404:
            raise HarnessError(
                f"box-widget's server extension should be off here, but GET "
                f"{STATUS} answered {status.status_code}"
            )

    def shutdown_kernels(self) -> None:
        """Shut down every session and kernel through the REST API (each waits for its exit)."""
        if self.proc.poll() is not None:
            return
        with contextlib.suppress(requests.RequestException):
            for session in self.api("GET", "api/sessions").json():
                self.api("DELETE", f"api/sessions/{session['id']}")
            for kernel in self.api("GET", "api/kernels").json():
                self.api("DELETE", f"api/kernels/{kernel['id']}")

    def reset(self) -> None:
        """No kernels, no saved or pending connections, no saved workspace (JupyterLab would
        reopen the last test's notebooks): each test starts from a new form."""
        self.shutdown_kernels()
        for folder in (self.home / "connections", self.home / "pending", self.workspaces):
            for path in folder.glob("*"):
                path.unlink(missing_ok=True)

    def stop(self) -> None:
        self.shutdown_kernels()
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                # The server's own process group (start_new_session): it and anything it left.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


class Jupyter:
    """``jupyter(app, ...)``: a started server per variant, reused within the module."""

    def __init__(
        self,
        mktemp: Callable[[str], Path],
        emu: BoxEmulator,
        *,
        require: Callable[[bool, str], None] | None = None,
    ) -> None:
        """``mktemp(name)``: a new empty folder; ``require(condition, why)``: what to do when a
        package is missing (default: raise ``HarnessError``)."""
        self._mktemp = mktemp
        self._require = require or (lambda ok, why: None if ok else missing(why))
        self._emu = emu
        self._servers: dict[tuple[Any, ...], JupyterServer] = {}

    def __call__(
        self,
        app: str = "lab",
        *,
        base_url: str = "/",
        with_client: bool = False,
        extension: bool = True,
        redirect_env: bool = False,
        admin_app: bool = False,
    ) -> JupyterServer:
        """A running server (``app``: ``lab``, ``notebook`` or ``server``), reset for a new test.

        ``with_client`` puts the fitting app's BOX_CLIENT_ID/BOX_CLIENT_SECRET into its
        environment (else the form starts empty); ``extension=False`` disables box-widget's
        server extension; ``redirect_env`` sets BOX_REDIRECT_URI (for the headless path);
        ``admin_app`` configures the app in the server's Jupyter config only
        (``c.BoxWidgetApp.client_id``/``client_secret``), as a JupyterHub administrator would:
        kernels get neither.
        """
        key = (app, base_url, with_client, extension, redirect_env, admin_app)
        server = self._servers.get(key)
        if server is None or server.proc.poll() is not None:
            server = self._start(app, base_url, with_client, extension, redirect_env, admin_app)
            self._servers[key] = server
        server.reset()
        return server

    def _start(
        self,
        app: str,
        base_url: str,
        with_client: bool,
        extension: bool,
        redirect_env: bool,
        admin_app: bool,
    ) -> JupyterServer:
        module = MODULES[app]
        self._require(
            importlib.util.find_spec(module) is not None,
            f"{module} is not installed (the browser tests need JupyterLab 4 and "
            "Notebook 7): pip install 'jupyterlab>=4' 'notebook>=7'",
        )
        tmp = self._mktemp(f"jupyter-{app}")
        cfg, data, run, root, workspaces, home = (
            tmp / d for d in ("cfg", "data", "run", "root", "workspaces", "box_widget")
        )
        for folder in (cfg, data, run, root, workspaces):
            folder.mkdir()
        settings = cfg / "lab" / "user-settings"
        notification = settings / "@jupyterlab" / "apputils-extension"
        notification.mkdir(parents=True)
        (notification / "notification.jupyterlab-settings").write_text(
            json.dumps({"fetchNews": "false"})
        )
        widgets = settings / "@jupyter-widgets" / "jupyterlab-manager"
        widgets.mkdir(parents=True)  # save widget state into notebooks: what a user may share
        (widgets / "plugin.jupyterlab-settings").write_text(json.dumps({"saveState": True}))
        tracker = settings / "@jupyterlab" / "notebook-extension"
        tracker.mkdir(parents=True)  # never the "Select Kernel" dialog: the notebook names one
        (tracker / "tracker.jupyterlab-settings").write_text(
            json.dumps({"autoStartDefaultKernel": True})
        )
        port = free_port()
        token = secrets.token_hex(16)
        callback = f"http://127.0.0.1:{port}{base_url}{CALLBACK}"
        # The demo app accepts any loopback port for /box-widget/oauth2/callback; another base
        # URL needs its own registration, as in the Box Developer Console.
        box_app = (
            self._emu.app
            if base_url == "/"
            else self._emu.add_app(f"box-widget at {base_url}", [callback])
        )
        config: dict[str, Any] = {}
        if not extension:  # the user config folder outranks the environment's, which enables it
            config["ServerApp"] = {"jpserver_extensions": {"box_widget": False}}
        if admin_app:
            config["BoxWidgetApp"] = {
                "client_id": box_app.client_id,
                "client_secret": box_app.client_secret,
            }
        if config:
            (cfg / "jupyter_server_config.json").write_text(json.dumps(config))

        env = {k: v for k, v in os.environ.items() if k not in BOX_ENV}
        env.update(self._emu.endpoints.to_env())
        env.update(
            JUPYTER_CONFIG_DIR=str(cfg),
            JUPYTER_DATA_DIR=str(data),
            JUPYTER_RUNTIME_DIR=str(run),
            JUPYTER_PLATFORM_DIRS="1",
            BOX_WIDGET_HOME=str(home),
            BOX_WIDGET_KEYRING="0",
            PYTHONUNBUFFERED="1",
        )
        if with_client:
            env.update(BOX_CLIENT_ID=box_app.client_id, BOX_CLIENT_SECRET=box_app.client_secret)
        if redirect_env:
            env["BOX_REDIRECT_URI"] = callback

        cmd = [
            sys.executable,
            "-m",
            module,
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={root}",
            f"--ServerApp.base_url={base_url}",
        ]
        if app != "server":
            app_class = "LabApp" if app == "lab" else "JupyterNotebookApp"
            cmd += [
                f"--{app_class}.workspaces_dir={workspaces}",
                f"--{app_class}.expose_app_in_browser=True",
            ]
        log = tmp / "jupyter.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                cmd,
                env=env,
                cwd=root,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        server = JupyterServer(
            app=app,
            port=port,
            token=token,
            base_url=base_url,
            root=root,
            home=home,
            workspaces=workspaces,
            env=env,
            log=log,
            proc=proc,
            box_app=box_app,
            with_client=with_client,
            extension=extension,
        )
        self._servers[("starting", port)] = server  # stopped in teardown even if it never answers
        server.wait_ready()
        del self._servers[("starting", port)]
        return server

    def stop_all(self) -> None:
        errors = []
        for server in self._servers.values():
            try:
                server.stop()
            except Exception as exc:  # stop the others anyway
                errors.append(f"{server.app} on {server.port}: {exc!r}")
        self._servers.clear()
        assert not errors, "could not stop: " + "; ".join(errors)


# --- driving notebooks and forms -----------------------------------------------------------------

KERNEL_IDLE_JS = """() => {
  const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
  const context = widget && widget.context && widget.context.path === PATH
    && widget.sessionContext;
  const kernel = context && context.session && context.session.kernel;
  return !!(kernel && context.isReady && kernel.status === "idle");
}"""

RUN_ALL_JS = """() => {
  window.__boxRunAll = "running";
  window.jupyterapp.commands.execute("notebook:run-all-cells")
    .then(() => { window.__boxRunAll = "done"; },
          (e) => { window.__boxRunAll = "failed: " + e; });
}"""


RUN_IN_KERNEL_JS = """async (code) => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
  const future = kernel.requestExecute({ code, silent: false, store_history: false });
  let out = "";
  future.onIOPub = (msg) => {
    if (msg.header.msg_type === "stream" && msg.content.name === "stdout") out += msg.content.text;
  };
  const reply = await future.done;
  if (reply.content.status !== "ok") {
    throw new Error(`${reply.content.ename}: ${reply.content.evalue}`);
  }
  return out;
}"""


def run_in_kernel(page: Page, code: str) -> str:
    """Run ``code`` in the kernel of the page's current notebook, outside its cells (nothing is
    added to the notebook); what it printed."""
    return str(page.evaluate(RUN_IN_KERNEL_JS, code))


def open_notebook(
    context: BrowserContext, server: JupyterServer, path: str, sources: list[str], *, forms: int = 1
) -> Page:
    """Write a notebook, open it, wait for an idle kernel, run all cells, wait for the forms."""
    server.write_notebook(path, sources)
    page = context.new_page()
    page.goto(server.notebook_url(path), wait_until="domcontentloaded", timeout=KERNEL_TIMEOUT)
    page.wait_for_function("() => !!window.jupyterapp", timeout=KERNEL_TIMEOUT)
    if server.app == "lab":
        page.locator("#jp-main-statusbar >> text=Idle").wait_for(timeout=KERNEL_TIMEOUT)
    # Notebook 7 has no status bar; in both, the current widget must be this notebook, idle.
    page.wait_for_function(KERNEL_IDLE_JS.replace("PATH", json.dumps(path)), timeout=KERNEL_TIMEOUT)
    page.evaluate(RUN_ALL_JS)
    expect(page.locator(".box-widget")).to_have_count(forms, timeout=FORM_TIMEOUT)
    return page


@dataclass
class Form:
    """One connection form (``.box-widget``) and its ``data-testid`` hooks."""

    root: Locator

    @property
    def page(self) -> Page:
        return self.root.page

    def hook(self, testid: str) -> Locator:
        return self.root.locator(f"[data-testid={testid}]")

    def expect_state(self, state: str, timeout: float = STEP_TIMEOUT) -> None:
        expect(self.root).to_have_attribute("data-state", state, timeout=timeout)

    def enter_credentials(self, client_id: str, client_secret: str, *, typed: bool = False) -> None:
        """Enter the Client ID (then leave the field) and the secret (then Enter), as a user
        does; ``typed``: key by key, each a keydown the notebook could take for a shortcut."""
        field_id, secret = self.hook("client-id"), self.hook("client-secret")
        type_into(field_id, client_id, typed=typed)
        field_id.press("Tab")
        type_into(secret, client_secret, typed=typed)
        secret.press("Enter")
        expect(secret).to_have_value("")  # sent to the kernel, then cleared


def type_into(field_: Locator, text: str, *, typed: bool) -> None:
    """Replace a field's text: at once (``fill``) or key by key (``press_sequentially``)."""
    if typed:
        field_.fill("")
        field_.press_sequentially(text)
    else:
        field_.fill(text)


def cell_count(page: Page) -> int:
    """How many cells the page's current notebook has."""
    return int(page.evaluate("() => window.jupyterapp.shell.currentWidget.content.widgets.length"))


def form_at(page: Page, index: int = 0) -> Form:
    return Form(page.locator(".box-widget").nth(index))


def consent_in_popup(
    popup: Page,
    *,
    user: User | None = None,
    deny: bool = False,
    shots: Shots | None = None,
    callback_page: bool = True,
) -> None:
    """On the emulator's consent page: pick the user, then Grant (or Deny)."""
    popup.wait_for_load_state("domcontentloaded")
    expect(popup.locator("#grant")).to_be_visible()
    if user is not None:
        popup.select_option("select#user", value=user.id)
    if shots:
        shots.take(popup, "consent")
    popup.click("#deny" if deny else "#grant")
    if shots and callback_page:  # the callback page closes itself 1.5 s after it loads
        with contextlib.suppress(PlaywrightError):
            popup.locator("#outcome").wait_for(timeout=5_000)
            shots.take(popup, "callback-page")


def wait_closed(window: Page, opener: Page, timeout: float = STEP_TIMEOUT) -> None:
    """Wait until ``window`` has closed (at once if it has), letting ``opener`` run meanwhile
    (Playwright's sync API hears a page close only while it is called)."""
    deadline = time.monotonic() + timeout / 1000
    while not window.is_closed():
        assert time.monotonic() < deadline, f"{window.url} did not close"
        opener.wait_for_timeout(100)


def generate(
    form: Form,
    *,
    user: User | None = None,
    deny: bool = False,
    shots: Shots | None = None,
    keyboard: bool = False,
) -> Page:
    """Click Generate (``keyboard``: focus it and press Enter), catch the window it opens, check
    the form waits, and answer Box there."""
    with form.page.context.expect_page(timeout=STEP_TIMEOUT) as opened:
        if keyboard:
            form.hook("generate").focus()
            form.page.keyboard.press("Enter")
        else:
            form.hook("generate").click()
    popup = opened.value
    form.expect_state("waiting")
    if shots:
        shots.take(form.root, "waiting")
    consent_in_popup(popup, user=user, deny=deny, shots=shots)
    return popup


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise HarnessError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(0.1)
