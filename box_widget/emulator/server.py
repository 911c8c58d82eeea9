"""``BoxEmulator``: the routes, and running them on loopback in a thread or in the foreground."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import threading
from types import TracebackType
from typing import Any

from tornado.httpserver import HTTPServer
from tornado.netutil import bind_sockets
from tornado.web import Application

from ..endpoints import BoxEndpoints
from ..protocol import CALLBACK_PATH
from ..transport import is_loopback
from . import api_handlers as api
from . import chunked_upload as chunked
from . import control, download, items
from .base import FaviconHandler, IndexHandler, NotFoundHandler
from .consent import consent
from .content import User
from .core import Fault, PartFault, TokenExpiry
from .direct_upload import DirectUploadHandler
from .oauth_handlers import AuthorizeHandler, RevokeHandler, TokenHandler
from .oauth_store import App
from .seed import seed
from .state import EmulatorState

#: The demo app's redirect URIs: Jupyter's callback on loopback (any port matches).
DEMO_REDIRECT_URIS = [
    f"http://localhost:8888/{CALLBACK_PATH}",
    f"http://127.0.0.1:8888/{CALLBACK_PATH}",
]
ID = r"([^/]+)"


def routes(state: EmulatorState, *, control_api: bool) -> list[tuple[str, Any, dict[str, Any]]]:
    """Box's paths, all on one host (see docs/emulator.md)."""
    table: list[tuple[str, Any]] = [
        (r"/api/oauth2/authorize", AuthorizeHandler),
        (r"/oauth2/token", TokenHandler),
        (r"/oauth2/revoke", RevokeHandler),
        (r"/2.0/users/me", api.UsersMeHandler),
        (r"/2.0/folders", items.FoldersHandler),
        (rf"/2.0/folders/{ID}", items.FolderHandler),
        (rf"/2.0/folders/{ID}/items", api.FolderItemsHandler),
        (r"/2.0/files/content", items.PreflightHandler),
        (rf"/2.0/files/{ID}", items.FileHandler),
        (rf"/2.0/files/{ID}/copy", items.FileCopyHandler),
        (rf"/2.0/files/{ID}/content", download.FileContentHandler),
        (rf"/dl/{ID}/([^/]*)", download.DownloadHandler),
        (r"/api/2.0/files/content", DirectUploadHandler),
        (r"/api/2.0/files/upload_sessions", chunked.UploadSessionsHandler),
        (rf"/api/2.0/files/upload_sessions/{ID}", chunked.UploadSessionHandler),
        (rf"/api/2.0/files/upload_sessions/{ID}/parts", chunked.UploadPartsHandler),
        (rf"/api/2.0/files/upload_sessions/{ID}/commit", chunked.CommitHandler),
        (rf"/api/2.0/files/{ID}/content", DirectUploadHandler),
        (rf"/api/2.0/files/{ID}/upload_sessions", chunked.UploadSessionsHandler),
    ]
    if control_api:
        table += [
            (r"/_emulator/state", control.StateHandler),
            (r"/_emulator/clock", control.ClockHandler),
            (r"/_emulator/faults", control.FaultsHandler),
            (r"/_emulator/expire_tokens", control.ExpireTokensHandler),
            (r"/_emulator/part_faults", control.PartFaultsHandler),
            (r"/_emulator/large_files", control.LargeFilesHandler),
            (r"/_emulator/settings", control.SettingsHandler),
            (r"/_emulator/apps", control.AppsHandler),
            (rf"/_emulator/apps/{ID}/redirect_uris", control.RedirectURIsHandler),
        ]
    return [(pattern, handler, {"state": state}) for pattern, handler in table] + [
        (r"/", IndexHandler, {"state": state}),
        (r"/favicon.ico", FaviconHandler, {}),
    ]


