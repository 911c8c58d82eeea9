"""Who is asking: JupyterHub's own authentication, for browsers and for API callers.

Browsers carry the service's HubOAuth cookie (``HubOAuthenticated``; without one, JupyterHub's
OAuth login, which comes back to the very address asked for). API callers send a Hub API token
(``Authorization: token ...``), resolved with ``HubAuth`` to the hub user and the token's
scopes. Both ask the Hub asynchronously in ``prepare`` (JupyterHub's synchronous path would
block the event loop), and the Hub's answer is cached by ``HubAuth`` for a few minutes.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from jupyterhub.services.auth import (
    HubAuth,
    HubOAuth,
    HubOAuthCallbackHandler,
    HubOAuthenticated,
    check_scopes,
)
from tornado import web

from ..token_api import json_object
from .logs import QuietRequestLog

if TYPE_CHECKING:
    from .service import HubBox

#: The custom scope of the service's administrators (``c.JupyterHub.custom_scopes``).
ADMIN_SCOPE = "custom:box-widget:admin"


class HubHandler(QuietRequestLog):
    """What every handler of the service shares: the Box app, the redirect URI, no caching."""

    def initialize(
        self, box: HubBox, redirect_uri: str, api_auth: HubAuth, browser_auth: HubOAuth
    ) -> None:
        self.box = box
        self.configured_redirect_uri = redirect_uri
        self.api_auth = api_auth
        self.browser_auth = browser_auth

    def set_default_headers(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")

    def redirect_uri(self) -> str:
        """The one redirect URI: configured, else the browser's view of this service (scheme
        and host as the proxy forwards them) and ``oauth2/callback`` under its prefix."""
        if self.configured_redirect_uri:
            return self.configured_redirect_uri
        return self._origin() + str(self.settings["callback_path"])

    def public_base(self) -> str:
        """This service's base URL as the caller reached it (through the proxy: scheme and
        host as it forwards them), ending in ``/``."""
        return self._origin() + str(self.settings["service_prefix"])

    def _origin(self) -> str:
        headers = self.request.headers
        scheme = headers.get("X-Forwarded-Proto", self.request.protocol).split(",")[0].strip()
        host = headers.get("X-Forwarded-Host", self.request.host).split(",")[0].strip()
        return f"{scheme}://{host}"


class HubBrowserHandler(HubOAuthenticated, HubHandler):
    """A page for a browser logged in to the hub (the service's HubOAuth cookie)."""

    def initialize(
        self, box: HubBox, redirect_uri: str, api_auth: HubAuth, browser_auth: HubOAuth
    ) -> None:
        super().initialize(box, redirect_uri, api_auth, browser_auth)
        self.hub_auth = browser_auth

    async def prepare(self) -> None:
        # Ask the Hub without blocking the loop; get_current_user then finds the answer cached.
        await self.hub_auth.get_user(self, sync=False)


class HubAPIHandler(HubHandler):
    """A JSON route for a Hub API token's owner; 403 JSON without a usable token."""

    hub_model: dict[str, Any]

    def set_default_headers(self) -> None:
        super().set_default_headers()
        self.set_header("Content-Type", "application/json; charset=utf-8")

    #: The scopes a caller needs (any one of them).
    def required_scopes(self) -> set[str]:
        return set(self.api_auth.access_scopes)

    async def prepare(self) -> None:
        token = self.api_auth.get_token(self, in_cookie=False)
        model = await self.api_auth.user_for_token(token, sync=False) if token else None
        if not model:
            raise web.HTTPError(403, "a Hub API token is required (Authorization: token ...)")
        if not check_scopes(self.required_scopes(), set(model.get("scopes", []))):
            raise web.HTTPError(403, "this token may not use the box-widget service")
        self.hub_model = model

    @property
    def hub_user(self) -> str:
        """The hub user the token belongs to (a service's token has none: 403)."""
        if self.hub_model.get("kind", "user") != "user":
            raise web.HTTPError(403, "only a hub user's token has Box connections")
        return str(self.hub_model["name"])

    def body(self) -> dict[str, Any]:
        """The request's JSON object body (``{}`` when empty)."""
        body = json_object(self.request.body)
        if body is None:
            raise web.HTTPError(400, "the body must be a JSON object")
        return body

    def answer(self, data: dict[str, Any], status: int = 200) -> None:
        self.set_status(status)
        self.finish(json.dumps(data))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        """Every failure as JSON (``{"error", "message"}``), never a page or a traceback."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.log_message if isinstance(exc, web.HTTPError) and exc.log_message else ""
        kind = {403: "forbidden", 404: "not_found", 400: "bad_request"}.get(status_code, "error")
        self.finish(json.dumps({"error": kind, "message": message or self._reason}))


class HubAdminHandler(HubAPIHandler):
    """A JSON route for the service's administrators (``custom:box-widget:admin``)."""

    def required_scopes(self) -> set[str]:
        return {ADMIN_SCOPE}


class OAuthCallbackHandler(HubOAuthCallbackHandler, QuietRequestLog):
    """``GET oauth_callback``: JupyterHub's own end of the service's HubOAuth login."""

    def initialize(self, browser_auth: HubOAuth, **_: Any) -> None:
        self.hub_auth = browser_auth
