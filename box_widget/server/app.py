"""The Jupyter server extension application: configuration and routes."""

from __future__ import annotations

import os
from dataclasses import replace

from jupyter_server.extension.application import ExtensionApp
from traitlets import Unicode, default

from .._version import __version__
from ..endpoints import ENV_VARS, BoxEndpoints
from ..protocol import CALLBACK_PATH, STATUS_PATH
from ..records import PendingSignIn
from ..vault import Vault, default_home
from .handlers import CallbackHandler, StatusHandler
from .log_mask import mask_secret_config


class BoxWidgetApp(ExtensionApp):
    """The box-widget server extension: Box's OAuth callback route and a status API.

    Configure it like any Jupyter server extension, e.g. in ``jupyter_server_config.py``::

        c.BoxWidgetApp.client_id = "..."      # an admin-provisioned Box app for every user
        c.BoxWidgetApp.client_secret = "..."  # filled in at the callback

    The secret never travels through a notebook or the browser: the server adds it to the
    sign-in at the callback. It is then saved, encrypted, in the user's vault, because kernels
    need it to refresh tokens; a user who decrypts their own vault can read it. Settings tagged
    ``secret`` are masked in the server's log (see ``log_mask``).
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
        help="The secret of client_id, used by the server at the callback "
        "when a kernel did not supply one (default: "
        "$BOX_CLIENT_SECRET)."
    ).tag(config=True, secret=True)
    # Endpoint overrides: empty means $BOX_*_URL, else Box's own (see ``endpoints``).
    authorize_url = Unicode(help="Box's authorize page.").tag(config=True)
    token_url = Unicode(help="Box's token endpoint.").tag(config=True)
    revoke_url = Unicode(help="Box's revoke endpoint.").tag(config=True)
    api_url = Unicode(help="Box's API base URL.").tag(config=True)
    upload_url = Unicode(help="Box's upload API base URL.").tag(config=True)

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
        """Open the vault once; handlers share it."""
        self.vault = Vault(self.home)
        self.log.info(
            "box-widget %s: vault %s (key: %s)", __version__, self.vault.home, self.vault.key_source
        )

    def initialize_handlers(self) -> None:
        """Routes relative to the server's base URL (ExtensionApp prepends it)."""
        self.handlers.extend(
            [
                (rf"/{CALLBACK_PATH}", CallbackHandler),
                (rf"/{STATUS_PATH}", StatusHandler),
            ]
        )

    def fill_in(self, pending: PendingSignIn) -> PendingSignIn:
        """A pending authorization with the admin-provisioned secret where the kernel had none."""
        if (
            not pending.get("client_secret")
            and self.client_secret
            and pending.get("client_id") == self.client_id
        ):
            return {**pending, "client_secret": self.client_secret}
        return pending


# Before any extension app logs the server's configuration (see ``log_mask``).
mask_secret_config(BoxWidgetApp.class_trait_names(secret=True))
