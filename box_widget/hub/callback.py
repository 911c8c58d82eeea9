"""``GET oauth2/callback``: the hub's one redirect URI, where Box sends every hub user's browser.

The browser must be logged in to the hub (the service's HubOAuth cookie). Without the cookie,
JupyterHub's OAuth login runs first and comes back to this very address, Box's ``code`` and
``state`` included: HubOAuth keeps the address in the service's memory, under the id of its
state cookie, and never sends it to the Hub. The code is exchanged the moment the logged-in
browser arrives. A sign-in is looked for only in the logged-in hub user's vault: another
user's pending sign-in is refused, never read, taken or changed.
"""

from __future__ import annotations

import asyncio
import logging
import traceback
from typing import Any

from tornado import web

from ..authorize import params_from_redirect, refuse_unknown_state
from ..errors import AuthorizationError, BoxWidgetError
from ..server.pages import ADVICE, STALE, callback_page, explain, failure
from .auth import HubBrowserHandler

log = logging.getLogger(__name__)


class CallbackHandler(HubBrowserHandler):
    """Finish the sign-in of the logged-in hub user."""

    @web.authenticated
    async def get(self) -> None:
        hub_user = str(self.current_user["name"])
        try:
            params = params_from_redirect("?" + self.request.query)
        except AuthorizationError as exc:
            self.page(
                400, ok=False, name=None, error="invalid_request", title=TITLE, detail=exc.what
            )
            return
        try:  # a forged, used or old state ends here: one file's existence, no lock
            refuse_unknown_state(self.box.vaults.for_user(hub_user), params)
        except AuthorizationError:
            self.unknown(hub_user, params.get("state", ""))
            return
        try:
            name, user = await asyncio.get_running_loop().run_in_executor(
                None, self.box.finish_sign_in, hub_user, params
            )
        except BoxWidgetError as exc:
            status, error, title = failure(exc, CONFIGURATION)
            detail = explain(exc)
            self.page(
                status, ok=False, name=exc.connection, error=error, title=title, detail=detail
            )
            return
        except Exception as exc:  # anything else still gets this page, never a bare 500
            where = traceback.extract_tb(exc.__traceback__)[-1]
            log.error(
                "the callback of hub user %r failed: %s at %s:%s",
                hub_user,
                type(exc).__name__,
                where.filename,
                where.lineno,
            )
            detail = f"An unexpected {type(exc).__name__} happened. {ADVICE['retry']}"
            self.page(500, ok=False, name=None, error="internal", title=FAILED, detail=detail)
            return
        log.info("hub user %r: connection %r connected", hub_user, name)
        title = f"Connected to Box as {user['name']} ({user['login']})."
        self.page(
            200,
            ok=True,
            name=name,
            user=dict(user),
            title=title,
            detail="You can close this window.",
        )

    def unknown(self, hub_user: str, state: str) -> None:
        """A state this hub user has no pending sign-in for: another user's, used, or old."""
        if state and self.box.vaults.pending_elsewhere(hub_user, state):
            log.warning("hub user %r brought another hub user's sign-in: refused", hub_user)
            detail = (
                f"You are logged in to the hub as {hub_user!r}, and this sign-in was started "
                "by another hub user. Nothing was saved, and their sign-in is left as it was. "
                "Log in to the hub as the user who clicked Generate, or click Generate yourself."
            )
            self.page(
                403, ok=False, name=None, error="wrong_hub_user", title=REFUSED, detail=detail
            )
            return
        detail = (
            "This sign-in was already completed, is older than 10 minutes, or was never "
            f"started by {hub_user!r}. Nothing was saved. {ADVICE['reconnect']}"
        )
        self.page(400, ok=False, name=None, error="invalid_state", title=STALE, detail=detail)

    def page(self, status: int, **page: Any) -> None:
        self.set_status(status)
        self.finish(callback_page(**page))


TITLE = "This is not an address Box sent."
FAILED = "box-widget could not finish the sign-in."
REFUSED = "This sign-in belongs to another hub user."
#: The title of a failed sign-in when the service is misconfigured.
CONFIGURATION = "The hub's box-widget service cannot finish the sign-in."
