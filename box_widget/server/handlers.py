"""The extension's routes: Box's OAuth callback (a page) and a status API (JSON)."""

from __future__ import annotations

import asyncio
import json
import time
import traceback
from typing import TYPE_CHECKING, Any, cast

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import url_path_join
from tornado import web

from .._version import __version__
from ..authorize import (
    claim_pending_sign_in,
    params_from_redirect,
    refuse_unknown_state,
    sign_in_with_box_answer,
)
from ..errors import BoxWidgetError
from ..protocol import CALLBACK_PATH
from ..records import BoxUser
from .hub_mode import hub_status
from .pages import ADVICE, callback_page, explain, failure

if TYPE_CHECKING:
    from .app import BoxWidgetApp

AUTH_RESOURCE = "box_widget"


class BoxHandlerMixin(ExtensionHandlerMixin):
    """Typed access to the extension app (its vault and configuration)."""

    auth_resource = AUTH_RESOURCE

    @property
    def box(self) -> BoxWidgetApp:
        return cast("BoxWidgetApp", self.extensionapp)


class CallbackHandler(BoxHandlerMixin, JupyterHandler):
    """``GET box-widget/oauth2/callback``: finish the sign-in the moment Box redirects back."""

    async def prepare(self) -> None:  # type: ignore[override]
        # Keep the query (code, state) out of every log line and out of the login page's
        # ``next`` address: read it here, then forget it in the request.
        self._query = self.request.query
        self.request.uri = self.request.path
        self.request.query = ""
        await super().prepare()

    @web.authenticated
    @authorized
    async def get(self) -> None:
        started = time.perf_counter()
        self._name: str | None = None
        # GET maps to "read"; completing a sign-in writes tokens, so it needs "write" as well.
        if not self.authorizer.is_authorized(self, self.current_user, "write", AUTH_RESOURCE):
            self._outcome(
                403,
                ok=False,
                name=None,
                error="forbidden",
                title="Your Jupyter account may not connect Box here.",
                detail="Completing a sign-in saves tokens, which needs the 'write' "
                "permission on box_widget; ask the server's administrator. Nothing "
                "was saved.",
            )
            return
        try:
            params = params_from_redirect("?" + self._query)
            refuse_unknown_state(self.box.vault, params)  # a forged or stale state ends here
            # The code dies 30 s after Box issued it: finish now, off the event loop (the vault
            # lock, decryption and the exchange all block).
            user = await asyncio.get_running_loop().run_in_executor(None, self._finish, params)
        except BoxWidgetError as exc:
            status, error, title = failure(exc, "This Jupyter server cannot finish the sign-in.")
            self._outcome(
                status, ok=False, name=self._name, error=error, title=title, detail=explain(exc)
            )
            return
        except Exception as exc:  # anything else still gets this page, never a bare 500
            where = traceback.extract_tb(exc.__traceback__)[-1]
            self.log.error(
                "box-widget: the callback failed unexpectedly: %s at %s:%s (connection %r; "
                "tokens already saved stay saved)",
                type(exc).__name__,
                where.filename,
                where.lineno,
                self._name,
            )
            self._outcome(
                500,
                ok=False,
                name=self._name,
                error="internal",
                title="box-widget could not finish the sign-in.",
                detail=f"An unexpected {type(exc).__name__} happened; the Jupyter "
                f"server's log says where. {ADVICE['retry']}",
            )
            return
        self.log.info(
            "box-widget: connection %r connected in %.0f ms",
            self._name,
            1000 * (time.perf_counter() - started),
        )
        self._outcome(
            200,
            ok=True,
            name=self._name,
            user=user,
            title=f"Connected to Box as {user['name']} ({user['login']}).",
            detail="You can close this window.",
        )

    def _finish(self, params: dict[str, str]) -> BoxUser:
        """Claim the pending sign-in, read Box's answer, exchange the code, save."""
        pending = claim_pending_sign_in(self.box.vault, params)
        self._name = pending["name"]
        secret = self.box.secret_for_sign_in(pending)  # the server's app, at its addresses
        return sign_in_with_box_answer(self.box.vault, pending, params, server_secret=secret)

    def _outcome(self, status: int, **page: Any) -> None:
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.finish(callback_page(**page))


class StatusHandler(BoxHandlerMixin, APIHandler):
    """``GET box-widget/api/status``: is the extension here, and what is connected (no tokens);
    its JSON is described in ``protocol``."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        app = self.box
        if app.hub_url:  # the service answers (off the event loop: a request)
            answer = await asyncio.get_running_loop().run_in_executor(
                None, hub_status, app.hub_url, __version__
            )
            self.set_header("Cache-Control", "no-store")
            self.finish(json.dumps(answer))
            return
        vault = app.vault
        self.finish(
            json.dumps(
                {
                    "version": __version__,
                    "mode": "single-user",
                    "vault": vault.status(),
                    "callback_path": url_path_join(self.base_url, CALLBACK_PATH),
                    "client_id": app.client_id or None,
                    "endpoints": app.endpoints.to_dict(),
                    "client_secret_configured": bool(app.client_secret),
                    "connections": [vault.summary(name).to_status() for name in vault.names()],
                }
            )
        )
