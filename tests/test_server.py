"""The Jupyter server extension (pytest-jupyter) against the emulator over real HTTP.

The OAuth callback route finishes a sign-in that a kernel (here: another Python process, or the
test process) left pending in the vault: success, every way it can fail (unauthenticated,
unknown, replayed or expired state, denied consent, wrong secret, Box down), the
admin-provisioned secret, no secret in any page, log line or status answer, every verb behind
a Jupyter login, an event loop that stays free during the exchange, and the latency of the
whole callback on loopback. The server runs under ``jp_base_url`` (``/a%40b/``), so base-URL
handling is checked on the way; each test has its own vault folder and no OS keyring.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlencode, urlsplit

import pytest
from jupyter_server.utils import JupyterServerAuthWarning, url_path_join
from tornado import web
from traitlets.config import Config

from box_widget import BoxConnection, __version__
from box_widget import vault as vault_module
from box_widget.emulator import BoxEmulator
from box_widget.emulator.oauth_store import App
from box_widget.oauth import authorization_url, new_state
from box_widget.protocol import GRANTS_PATH, grant_token_path
from box_widget.server.grant_handlers import GrantTokenHandler
from box_widget.vault import Vault

CALLBACK = "box-widget/oauth2/callback"
STATUS = "box-widget/api/status"
CONNECTIONS = "box-widget/api/connections"
NAME = "work"
ADA = {"name": "Ada Lovelace", "login": "ada@example.com"}
RESULT = re.compile(r"<script type=application/json id=box-widget-result>(.*?)</script>", re.S)
OUTCOME = re.compile(r"<h1 id=outcome class=(\w+)>(.*?)</h1><p id=detail>(.*?)</p>", re.S)
TOKEN_KEYS = {"access_token", "refresh_token", "token", "client_secret", "code", "state"}


#: No real keyring, no credentials or endpoints from the environment (``home`` is the vault
#: folder the server and the 'kernels' share; both fixtures are in conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_env")


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def provisioned() -> str | None:
    """How the server gets an admin-provisioned Box app: None, "config" (traitlets) or "env"
    (BOX_CLIENT_ID and BOX_CLIENT_SECRET); parametrize it."""
    return None


@pytest.fixture
def allow_unauthenticated() -> bool:
    """``ServerApp.allow_unauthenticated_access`` (parametrize it; Jupyter's default is True)."""
    return False


@pytest.fixture
def redirect_uri(jp_http_port: int, jp_base_url: str) -> str:
    """The callback address as the browser side computes it: origin + base URL + route."""
    return f"http://127.0.0.1:{jp_http_port}{url_path_join(jp_base_url, CALLBACK)}"


@pytest.fixture
def box_app(emulator: BoxEmulator, redirect_uri: str) -> App:
    """A Box app whose registered redirect URI is this server's callback."""
    return emulator.add_app("Jupyter Notebook", [redirect_uri])


@pytest.fixture
def jp_server_config(
    home: Path,
    emulator: BoxEmulator,
    box_app: App,
    provisioned: str | None,
    allow_unauthenticated: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> Config:
    """box_widget enabled, a Jupyter login required everywhere, the test's vault, DEBUG logs,
    the emulator as Box (the server's Box addresses)."""
    box: dict[str, Any] = {
        "home": str(home),
        "log_level": "DEBUG",
        **emulator.endpoints.to_dict(),
    }
    if provisioned == "config":
        box.update(client_id=box_app.client_id, client_secret=box_app.client_secret)
    elif provisioned == "env":
        monkeypatch.setenv("BOX_CLIENT_ID", box_app.client_id)
        monkeypatch.setenv("BOX_CLIENT_SECRET", box_app.client_secret)
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"box_widget": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": allow_unauthenticated,
            },
            "BoxWidgetApp": box,
        }
    )


