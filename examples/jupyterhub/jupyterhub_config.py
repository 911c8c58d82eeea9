"""A JupyterHub configuration with box-widget's hub service (docs/jupyterhub.md).

One Box app for the whole hub: the service alone holds its Client ID and Secret and every hub
user's connections; users' servers and kernels get short-lived access tokens from it. Register
ONE redirect URI with the Box app (Developer Console, Configuration tab):

    https://<your hub>/services/box-widget/oauth2/callback

What differs per deployment comes from the hub's environment (defaults in brackets):

    BOX_CLIENT_ID, BOX_CLIENT_SECRET   the Box app (required)
    BOX_REDIRECT_URI                   the one redirect URI [derived from the browser's request]
    BOX_WIDGET_HUB_HOME                the service's vault folder [/srv/box-widget]
    BOX_WIDGET_KEY                     the vault's key [a key file in that folder]
    BOX_WIDGET_KEEPALIVE_DAYS          refresh tokens older than this [45]
    BOX_WIDGET_HUB_SERVICE_PORT        where the service listens, on 127.0.0.1 [10101]
    BOX_WIDGET_HUB_PUBLIC_URL          the hub as users' servers reach it [http://127.0.0.1:8000]
    BOX_AUTHORIZE_URL, BOX_TOKEN_URL, BOX_REVOKE_URL, BOX_API_URL, BOX_UPLOAD_URL
                                       Box's addresses [Box's own]: the tests set the emulator's

Load it from your own config and add your authenticator and spawner::

    load_subconfig("/path/to/examples/jupyterhub/jupyterhub_config.py")
"""

import logging
import os
import re
import sys

c = get_config()  # type: ignore[name-defined]  # noqa: F821 - JupyterHub's config loader

SERVICE = "box-widget"
port = int(os.environ.get("BOX_WIDGET_HUB_SERVICE_PORT", "10101"))
public_url = os.environ.get("BOX_WIDGET_HUB_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

# --- the service ---------------------------------------------------------------------------------
# JupyterHub starts it, restarts it if it dies, and stops it with the hub. It gets only the
# variables listed here (and JupyterHub's own JUPYTERHUB_*), never the hub's whole environment.
service_env = {
    name: os.environ[name]
    for name in (
        "BOX_CLIENT_ID",
        "BOX_CLIENT_SECRET",
        "BOX_REDIRECT_URI",
        "BOX_WIDGET_KEY",
        "BOX_WIDGET_KEEPALIVE_DAYS",
        "BOX_WIDGET_KEEPALIVE_INTERVAL",
        "BOX_AUTHORIZE_URL",
        "BOX_TOKEN_URL",
        "BOX_REVOKE_URL",
        "BOX_API_URL",
        "BOX_UPLOAD_URL",
    )
    if os.environ.get(name)
}
service_env["BOX_WIDGET_HOME"] = os.environ.get("BOX_WIDGET_HUB_HOME", "/srv/box-widget")
service_env["BOX_WIDGET_KEYRING"] = "0"  # a server: the key is BOX_WIDGET_KEY or a key file

c.JupyterHub.services = [
    {
        "name": SERVICE,
        "url": f"http://127.0.0.1:{port}",
        "command": [sys.executable, "-m", "box_widget.hub"],
        "environment": service_env,
        # Users are sent to the service by Box's redirect: no "authorize box-widget?" page.
        "oauth_no_confirm": True,
        "display": False,
    }
]


class HideBoxCodeInErrorPages(logging.Filter):
    """While the service is down (restarting), the proxy sends Box's redirect to the hub's error
    page, whose log line names the address asked for, url-encoded inside ``?url=``: JupyterHub
    hides ``code`` and ``state`` parameters, not these. Hide them too."""

    HIDDEN = re.compile(r"((?:code|state)%3D)(?:%(?!26)[0-9A-Fa-f]{2}|[^%&\s])*")

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "%3D" in record.msg:
            record.msg = self.HIDDEN.sub(r"\1[secret]", record.msg)
        return True


logging.getLogger("tornado.access").addFilter(HideBoxCodeInErrorPages())

# --- scopes and roles ----------------------------------------------------------------------------
c.JupyterHub.custom_scopes = {
    "custom:box-widget:admin": {
        "description": "List and revoke every hub user's Box connections in box-widget.",
    },
}
c.JupyterHub.load_roles = [
    # Every user may use the service (their own connections only: the service sees to that)...
    {
        "name": "user",
        "scopes": ["self", f"access:services!service={SERVICE}"],
    },
    # ...and so may their servers, whose token (JUPYTERHUB_API_TOKEN) the kernels inherit.
    {
        "name": "server",
        "scopes": [
            "users:activity!user",
            "access:servers!server",
            f"access:services!service={SERVICE}",
        ],
    },
    # box-widget's administrators: add hub users (or groups) here.
    {
        "name": "box-widget-admin",
        "scopes": ["custom:box-widget:admin", f"access:services!service={SERVICE}"],
        "users": [u for u in os.environ.get("BOX_WIDGET_HUB_ADMINS", "").split(",") if u],
    },
    # The service needs no role: it asks the Hub only who a token belongs to, with that very
    # token (GET /hub/api/user), which any token may do.
]

# --- users' servers ------------------------------------------------------------------------------
# box-widget in each user's server and kernel finds the service here (hub mode); added to
# whatever environment your own config gives users' servers.
c.Spawner.environment.update({"BOX_WIDGET_HUB_URL": f"{public_url}/services/{SERVICE}/"})
