"""The service's tornado application: its routes under the service prefix, its hub auth."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from jupyterhub.services.auth import HubAuth, HubOAuth
from tornado import web

from . import admin, api, grant_routes
from .auth import OAuthCallbackHandler
from .callback import CallbackHandler
from .logs import log_request
from .service import HubBox
from .users import HubVaults

if TYPE_CHECKING:
    from .app import BoxWidgetHub

#: The connection name in a route (``vault.check_name`` checks it again).
NAME = r"([^/]+)"
#: How long the Hub's answer about a token is kept (JupyterHub's default: 300 s).
CACHE_SECONDS = 60


def make_app(config: BoxWidgetHub) -> tuple[web.Application, HubBox]:
    """The application, and the Box app and vaults it serves."""
    home = Path(config.home).expanduser()
    box = HubBox(
        client_id=config.client_id,
        client_secret=config.client_secret,
        endpoints=config.endpoints(),
        vaults=HubVaults(home),
        worker_url=config.worker_url,
        grant_lifetime=config.grant_lifetime,
        grant_max_lifetime=config.grant_max_lifetime,
    )
    prefix = config.service_prefix
    # Separate instances (not JupyterHub's singletons): tokens only for the API, the
    # service's cookie for browsers. The Hub's answer about a token is kept a minute (a
    # token revoked at the hub stops working here within that minute).
    api_auth = HubAuth(base_url=prefix, cache_max_age=CACHE_SECONDS)
    browser_auth = HubOAuth(base_url=prefix, cache_max_age=CACHE_SECONDS)
    common: dict[str, Any] = {
        "box": box,
        "redirect_uri": config.redirect_uri,
        "api_auth": api_auth,
        "browser_auth": browser_auth,
    }
    routes: list[tuple[str, type[web.RequestHandler], dict[str, Any]]] = [
        ("oauth_callback", OAuthCallbackHandler, {"browser_auth": browser_auth}),
        ("oauth2/callback", CallbackHandler, common),
        ("api/status", api.StatusHandler, common),
        (f"api/connections/{NAME}", api.ConnectionHandler, common),
        (f"api/connections/{NAME}/sign-in", api.SignInHandler, common),
        (f"api/connections/{NAME}/complete", api.CompleteHandler, common),
        (f"api/connections/{NAME}/token", api.TokenHandler, common),
        (f"api/connections/{NAME}/audit", api.AuditHandler, common),
        *((path, handler, common) for path, handler in grant_routes.routes(NAME)),
        ("api/admin/connections", admin.AdminConnectionsHandler, common),
        (f"api/admin/connections/{NAME}/{NAME}", admin.AdminConnectionHandler, common),
    ]
    app = web.Application(
        [(prefix + path, handler, options) for path, handler, options in routes],
        cookie_secret=config.cookie_secret(box.vaults.home),
        log_function=log_request,
        callback_path=prefix + "oauth2/callback",
        service_prefix=prefix,
        xsrf_cookies=False,
    )
    return app, box
