"""``BoxWidgetHub``: the hub service's configuration (traitlets) and its tornado server.

JupyterHub starts it as a managed service (``c.JupyterHub.services``) and gives it
``JUPYTERHUB_API_TOKEN``, ``JUPYTERHUB_SERVICE_URL`` (where to listen),
``JUPYTERHUB_SERVICE_PREFIX`` and the rest; the Box app and the vault come from the service's
own environment or a config file (``--config``). The routes are HUB_CONTRACT.md's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import signal
from concurrent.futures import ThreadPoolExecutor
from copy import deepcopy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from traitlets import Float, Integer, Unicode, default
from traitlets.config import Application

from .. import grant_authority
from .._version import __version__
from ..endpoints import BoxEndpoints
from ..files import atomic_write, private_file
from ..server.log_mask import mask_secret_config

log = logging.getLogger(__name__)
#: Configuration keys never written to the log (traitlets logs the config at debug level).
SECRET_KEYS = ("client_secret",)
mask_secret_config(SECRET_KEYS)


def _env(name: str, fallback: str = "") -> str:
    return os.environ.get(name, "").strip() or fallback


class BoxWidgetHub(Application):
    """box-widget's JupyterHub service: holds the Box app and every hub user's connections."""

    name = "box-widget-hub"
    description = "box-widget's JupyterHub service (started by JupyterHub, not by hand)."
    version = __version__

    config_file = Unicode("", help="A Python config file (c.BoxWidgetHub.*).").tag(config=True)
    client_id = Unicode(help="The Box app's Client ID (default: $BOX_CLIENT_ID).").tag(config=True)
    client_secret = Unicode(
        help="The Box app's Client Secret (default: $BOX_CLIENT_SECRET); only this service has it."
    ).tag(config=True, secret=True)
    home = Unicode(
        help="The service's vault folder (default: $BOX_WIDGET_HOME); its key: $BOX_WIDGET_KEY, "
        "else a key file there."
    ).tag(config=True)
    redirect_uri = Unicode(
        help="The one redirect URI registered with Box (default: $BOX_REDIRECT_URI; if unset, "
        "the browser's view of <service prefix>oauth2/callback)."
    ).tag(config=True)
    keepalive_days = Float(
        help="Refresh any connection whose refresh token is older than this many days "
        "(default: $BOX_WIDGET_KEEPALIVE_DAYS, else 45; Box's die after 60 days unused)."
    ).tag(config=True)
    keepalive_interval = Float(
        help="Seconds between keep-alive rounds (default: $BOX_WIDGET_KEEPALIVE_INTERVAL, "
        "else 3600)."
    ).tag(config=True)
    threads = Integer(
        64, help="Threads for the vault and Box (requests waiting for a refresh wait in one)."
    ).tag(config=True)
    service_url = Unicode(help="Where to listen (default: $JUPYTERHUB_SERVICE_URL).").tag(
        config=True
    )
    service_prefix = Unicode(
        help="The service's URL prefix (default: $JUPYTERHUB_SERVICE_PREFIX)."
    ).tag(config=True)

    worker_url = Unicode(
        help="This service's base URL as Dask (and other) workers reach it, put in the worker "
        "grants kernels mint (e.g. https://hub.example.org/services/box-widget/); default: "
        "$BOX_WIDGET_WORKER_URL, else the address the kernel reached the service at."
    ).tag(config=True)
    grant_lifetime, grant_max_lifetime = grant_authority.lifetime_settings()

    aliases = {  # noqa: RUF012 (traitlets' own declaration)
        "config": "BoxWidgetHub.config_file",
        "log-level": "Application.log_level",
    }

    @default("client_id")
    def _client_id(self) -> str:
        return _env("BOX_CLIENT_ID")

    @default("client_secret")
    def _client_secret(self) -> str:
        return _env("BOX_CLIENT_SECRET")

    @default("home")
    def _home(self) -> str:
        return _env("BOX_WIDGET_HOME", str(Path.cwd() / "box-widget-hub"))

    @default("redirect_uri")
    def _redirect_uri(self) -> str:
        return _env("BOX_REDIRECT_URI")

    @default("keepalive_days")
    def _keepalive_days(self) -> float:
        return float(_env("BOX_WIDGET_KEEPALIVE_DAYS", "45"))

    @default("keepalive_interval")
    def _keepalive_interval(self) -> float:
        return float(_env("BOX_WIDGET_KEEPALIVE_INTERVAL", "3600"))

    @default("service_url")
    def _service_url(self) -> str:
        return _env("JUPYTERHUB_SERVICE_URL", "http://127.0.0.1:10101")

    @default("worker_url")
    def _worker_url(self) -> str:
        return _env("BOX_WIDGET_WORKER_URL")

    @default("service_prefix")
    def _service_prefix(self) -> str:
        prefix = _env("JUPYTERHUB_SERVICE_PREFIX", "/services/box-widget/")
        return prefix if prefix.endswith("/") else prefix + "/"

    def initialize(self, argv: Any = None) -> None:
        self.parse_command_line(argv)
        if self.config_file:  # the file first, then the command line over it
            from_command_line = deepcopy(self.config)
            self.load_config_file(self.config_file)
            self.update_config(from_command_line)
        # Its own lines at INFO (audit, sign-ins, requests without queries); others' warnings.
        logging.basicConfig(
            level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        logging.getLogger("box_widget").setLevel(logging.INFO)

    def cookie_secret(self, home: Path) -> bytes:
        """The key signing the service's cookies, kept in the home (so a restart keeps users
        logged in to the service)."""
        path = home / "cookie_secret"
        with contextlib.suppress(FileNotFoundError):
            return private_file(path).read_bytes()
        with contextlib.suppress(FileExistsError):
            atomic_write(path, secrets.token_bytes(32), exclusive=True)
        return path.read_bytes()

    def start(self) -> None:
        asyncio.run(self.serve())

    async def serve(self) -> None:
        """Listen at ``service_url`` until SIGTERM or SIGINT; keep connections alive."""
        from .routes import make_app  # jupyterhub and tornado: only when serving

        # Threads waiting for a connection's lock (its refresh in flight) must not hold up
        # other users' pulls: more threads than asyncio's default (CPUs + 4).
        loop = asyncio.get_running_loop()
        loop.set_default_executor(ThreadPoolExecutor(self.threads, "box-widget-hub"))
        app, box = make_app(self)
        where = urlsplit(self.service_url)
        server = app.listen(where.port or 80, where.hostname or "127.0.0.1", xheaders=True)
        log.info("box-widget hub service %s listening at %s", __version__, self.service_url)
        stopping = asyncio.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stopping.set)
        keeping = asyncio.create_task(self.keep_alive_forever(box))
        await stopping.wait()
        keeping.cancel()
        server.stop()
        await server.close_all_connections()
        log.info("box-widget hub service stopped")

    async def keep_alive_forever(self, box: Any) -> None:
        from .keepalive import keep_alive

        max_age = self.keepalive_days * 86400.0
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.keepalive_interval)
            try:
                await loop.run_in_executor(None, keep_alive, box, max_age)
            except Exception as exc:  # the next round tries again
                log.error("keep-alive round failed: %s", type(exc).__name__)

    def endpoints(self) -> BoxEndpoints:
        return BoxEndpoints.from_env()


def main(argv: list[str] | None = None) -> None:
    """Run the service (``python -m box_widget.hub``, ``box-widget hub-service``)."""
    BoxWidgetHub.launch_instance(argv)