class LogTap(logging.Handler):
    """Every log record of the process at DEBUG, except while the test plays the browser."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.paused = False

    def emit(self, record: logging.LogRecord) -> None:
        if not self.paused:
            self.lines.append(f"{record.name} {record.threadName} {self.format(record)}")

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture
def log_tap(monkeypatch: pytest.MonkeyPatch) -> Iterator[LogTap]:
    """A LogTap that sees every record any logger emits (the extension's own logger does not
    propagate, and Jupyter reconfigures its handlers); request it before the server starts."""
    tap = LogTap()
    tap.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    call_handlers = logging.Logger.callHandlers

    def both(logger: logging.Logger, record: logging.LogRecord) -> None:
        tap.handle(record)
        call_handlers(logger, record)

    monkeypatch.setattr(logging.Logger, "callHandlers", both)
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    yield tap
    root.setLevel(level)


@dataclass
class Page:
    """A callback answer as the browser gets it."""

    status: int
    headers: dict[str, str]
    body: str

    @property
    def outcome(self) -> tuple[str, str, str]:
        """(css class, title, detail) of the page."""
        match = OUTCOME.search(self.body)
        assert match, f"no outcome on the page: {self.body[:300]}"
        return match[1], unescape(match[2]), unescape(match[3])

    @property
    def text(self) -> str:
        """What the page says, in words."""
        _, title, detail = self.outcome
        return f"{title} {detail}"

    @property
    def result(self) -> dict[str, Any]:
        """The message the page posts on the BroadcastChannel."""
        match = RESULT.search(self.body)
        assert match, "no box-widget-result script on the page"
        data: dict[str, Any] = json.loads(match[1])
        return data

    @property
    def raw(self) -> str:
        return json.dumps(self.headers) + self.body


class Box:
    """The test's hands: a kernel that starts sign-ins, a browser, and the server's routes."""

    def __init__(
        self,
        emu: BoxEmulator,
        app: App,
        home: Path,
        redirect_uri: str,
        fetch: Any,
        client: Any,
        base_url: str,
    ) -> None:
        self.emu, self.app, self.home, self.redirect_uri = emu, app, home, redirect_uri
        self.fetch, self.client, self.base_url = fetch, client, base_url
        self.tap: LogTap | None = None
        self.locations: list[str] = []

    def connection(self, name: str = NAME, **overrides: Any) -> BoxConnection:
        options: dict[str, Any] = {
            "client_id": self.app.client_id,
            "client_secret": self.app.client_secret,
            "redirect_uri": self.redirect_uri,
            "endpoints": self.emu.endpoints,
            "home": self.home,
            **overrides,
        }
        return BoxConnection(name, **options)

    def start(self, name: str = NAME, **overrides: Any) -> str:
        """A kernel clicks Generate: a pending authorization; the authorize URL."""
        return self.connection(name, **overrides).authorization_url()

    def consent(self, url: str, *, grant: bool = True) -> str:
        """The browser at Box: where Box redirects it (off the log: that is Box's side)."""
        with self.browser():
            location = self.emu.authorize(url, grant=grant)
        self.locations.append(location)
        return location

    @contextmanager
    def browser(self) -> Iterator[None]:
        if self.tap is not None:
            self.tap.paused = True
        try:
            yield
        finally:
            if self.tap is not None:
                self.tap.paused = False

    async def callback(self, location: str, *, auth: bool = True) -> Page:
        """The browser follows Box's redirect to the Jupyter server."""
        parts = urlsplit(location)
        assert parts.path == url_path_join(self.base_url, CALLBACK)
        response = await self.get(CALLBACK, dict(parse_qsl(parts.query)), auth=auth)
        return Page(response.code, dict(response.headers), response.body.decode())

    async def flow(self, name: str = NAME, **overrides: Any) -> Page:
        """Generate, grant as Ada, come back: the callback page."""
        return await self.callback(self.consent(self.start(name, **overrides)))

    async def status(self, *, auth: bool = True) -> tuple[int, str]:
        response = await self.get(STATUS, auth=auth)
        return response.code, response.body.decode()

    async def get(
        self, path: str, params: dict[str, str] | None = None, *, auth: bool = True
    ) -> Any:
        options: dict[str, Any] = {"follow_redirects": False, "raise_error": False}
        if auth:
            return await self.fetch(*path.split("/"), params=params, **options)
        url = url_path_join(self.base_url, path) + ("?" + urlencode(params) if params else "")
        return await self.client.fetch(url, **options)

    @property
    def vault(self) -> Vault:
        return Vault(self.home)


@pytest.fixture
def box(
    emulator: BoxEmulator,
    box_app: App,
    home: Path,
    redirect_uri: str,
    jp_fetch: Any,
    http_server_client: Any,
    jp_base_url: str,
) -> Box:
    """A running server with box_widget, and the test's hands (see ``Box``)."""
    return Box(emulator, box_app, home, redirect_uri, jp_fetch, http_server_client, jp_base_url)


def run_child(script: str, *args: str) -> str:
    """Run ``script`` in a new Python process (a kernel); its standard output."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def assert_failed(page: Page, status: int, error: str, *phrases: str) -> None:
    """A failure page: the status, the notebook's message, and the words a user reads."""
    assert page.status == status, page.body
    assert page.outcome[0] == "error"
    result = page.result
    assert result["ok"] is False
    assert result["error"] == error
    assert result["user"] is None
    assert result["message"] == page.text
    for phrase in phrases:
        assert phrase in page.text, f"{phrase!r} not in {page.text!r}"


# --- 1. the happy path, across processes ----------------------------------------------------------

KERNEL_GENERATE = """
import json, sys
from box_widget import BoxConnection, BoxEndpoints
a = json.loads(sys.argv[1])
conn = BoxConnection(a["name"], client_id=a["client_id"], client_secret=a["client_secret"],
                     redirect_uri=a["redirect_uri"], endpoints=BoxEndpoints(**a["endpoints"]),
                     home=a["home"])
print(conn.authorization_url())
"""
KERNEL_TEST = """
import json, sys
from box_widget import BoxConnection
print(json.dumps(BoxConnection(sys.argv[1], home=sys.argv[2]).test_connection()))
"""


async def test_callback_completes_a_sign_in_started_by_another_process(box: Box) -> None:
    url = run_child(
        KERNEL_GENERATE,
        json.dumps(
            {
                "name": NAME,
                "client_id": box.app.client_id,
                "client_secret": box.app.client_secret,
                "redirect_uri": box.redirect_uri,
                "endpoints": box.emu.endpoints.to_dict(),
                "home": str(box.home),
            }
        ),
    ).strip()
    page = await box.callback(box.consent(url))

    assert page.status == 200, page.body
    assert page.text == (
        "Connected to Box as Ada Lovelace (ada@example.com). You can close this window."
    )
    assert page.outcome[0] == "ok"
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    result = page.result
    assert result["type"] == "box-widget:oauth"
    assert result["channel"] == "box-widget"
    assert result["name"] == NAME
    assert result["ok"] is True
    assert result["error"] is None
    assert result["user"] == {"id": box.emu.user.id, **ADA}
    assert set(result) == {"type", "channel", "name", "ok", "user", "error", "message"}
    token = box.vault.load(NAME)["token"]  # type: ignore[index]
    sent = query(box.locations[-1])
    for secret in (
        token["access_token"],
        token["refresh_token"],
        box.app.client_secret,
        sent["code"],
        sent["state"],
    ):
        assert secret not in page.body

    user = json.loads(run_child(KERNEL_TEST, NAME, str(box.home)))
    assert {k: user[k] for k in ("name", "login")} == ADA


# --- 2. no Jupyter login ------------------------------------------------------------------------


async def test_unauthenticated_callback_goes_to_login_and_consumes_nothing(
    box: Box, jp_base_url: str
) -> None:
    location = box.consent(box.start())
    code, state = query(location)["code"], query(location)["state"]

    page = await box.callback(location, auth=False)
    assert page.status == 302
    login = urlsplit(page.headers["Location"])
    assert login.path == url_path_join(jp_base_url, "login")
    assert parse_qs(login.query)["next"] == [url_path_join(jp_base_url, CALLBACK)]
    assert code not in page.headers["Location"]
    assert state not in page.headers["Location"]
    assert box.vault.names() == []
    assert box.emu.counters()["grants"]["authorization_code"] == 0

    page = await box.callback(location)  # after logging in: the same state still works
    assert page.status == 200, page.body
    assert box.vault.load(NAME)["user"]["login"] == ADA["login"]  # type: ignore[index]


# --- 3. unknown, replayed, expired state --------------------------------------------------------


class Shifted:
    """The ``time`` module, ``by`` seconds off (for the vault: a pending made in the past)."""

    def __init__(self, by: float) -> None:
        self.by = by

    def time(self) -> float:
        return time.time() + self.by

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


@pytest.mark.parametrize("case", ["unknown", "replayed", "expired", "no state"])
async def test_a_state_that_is_not_pending_gives_a_400_page_and_stores_nothing(
    box: Box, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    before = None
    if case == "unknown":
        location = box.consent(box.start())
        location = location.replace(query(location)["state"], new_state())
    elif case == "no state":
        location = box.consent(box.start())
        location = location.split("?")[0] + "?" + urlencode({"code": query(location)["code"]})
    elif case == "replayed":
        location = box.consent(box.start())
        assert (await box.callback(location)).status == 200
        before = box.vault.load(NAME)
    else:
        with monkeypatch.context() as m:
            m.setattr(vault_module, "time", Shifted(-601))  # 10 minutes and 1 s ago
            location = box.consent(box.start())
    grants = box.emu.counters()["grants"]["authorization_code"]

    page = await box.callback(location)

    if case == "no state":
        assert_failed(page, 400, "invalid_request", "no 'state'")
    else:
        assert_failed(
            page,
            400,
            "invalid_state",
            "This sign-in link is no longer valid.",
            "Click Generate again",
        )
    assert box.emu.counters()["grants"]["authorization_code"] == grants  # no exchange tried
    assert page.result["name"] is None  # no pending: no connection to tell
    assert box.vault.load(NAME) == before
    assert box.vault.names() == ([NAME] if before else [])


async def test_two_callbacks_racing_for_one_state_connect_once(box: Box) -> None:
    location = box.consent(box.start())
    pages = await asyncio.gather(*(box.callback(location) for _ in range(4)))
    assert sorted(p.status for p in pages) == [200, 400, 400, 400]
    assert box.emu.counters()["grants"]["authorization_code"] == 1


async def test_a_pending_younger_than_10_minutes_still_completes(
    box: Box, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:
        m.setattr(vault_module, "time", Shifted(-590))
        url = box.start()
    assert (await box.callback(box.consent(url))).status == 200


# --- 4. denied consent --------------------------------------------------------------------------


async def test_denied_consent_says_so_and_drops_the_pending(box: Box) -> None:
    location = box.consent(box.start(), grant=False)
    assert query(location)["error"] == "access_denied"

    page = await box.callback(location)
    assert_failed(page, 400, "access_denied", "You declined access to Box.", "Generate again")
    assert box.vault.names() == []
    assert page.result["name"] == NAME  # so that this connection's form shows it

    again = await box.callback(location)
    assert_failed(again, 400, "invalid_state", "no longer valid")


# --- 5. wrong secret ----------------------------------------------------------------------------


async def test_wrong_secret_is_explained_and_nothing_is_stored(box: Box) -> None:
    page = await box.flow(client_secret="not-the-secret")
    assert_failed(
        page, 400, "invalid_client", "Client ID", "Client Secret", "Box Developer Console"
    )
    assert "not-the-secret" not in page.body
    assert page.result["name"] == NAME
    assert box.vault.names() == []


# --- 6. Box unavailable -------------------------------------------------------------------------


async def test_a_503_from_box_during_the_exchange_is_retried(box: Box) -> None:
    box.emu.inject_fault(status=503, path="/oauth2/token", times=1)
    page = await box.flow()
    assert page.status == 200, page.body
    assert box.emu.counters()["grants"]["authorization_code"] == 1
    assert box.vault.load(NAME)["user"]["login"] == ADA["login"]  # type: ignore[index]


async def test_box_down_during_the_exchange_gives_a_502_page(box: Box) -> None:
    box.emu.inject_fault(status=503, path="/oauth2/token", times=None)
    page = await box.flow()
    assert_failed(page, 502, "box_unavailable", "Box could not finish the sign-in.", "HTTP 503")
    assert page.result["name"] == NAME
    assert box.vault.names() == []
    assert box.emu.counters()["grants"]["authorization_code"] == 0


# --- 7. secrets stay out of pages, logs and the status API --------------------------------------


@pytest.mark.parametrize("provisioned", ["env", "config"])
async def test_no_secret_in_any_page_log_line_or_status_answer(log_tap: LogTap, box: Box) -> None:
    box.tap = log_tap
    assert "box-widget" in log_tap.text, "the tap missed the server's start"
    pages = [await box.flow()]  # success
    location = box.locations[-1]
    pages.append(await box.callback(location))  # replayed
    pages.append(await box.callback(box.consent(box.start("other")), auth=False))  # no login
    pages.append(await box.callback(box.locations[-1]))  # ... then logged in
    pages.append(await box.flow("wrong", client_secret="wrong-secret-" + "x" * 20))
    pages.append(await box.callback(box.consent(box.start("denied"), grant=False)))
    box.emu.inject_fault(drop=True, path="/oauth2/token", times=None)
    pages.append(await box.flow("down"))
    box.emu.clear_faults()
    assert [p.status for p in pages] == [200, 400, 302, 200, 400, 400, 502]
    status, body = await box.status()
    assert status == 200

    vault = box.vault
    tokens = [vault.load(name)["token"] for name in (NAME, "other")]  # type: ignore[index]
    oauth = box.emu.state.oauth
    with oauth.lock:
        issued = set(oauth.codes) | set(oauth.access_tokens) | set(oauth.refresh_tokens)
    secrets = (
        {box.app.client_secret, "wrong-secret-" + "x" * 20}
        | issued
        | {t[k] for t in tokens for k in ("access_token", "refresh_token")}
        | {v for loc in box.locations for k, v in query(loc).items() if k in {"code", "state"}}
    )
    assert len(secrets) > 10
    shown = {"pages": "\n".join(p.raw for p in pages), "log": log_tap.text, "status": body}
    leaks = {
        where: sorted(s[:6] + "..." for s in secrets if s in text) for where, text in shown.items()
    }
    assert leaks == {"pages": [], "log": [], "status": []}
    assert "exchanging the authorization code" in log_tap.text  # the log did see the flows


# --- 8. the status API --------------------------------------------------------------------------


@pytest.mark.parametrize("provisioned", ["config", None])
async def test_status_reports_the_extension_and_connections_without_tokens(
    box: Box, jp_base_url: str, provisioned: str | None
) -> None:
    status, body = await box.status()
    assert status == 200
    empty = json.loads(body)
    assert empty["connections"] == []

    assert (await box.flow()).status == 200
    status, body = await box.status()
    data = json.loads(body)
    assert data["version"] == __version__
    assert data["mode"] == "single-user"  # no hub service configured or found
    assert data["vault"]["key_source"] == "file"
    assert data["vault"]["encrypted"] is True
    assert data["callback_path"] == jp_base_url + CALLBACK == "/a%40b/box-widget/oauth2/callback"
    assert data["client_id"] == (box.app.client_id if provisioned else None)
    assert data["client_secret_configured"] is bool(provisioned)
    token = box.vault.load(NAME)["token"]  # type: ignore[index]
    [conn] = data["connections"]
    assert conn["name"] == NAME
    assert conn["connected"] is True
    assert conn["user"]["login"] == ADA["login"]
    assert conn["expires_at"] == pytest.approx(token["expires_at"])
    for secret in (token["access_token"], token["refresh_token"], box.app.client_secret):
        assert secret not in body

    def keys(value: Any) -> set[str]:
        if isinstance(value, dict):
            return set(value) | {k for v in value.values() for k in keys(v)}
        if isinstance(value, list):
            return {k for v in value for k in keys(v)}
        return set()

    assert not keys(data) & TOKEN_KEYS

    status, body = await box.status(auth=False)
    assert status == 403
    assert "connections" not in body


# --- 9. the admin-provisioned secret ------------------------------------------------------------


@pytest.mark.parametrize("provisioned", ["config", "env", None])
async def test_a_pending_without_secret_uses_the_server_configured_one(
    box: Box, provisioned: str | None
) -> None:
    state = new_state()
    box.vault.add_pending(
        state,
        {
            "name": NAME,
            "client_id": box.app.client_id,
            "client_secret": None,
            "redirect_uri": box.redirect_uri,
            "endpoints": box.emu.endpoints.to_dict(),
        },
    )
    url = authorization_url(box.emu.endpoints, box.app.client_id, box.redirect_uri, state)
    page = await box.callback(box.consent(url))
    if provisioned:
        assert page.status == 200, page.body
        assert page.result["user"]["login"] == ADA["login"]
        record = box.vault.load(NAME) or {}
        assert record["token"]["refresh_token"]
        assert (record["client_secret"], record.get("app")) == (None, "server")  # by reference
    else:  # no secret anywhere: the page says what to set
        assert_failed(page, 400, "configuration", "Client Secret", "c.BoxWidgetApp.client_secret")
        assert box.vault.names() == []


# --- 10. every verb needs a Jupyter login -------------------------------------------------------


def box_widget_routes(web_app: web.Application) -> list[tuple[str, type[web.RequestHandler]]]:
    """The (pattern, handler) pairs the server actually routes to box_widget's handlers."""
    found = []

    def walk(router: Any) -> None:
        for rule in getattr(router, "rules", []):
            target = rule.target
            if isinstance(target, type) and issubclass(target, web.RequestHandler):
                if target.__module__.startswith("box_widget."):
                    found.append((rule.matcher.regex.pattern, target))
            else:
                walk(target)

    walk(web_app.default_router)
    walk(web_app.wildcard_router)
    return found


def implemented_verbs(handler: type[web.RequestHandler]) -> dict[str, Any]:
    return {
        verb: getattr(handler, verb.lower())
        for verb in handler.SUPPORTED_METHODS
        if getattr(handler, verb.lower()) is not web.RequestHandler._unimplemented_method
    }


def wrapped_by(method: Any, module_path: str) -> bool:
    code = getattr(method, "__code__", None)
    return (
        hasattr(method, "__wrapped__")
        and code is not None
        and code.co_filename.replace("\\", "/").endswith(module_path)
    )


def test_every_verb_is_authenticated_and_authorized(
    jp_configurable_serverapp: Any, jp_base_url: str
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        serverapp = jp_configurable_serverapp()
    assert serverapp.allow_unauthenticated_access is False
    auth_warnings = [
        str(w.message) for w in caught if issubclass(w.category, JupyterServerAuthWarning)
    ]
    assert not [
        m
        for m in auth_warnings
        if "box_widget" in m or "box-widget" in m or "CallbackHandler" in m or "StatusHandler" in m
    ], auth_warnings

    routes = box_widget_routes(serverapp.web_app)
    assert {pattern.rstrip("$") for pattern, _ in routes} == {
        url_path_join(jp_base_url, CALLBACK),
        url_path_join(jp_base_url, STATUS),
        url_path_join(jp_base_url, CONNECTIONS, "([^/]+)", "token"),
        url_path_join(jp_base_url, CONNECTIONS, "([^/]+)", "grants"),
        url_path_join(jp_base_url, GRANTS_PATH, "([^/]+)", "token"),
        url_path_join(jp_base_url, GRANTS_PATH),
        url_path_join(jp_base_url, GRANTS_PATH, "([^/]+)"),
        url_path_join(jp_base_url, CONNECTIONS, "([^/]+)"),
    }
    for pattern, handler in routes:
        for verb, method in implemented_verbs(handler).items():
            if handler is GrantTokenHandler and verb == "POST":
                # The one route without a Jupyter login: workers hold a grant, checked by the
                # handler itself (test_grant_token_route_refuses_anything_but_a_live_grant).
                assert hasattr(method, "__allow_unauthenticated"), (pattern, verb)
                continue
            if hasattr(method, "__allow_unauthenticated"):  # Jupyter's own OPTIONS (CORS)
                assert method.__module__.startswith("jupyter_server."), (pattern, verb)
                continue
            assert wrapped_by(method, "tornado/web.py"), f"{verb} {pattern}: no @authenticated"
            assert wrapped_by(method.__wrapped__, "jupyter_server/auth/decorator.py"), (
                f"{verb} {pattern}: no @authorized under @authenticated"
            )
            assert handler.auth_resource == "box_widget"  # type: ignore[attr-defined]


@pytest.mark.parametrize("allow_unauthenticated", [True])  # Jupyter's default
async def test_no_verb_answers_without_a_login(
    jp_serverapp: Any, http_server_client: Any, jp_base_url: str
) -> None:
    """Even where the server lets undecorated handlers through, every box_widget verb asks
    for a login (with a valid-looking XSRF pair, so only authentication can stop it)."""
    routes = box_widget_routes(jp_serverapp.web_app)
    assert len(routes) == 8
    checked = 0
    for pattern, handler in routes:
        path = pattern.rstrip("$").replace("([^/]+)", NAME)
        for verb, method in implemented_verbs(handler).items():
            if hasattr(method, "__allow_unauthenticated") and verb == "OPTIONS":
                continue
            body = b"{}" if verb in {"POST", "PUT", "PATCH"} else None
            response = await http_server_client.fetch(
                path + "?code=c&state=s",
                method=verb,
                body=body,
                raise_error=False,
                follow_redirects=False,
                allow_nonstandard_methods=True,
                headers={"Cookie": "_xsrf=abcd", "X-XSRFToken": "abcd"},
            )
            api = CALLBACK not in path
            expected = 302 if verb in {"GET", "HEAD"} and not api else 403
            if handler is GrantTokenHandler:  # no login needed, and no grant: refused
                assert json.loads(response.body)["error"] == "grant_refused"
            assert response.code == expected, (verb, path, response.code)
            checked += 1
    assert checked >= 4


@pytest.mark.parametrize("allow_unauthenticated", [False])
async def test_grant_token_route_refuses_anything_but_a_live_grant(
    jp_serverapp: Any, http_server_client: Any, jp_base_url: str
) -> None:
    """Workers reach the grant token route without a Jupyter login; it refuses, in words and
    with Box's kind ``grant_refused``, a missing, malformed or unknown grant, and never a
    Jupyter token in its place."""
    path = url_path_join(jp_base_url, grant_token_path(NAME))
    bearer = "Bearer bwg.gdeadbeef00000000.notasecretatall"
    for headers in (
        {},
        {"Authorization": "Bearer"},
        {"Authorization": bearer},
        {"Authorization": f"token {jp_serverapp.identity_provider.token}"},
    ):
        response = await http_server_client.fetch(
            path, method="POST", body=b"{}", raise_error=False, headers=headers
        )
        assert response.code == 403, (headers, response.code)
        answer = json.loads(response.body)
        assert answer["error"] == "grant_refused", answer
        assert "grant" in answer["message"]
        assert "notasecret" not in answer["message"]


# --- 11. the exchange runs off the event loop ---------------------------------------------------


async def test_the_exchange_does_not_block_the_server(box: Box) -> None:
    """Order, not speed: the status API answers while the code exchange is still held at Box's
    token endpoint, and the sign-in completes once Box answers."""
    location = box.consent(box.start())
    box.emu.inject_fault(hold=True, path="/oauth2/token")
    callback = asyncio.ensure_future(box.callback(location))
    try:
        pending = box.home / "pending"
        deadline = time.monotonic() + 30  # a hang guard, not a speed bound
        while list(pending.glob("*.box")):  # the server took the pending: the exchange is on
            assert time.monotonic() < deadline, "the callback never reached the server"
            await asyncio.sleep(0.01)
        status, _ = await asyncio.wait_for(box.status(), 60)
        assert status == 200
        assert not callback.done(), "the callback finished although Box never answered"
    finally:
        box.emu.clear_faults()  # Box answers the held exchange now
    page = await callback
    assert page.status == 200, page.body
    assert box.emu.counters()["grants"]["authorization_code"] == 1


# --- 12. latency ----------------------------------------------------------------------------------

FLOWS = 50


async def test_callback_latency_on_loopback(box: Box) -> None:
    """Callback to tokens saved (and the user read: the page's answer), over FLOWS sign-ins;
    reported, not asserted (bench/ shows speed)."""
    times, conn = [], box.connection()
    for _ in range(FLOWS):
        location = box.consent(conn.authorization_url())
        started = time.perf_counter()
        page = await box.callback(location)
        times.append(1000 * (time.perf_counter() - started))
        assert page.status == 200, page.body
    assert box.emu.counters()["grants"]["authorization_code"] == FLOWS
    p95 = statistics.quantiles(times, n=20)[-1]
    print(
        f"\ncallback -> tokens saved, {FLOWS} flows on loopback: "
        f"median {statistics.median(times):.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(times):.1f} ms"
    )