class BoxEmulator:
    """A local Box over real HTTP; a context manager that runs it in a background thread.

    Parameters
    ----------
    host, port
        Where to listen; loopback and a free port by default.
    client_id, client_secret, redirect_uris
        The seeded demo app; random credentials and Jupyter's loopback callback by default.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uris: list[str] | None = None,
    ) -> None:
        self.state = EmulatorState()
        self.users: list[User] = seed(self.state.content)
        self.app: App = self.state.add_app(
            "Box Widget Demo",
            redirect_uris or DEMO_REDIRECT_URIS,
            client_id=client_id,
            client_secret=client_secret,
            ccg_enabled=True,
        )
        self.host = host
        self._sockets: list[socket.socket] = []
        self._requested_port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: HTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- what tests and tools read ----------------------------------------------------------
    @property
    def user(self) -> User:
        """The first seeded user (Ada)."""
        return self.users[0]

    @property
    def service_account(self) -> User:
        """The demo app's Client Credentials service account."""
        return self.state.content.users[self.app.service_account_id]

    @property
    def settings(self) -> Any:
        return self.state.settings

    @property
    def clock(self) -> Any:
        return self.state.clock

    @property
    def port(self) -> int:
        if not self._sockets:
            msg = "the emulator is not listening; call start() first"
            raise RuntimeError(msg)
        return int(self._sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def endpoints(self) -> BoxEndpoints:
        return BoxEndpoints(
            authorize_url=f"{self.url}/api/oauth2/authorize",
            token_url=f"{self.url}/oauth2/token",
            revoke_url=f"{self.url}/oauth2/revoke",
            api_url=f"{self.url}/2.0",
            upload_url=f"{self.url}/api/2.0",
        )

    # --- switches -------------------------------------------------------------------------------
    def add_app(self, name: str, redirect_uris: list[str], **options: Any) -> App:
        """Register another OAuth app (see ``EmulatorState.add_app`` for the options)."""
        return self.state.add_app(name, redirect_uris, **options)

    def add_redirect_uri(self, uri: str, *, client_id: str | None = None) -> App:
        """Register one more redirect URI with an app (the demo app by default)."""
        return self.state.oauth.add_redirect_uri(client_id or self.app.client_id, uri)

    def inject_fault(self, **fault: Any) -> Fault:
        """Make matching requests fail (see ``Fault``)."""
        return self.state.faults.inject(Fault(**fault))

    def fail_upload_part(self, **fault: Any) -> PartFault:
        """Make a chunked-upload part fail after its body arrived (see ``PartFault``)."""
        return self.state.faults.inject_part(PartFault(**fault))

    def expire_access_tokens(self, *, after_calls: int = 0, path: str = "") -> None:
        """Expire every live access token, now or once ``after_calls`` more API calls
        under ``path`` came in (see ``TokenExpiry``)."""
        self.state.expire_access_tokens(TokenExpiry(after_calls, path))

    def add_large_file(
        self, name: str, size: int, *, folder_id: str = "0", seed: int = 0, user: User | None = None
    ) -> str:
        """A file of ``size`` generated bytes (see ``blobs.generated_chunks``); its id."""
        return self.state.add_large_file(
            name, size, folder_id=folder_id, seed=seed, user_id=(user or self.user).id
        )

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def counters(self) -> dict[str, Any]:
        return self.state.counters.snapshot()

    def authorize(self, authorize_url: str, *, user: User | None = None, grant: bool = True) -> str:
        """Grant (or deny) an authorize URL as ``user``; the address Box redirects to."""
        return consent(authorize_url, user_id=(user or self.user).id, grant=grant)

    # --- running --------------------------------------------------------------------------------
    def application(self) -> Application:
        return Application(
            routes(self.state, control_api=is_loopback(self.host)),
            default_handler_class=NotFoundHandler,
            default_handler_args={"state": self.state},
            xheaders=False,
        )

    def listen(self) -> None:
        """Bind the listening socket now (idempotent), so ``url`` is known before serving."""
        if not self._sockets:
            sockets = bind_sockets(self._requested_port, self.host)
            for extra in sockets[1:]:  # "localhost" may bind IPv4 and IPv6: keep one
                extra.close()
            self._sockets = sockets[:1]

    async def _serve(
        self, started: threading.Event | None = None, *, handle_signals: bool = False
    ) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = HTTPServer(self.application(), max_body_size=1024 * 1024)
        self._server.add_sockets(self._sockets)
        self._stopping = asyncio.Event()
        if handle_signals:  # also when started in the background, where SIGINT is ignored
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._loop.add_signal_handler(signum, self._stopping.set)
        if started is not None:
            started.set()
        try:
            await self._stopping.wait()
        finally:
            self._server.stop()
            await self._server.close_all_connections()

    def start(self) -> BoxEmulator:
        """Listen now and serve from a background thread."""
        self.listen()
        started = threading.Event()
        self._thread = threading.Thread(
            target=asyncio.run, args=(self._serve(started),), name="box-emulator", daemon=True
        )
        self._thread.start()
        if not started.wait(10):
            msg = "the emulator did not start within 10 s"
            raise RuntimeError(msg)
        return self

    def stop(self) -> None:
        """Stop serving, close every connection and join the thread."""
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
            self._thread.join(10)
        self._thread = self._loop = None
        self.state.content.close()

    def serve_forever(self) -> None:
        """Serve in the foreground until interrupted (the ``box-widget emulator`` command)."""
        self.listen()
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self._serve(handle_signals=True))

    def __enter__(self) -> BoxEmulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
