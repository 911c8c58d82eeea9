"""The Jupyter server extension application: configuration and routes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import replace

from jupyter_server.extension.application import ExtensionApp
from traitlets import Unicode, default

from .. import audit, grant_authority
from .._version import __version__
from ..endpoints import ENV_VARS, BoxEndpoints
from ..errors import ConfigurationError
from ..protocol import CALLBACK_PATH, CONNECTIONS_PATH, GRANTS_PATH, STATUS_PATH
from ..records import PendingSignIn
from ..vault import Vault, default_home
from . import grant_handlers
from .downscoped import DownscopedTokens
from .handlers import CallbackHandler, StatusHandler
from .hub_mode import settle_hub_url
from .log_mask import mask_secret_config
from .token_handlers import ConnectionHandler, TokenHandler


class BoxWidgetApp(ExtensionApp):
    """The box-widget server extension: Box's OAuth callback, a status API, the token API.

    Configure it like any Jupyter server extension, e.g. in ``jupyter_server_config.py``::

        c.BoxWidgetApp.client_id = "..."      # an admin-provisioned Box app for every user
        c.BoxWidgetApp.client_secret = "..."  # filled in at the callback

    The secret never travels through a notebook or the browser, and is never saved: the server
    uses it at the callback (only for a sign-in naming exactly the Box addresses configured
    here), and the connection is saved as "the server's app" (``app: "server"``, no secret).
    Kernels get access tokens for it from the server (``token_handlers``), which refreshes and
    revokes with the secret as configured at that moment: rotating it needs only a restart.
    Settings tagged ``secret`` are masked in the server's log (see ``log_mask``).
    """

    name = "box_widget"
    version = __version__
    load_other_extensions = True

    home = Unicode(
        help="The token vault folder (default: $BOX_WIDGET_HOME, else "
        "<jupyter data dir>/box_widget)."
    ).tag(config=True)
    client_id = Unicode(
        help="Default Box app client id for new connections (default: $BOX_CLIENT_ID)."
    ).tag(config=True)
    client_secret = Unicode(
        help="The secret of client_id, used only by the server (at the callback when a kernel "
        "did not supply one, and to refresh and revoke the connections made so); never saved "
        "in a vault nor given to kernels (default: $BOX_CLIENT_SECRET)."
    ).tag(config=True, secret=True)
    # Endpoint overrides: empty means $BOX_*_URL, else Box's own (see ``endpoints``).
    authorize_url = Unicode(help="Box's authorize page.").tag(config=True)
    token_url = Unicode(help="Box's token endpoint.").tag(config=True)
    revoke_url = Unicode(help="Box's revoke endpoint.").tag(config=True)
    api_url = Unicode(help="Box's API base URL.").tag(config=True)
    upload_url = Unicode(help="Box's upload API base URL.").tag(config=True)
    hub_service_url = Unicode(
        help="On a JupyterHub: the box-widget hub service's base URL as this server reaches "
        "it (e.g. http://127.0.0.1:8000/services/box-widget/); then the service keeps every "
        "connection and this server and its kernels hold nothing secret (default: "
        "$BOX_WIDGET_HUB_URL, else found through the hub's services API, else none: "
        "single-user mode)."
    ).tag(config=True)

    worker_url = Unicode(
        help="This server's base URL as Dask (and other) workers reach it, put in the worker "
        "grants kernels mint (e.g. https://notebook-host:8888/); default: "
        "$BOX_WIDGET_WORKER_URL, else the address the kernel reached (loopback: workers on "
        "this machine only)."
    ).tag(config=True)
    grant_lifetime, grant_max_lifetime = grant_authority.lifetime_settings()

    @default("worker_url")
    def _default_worker_url(self) -> str:
        return os.environ.get("BOX_WIDGET_WORKER_URL", "")

    @default("home")
    def _default_home(self) -> str:
        return str(default_home())

    @default("client_id")
    def _default_client_id(self) -> str:
        return os.environ.get("BOX_CLIENT_ID", "")

    @default("client_secret")
    def _default_client_secret(self) -> str:
        return os.environ.get("BOX_CLIENT_SECRET", "")

    @property
    def endpoints(self) -> BoxEndpoints:
        """Box's endpoints: those configured here, else ``$BOX_*_URL``, else Box's own."""
        overrides = {name: getattr(self, name) for name in ENV_VARS if getattr(self, name)}
        return replace(BoxEndpoints.from_env(), **overrides)

    def initialize_settings(self) -> None:
        """Find the hub's service (hub mode), or open the vault once; handlers share it."""
        #: The hub service's base URL in hub mode (kernels inherit it), else None.
        self.hub_url = settle_hub_url(self.hub_service_url)
        if self.hub_url:  # nothing is kept here: make no vault folder and no key
            self.vault = Vault(self.home, create=False)
            self.log.info("box-widget %s: hub mode, service %s", __version__, self.hub_url)
            return
        self.vault = Vault(self.home)
        self.downscoped = DownscopedTokens()
        self.log.info(
            "box-widget %s: vault %s (key: %s)", __version__, self.vault.home, self.vault.key_source
        )

    def initialize_handlers(self) -> None:
        """Routes relative to the server's base URL (ExtensionApp prepends it)."""
        self.handlers.extend(
            [
                (rf"/{CALLBACK_PATH}", CallbackHandler),
                (rf"/{STATUS_PATH}", StatusHandler),
                (rf"/{CONNECTIONS_PATH}/([^/]+)/token", TokenHandler),
                *grant_handlers.routes(CONNECTIONS_PATH, GRANTS_PATH),
                (rf"/{CONNECTIONS_PATH}/([^/]+)", ConnectionHandler),
            ]
        )

    def differs(self, client_id: str | None, endpoints: Mapping[str, str] | None) -> str | None:
        """Why this server's Box app cannot act for the app ``client_id`` at ``endpoints`` (in
        words), or None: it is this server's app, at exactly its Box addresses, with a secret.
        The secret is only ever sent to the addresses configured here."""
        if not self.client_secret:
            return "has no Client Secret configured (c.BoxWidgetApp.client_secret)"
        if client_id != self.client_id:
            return "is configured with another Client ID (c.BoxWidgetApp.client_id)"
        mine = self.endpoints.to_dict()
        if dict(endpoints or {}) != mine:
            other = sorted(
                k for k in {*mine, *(endpoints or {})} if (endpoints or {}).get(k) != mine.get(k)
            )
            return f"is configured with other Box addresses ({', '.join(other)})"
        return None

    def secret_for_sign_in(self, pending: PendingSignIn) -> str | None:
        """The server's Client Secret for a sign-in its kernel started without one for the
        server's app, to exchange the code with; None for any other sign-in (it goes on with
        what it has). A sign-in for the server's app that names other Box addresses than those
        configured here is refused (a ``ConfigurationError``): the secret goes nowhere."""
        if (
            pending.get("client_secret")
            or not self.client_secret
            or pending.get("client_id") != self.client_id
        ):
            return None
        why = self.differs(pending.get("client_id"), pending.get("endpoints"))
        if why is None:
            return self.client_secret
        name = pending["name"]
        audit.record(
            self.vault.home,
            name,
            "connect-failed",
            kind="oauth",
            step="server-app",
            error="other Box addresses",
        )
        msg = (
            f"This sign-in for connection {name!r} uses the Jupyter server's Box app but names "
            f"other Box addresses than the server {why.removeprefix('is configured with ')}, so "
            "the server did not send its Client Secret anywhere, and nothing was saved. Start "
            "the sign-in again from a notebook on this server (its form uses the server's "
            "addresses), or connect with your own Client ID and Client Secret."
        )
        raise ConfigurationError(msg, connection=name, action="reconnect")


# Before any extension app logs the server's configuration (see ``log_mask``).
mask_secret_config(BoxWidgetApp.class_trait_names(secret=True))
