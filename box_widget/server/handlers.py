"""The extension's routes: Box's OAuth callback (a page) and a status API (JSON)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any, cast

from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from jupyter_server.utils import url_path_join
from tornado import web

from .._version import __version__
from ..authorize import check_pending, finish_pending, redirect_params, take_pending
from ..errors import AuthorizationError, BoxWidgetError, ConfigurationError
from ..tokens import connected
from ..vault import VaultError, VaultWriteError
from .pages import callback_page

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
        try:
            params = redirect_params("?" + self._query)
            check_pending(self.box.vault, params)  # a forged or stale state ends here, cheaply
            # The code dies 30 s after Box issued it: finish now, off the event loop (the vault
            # lock, decryption and the exchange all block).
            user = await asyncio.get_running_loop().run_in_executor(None, self._finish, params)
        except AuthorizationError as exc:
            self._outcome(
                400,
                ok=False,
                name=self._name,
                error=exc.error or "failed",
                title=self._failure_title(exc),
                detail=str(exc),
            )
            return
        except ConfigurationError as exc:
            self._outcome(
                400,
                ok=False,
                name=self._name,
                error="configuration",
                title="This Jupyter server cannot finish the sign-in.",
                detail=str(exc),
            )
            return
        except VaultWriteError as exc:
            self._outcome(
                503,
                ok=False,
                name=self._name,
                error="vault_unwritable",
                title="box-widget could not save the connection.",
                detail=f"{exc} Then click Generate again: this sign-in is used up.",
            )
            return
        except BoxWidgetError as exc:
            self._outcome(
                502,
                ok=False,
                name=self._name,
                error="box_unavailable",
                title="Box could not finish the sign-in.",
                detail=f"{exc} Then click Generate again: this sign-in is used up.",
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
            title=f"Connected to Box as {user.get('name')} ({user.get('login')}).",
            detail="You can close this window.",
        )

    def _finish(self, params: dict[str, str]) -> dict[str, Any]:
        """Take the pending authorization, read Box's answer, exchange the code, save."""
        pending = take_pending(self.box.vault, params)
        self._name = pending.get("name")
        return finish_pending(self.box.vault, self.box.fill_in(pending), params)

    @staticmethod
    def _failure_title(exc: AuthorizationError) -> str:
        if exc.error == "access_denied":
            return "You declined access to Box."
        if exc.error == "invalid_state":
            return "This sign-in link is no longer valid."
        return "Box did not connect."

    def _outcome(self, status: int, **page: Any) -> None:
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")
        self.finish(callback_page(**page))


class StatusHandler(BoxHandlerMixin, APIHandler):
    """``GET box-widget/api/status``: is the extension here, and what is connected (no tokens)."""

    @web.authenticated
    @authorized
    def get(self) -> None:
        app = self.box
        vault = app.vault
        connections = []
        for name in vault.names():
            try:
                record = vault.load(name) or {}
            except VaultError:
                connections.append({"name": name, "connected": False, "error": "unreadable"})
                continue
            token = record.get("token") or {}
            user = record.get("user") or {}
            connections.append(
                {
                    "name": name,
                    "connected": connected(record),
                    "kind": record.get("kind"),
                    "user": {"name": user.get("name"), "login": user.get("login")},
                    "expires_at": token.get("expires_at"),
                }
            )
        self.finish(
            json.dumps(
                {
                    "version": __version__,
                    "vault": vault.status(),
                    "callback_path": url_path_join(self.base_url, "box-widget/oauth2/callback"),
                    "client_id": app.client_id or None,
                    "endpoints": app.endpoints.to_dict(),
                    "client_secret_configured": bool(app.client_secret),
                    "connections": connections,
                }
            )
        )
