"""The server extension on a hub where the box-widget service runs (hub mode).

The service is found from ``c.BoxWidgetApp.hub_service_url``, else ``BOX_WIDGET_HUB_URL``, else
the hub's services API (``JUPYTERHUB_API_URL``: ``GET services/box-widget``, when the server's
token may read it). Once found, it is put in this process's environment, so that the kernels
and terminals this server starts inherit it (``hub_client.hub_url``). The status API then
answers with the service's app and this user's connections, asked with the server's own
``JUPYTERHUB_API_TOKEN``.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import requests

from ..errors import BoxWidgetError
from ..hub_client import HUB_TOKEN_ENV, HUB_URL_ENV, HubService, hub_url, service

log = logging.getLogger(__name__)

#: The service's name in ``c.JupyterHub.services`` (as the example configuration has it).
SERVICE_NAME = "box-widget"
#: Seconds to connect to the hub's API and to wait for its answer, once, at the server's start.
DISCOVERY_TIMEOUT = (5.0, 10.0)


def discover(api_url: str, token: str, name: str = SERVICE_NAME) -> str | None:
    """The service's base URL from the hub's services API, or None (no such service, or the
    token may not read it)."""
    http = requests.Session()
    http.trust_env = False
    try:
        with http:
            answer = http.get(
                api_url.rstrip("/") + f"/services/{name}",
                headers={"Authorization": f"token {token}"},
                timeout=DISCOVERY_TIMEOUT,
                allow_redirects=False,
            )
        info = answer.json() if answer.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None
    if not isinstance(info, dict) or not info.get("url") or not info.get("prefix"):
        return None
    return str(info["url"]).rstrip("/") + "/" + str(info["prefix"]).strip("/") + "/"


def settle_hub_url(configured: str) -> str | None:
    """The service's base URL (configured, else the environment's, else discovered), put in
    this process's environment for the kernels and terminals it starts; None: single-user."""
    url = configured.strip() or hub_url()
    if not url:
        api_url = os.environ.get("JUPYTERHUB_API_URL", "")
        token = os.environ.get(HUB_TOKEN_ENV, "")
        url = discover(api_url, token) if api_url and token else None
    if not url:
        return None
    url = url if url.endswith("/") else url + "/"
    os.environ[HUB_URL_ENV] = url
    return url


def hub_status(url: str, version: str) -> dict[str, Any]:
    """The status API's answer in hub mode: the service's app, callback path and this user's
    connections (no secret); what went wrong, in words, when the service cannot say."""
    answer: dict[str, Any] = {
        "version": version,
        "mode": "hub",
        "hub_service_url": url,
        "vault": {"key_source": "hub"},
        "client_secret_configured": True,
    }
    try:
        status = HubService(service(url)).status()
    except BoxWidgetError as exc:
        log.warning("box-widget: the hub's service did not give its status: %s", exc.what)
        return {**answer, "client_id": None, "connections": [], "error": exc.what}
    shown = ("client_id", "endpoints", "callback_path", "redirect_uri", "connections")
    return {**answer, **{key: status.get(key) for key in shown if key in status}}
