"""The connection form, kernel side: an anywidget whose browser side is ``labextension/form.js``.

Nothing secret is a synced trait: the client secret arrives as a widget *message* and stays in
the kernel's memory; tokens never leave the vault (the form shows the last 4 characters). The
messages and routes are ``protocol``'s.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import anywidget
import requests
from traitlets import Bool, Dict, Float, Unicode, observe

from . import form_watch, protocol, redact
from .assets import asset
from .authorize import redirect_refused
from .errors import BoxWidgetError
from .form_words import (
    ADVICE,
    DISCONNECTED,
    DISCONNECTED_HUB,
    NOT_CONNECTED,
    SIGNED_OUT,
    UNREACHABLE,
)

if TYPE_CHECKING:
    from .connection import BoxConnection

#: A prepared authorize address is replaced by a fresh one after this long while the form waits
#: for a click (its pending record lives 600 s): whenever Generate is clicked, the sign-in at
#: Box still has at least 5 minutes.
RENEW_SECONDS = 300.0
redact.install()


class ConnectionForm(anywidget.AnyWidget):
    """The Box connection form: Client ID, Client Secret, Generate, Test Connection."""

    _esm = protocol.javascript() + asset("form.js").read_text(encoding="utf-8")
    _css = asset("form.css")

    name = Unicode(help="The connection's name.").tag(sync=True)
    client_id = Unicode(help="The Box app's client id (not a secret).").tag(sync=True)
    secret_set = Bool(
        False, help="Whether the kernel holds a client secret; the secret itself is never synced."
    ).tag(sync=True)
    server_client_id = Unicode(
        help="The Box app whose secret the Jupyter server holds (its status API says)."
    ).tag(sync=True)
    server_endpoints = Dict(
        help="Box's URLs as the Jupyter server is configured (its status API); a new "
        "connection uses them unless it was given its own."
    ).tag(sync=True)
    redirect_uri = Unicode(
        help="The callback address: the page's origin + the status API's callback_path."
    ).tag(sync=True)
    redirect_hint = Unicode(
        help="The line under the Redirect URL (default: register exactly this URL)."
    ).tag(sync=True)
    mode = Unicode("unknown", help="'server' with the server extension, else 'headless'.").tag(
        sync=True
    )
    ready = Bool(False, help="Whether an authorize address (sent as a message) is ready.").tag(
        sync=True
    )
    state = Unicode("new", help="new, waiting, connected, error or disconnected.").tag(sync=True)
    message = Unicode(help="The status line, in plain words.").tag(sync=True)
    user_name = Unicode(help="The connected Box user's name.").tag(sync=True)
    user_login = Unicode(help="The connected Box user's login.").tag(sync=True)
    token_hint = Unicode(help="The access token's last 4 characters.").tag(sync=True)
    expires_at = Float(0.0, help="When the access token expires (epoch seconds).").tag(sync=True)
    signed_out = Bool(
        False, help="Whether Box refused the saved connection's sign-in (sign in again)."
    ).tag(sync=True)
    key_source = Unicode(help="Where the vault key lives: env, keyring or file.").tag(sync=True)

    def __init__(self, connection: BoxConnection, **kwargs: Any) -> None:
        self._conn = connection  # before the traits, whose observers use it
        self._watch = form_watch.SignInWatch(connection, self._tokens_came, self._nothing_came)
        self._renewal: threading.Timer | None = None
        self._closed = False
        self.authorize_url = ""
        self._prepared_for: tuple[Any, ...] | None = None  # the inputs of authorize_url
        self._handlers: dict[str, Callable[[dict[str, Any]], None]] = {
            protocol.HELLO: lambda _content: self._send_url(),
            protocol.SECRET: self._take_secret,
            protocol.GENERATE: lambda content: self._waiting(opened=bool(content.get("opened", 1))),
            protocol.OUTCOME: self._outcome,
            protocol.TEST: lambda _content: self._test(),
            protocol.DISCONNECT: lambda _content: self._disconnect(),
            protocol.COMPLETE: self._complete,
            protocol.WINDOW_CLOSED: lambda _content: self._watch.window_closed(),
        }
        super().__init__(
            name=connection.name,
            client_id=connection.client_id or "",
            secret_set=connection.has_client_secret,
            key_source=connection.vault_status["key_source"],
            **kwargs,
        )
        self.on_msg(self._on_message)
        self._show_saved()

    def __repr__(self) -> str:
        return f"ConnectionForm(name={self.name!r}, state={self.state!r})"

    # --- what the browser asks ------------------------------------------------------------------
    def _on_message(self, _widget: Any, content: dict[str, Any], _buffers: Any) -> None:
        handler = self._handlers.get(str(content.get("type")))
        if handler is None:
            return
        try:
            handler(content)
        except BoxWidgetError as exc:
            self._failed(self.explain(exc))
        except requests.JSONDecodeError:  # (a ValueError) a proxy's error page, a cut body
            self._failed(UNREACHABLE.format(what="its answer could not be read"))
        except requests.RequestException as exc:  # refused, timed out, no route
            what = "it did not answer in time" if isinstance(exc, requests.Timeout) else None
            self._failed(UNREACHABLE.format(what=what or "the connection failed"))

    def explain(self, exc: BoxWidgetError) -> str:
        """An error as the form says it: what happened, then what to do here."""
        advice = ADVICE.get((exc.action or "", self.mode), "")
        return f"{exc.what} {advice}".strip()

    def _take_secret(self, content: dict[str, Any]) -> None:
        self._conn.set_client_secret(str(content.get("value") or ""))
        self.secret_set = self._conn.has_client_secret
        self._prepare()

    def _test(self) -> None:
        user = self._conn.test_connection()
        # The call may have refreshed the token: show the vault's (hint and expiry).
        self._show_saved(
            message=f"Test Connection: OK, Box user {user.get('name')} ({user.get('login')})."
        )

    def _disconnect(self) -> None:
        self._conn.revoke()
        said = DISCONNECTED_HUB if self._conn.kept_by_hub else DISCONNECTED
        self._set(state="disconnected", message=said, signed_out=False, **NOT_CONNECTED)
        self._prepare()

    def _complete(self, content: dict[str, Any]) -> None:
        self._conn.complete(str(content.get("address") or ""))
        self._show_saved()
        self._prepare()

    def _failed(self, message: str) -> None:
        """The error state, with the vault's token still shown (it is kept) and a fresh
        sign-in prepared."""
        with self.hold_sync():
            self._show_saved()
            self._set(state="error", message=message)
        self._prepare()

    @observe("client_id", "redirect_uri", "mode", "server_client_id", "server_endpoints")
    def _inputs_changed(self, _change: Any) -> None:
        conn = self._conn
        conn.client_id = self.client_id or None
        if self.server_endpoints:
            conn.use_server_endpoints(self.server_endpoints)
        if self.redirect_uri:  # computed by the page (server mode) or typed (headless)
            conn.redirect_uri = self.redirect_uri
        elif conn.redirect_uri and self.mode == "headless":
            self.redirect_uri = conn.redirect_uri
        self._prepare(only_if_changed=True)  # one browser update can change several traits

    # --- state ----------------------------------------------------------------------------------
    def _set(self, **traits: Any) -> None:
        with self.hold_sync():
            for name, value in traits.items():
                setattr(self, name, value)

    def _prepare(self, *, only_if_changed: bool = False) -> None:
        """A fresh single-use authorize address, once client id, secret and redirect URI exist
        (with ``only_if_changed``, only if they differ from those of the current one: each
        address is a pending record in the vault)."""
        conn = self._conn
        on_server = self.secret_on_server
        inputs = (conn.client_id, conn.redirect_uri, on_server, self.mode, conn.endpoints)
        if only_if_changed and inputs == self._prepared_for:
            return
        self._prepared_for = inputs
        self.authorize_url = ""
        if conn.kept_by_hub or (
            conn.client_id and (conn.has_client_secret or on_server) and conn.redirect_uri
        ):
            try:
                self.authorize_url = conn.authorization_url(secret_on_server=on_server)
            except BoxWidgetError as exc:
                self._set(state="error", message=self.explain(exc))
        self._send_url()
        self._schedule_renewal()

    def _schedule_renewal(self) -> None:
        """Replace the authorize address before its pending record gets old (see RENEW_SECONDS)."""
        if self._renewal is not None:
            self._renewal.cancel()
            self._renewal = None
        if self.authorize_url and not self._closed:
            self._renewal = threading.Timer(RENEW_SECONDS, self._renew)
            self._renewal.daemon = True
            self._renewal.start()

    def _renew(self) -> None:
        if self.state == "waiting":  # the address is in use at Box: keep it
            self._schedule_renewal()
        else:
            self._prepare()

    def close(self) -> None:
        """Close the form (and stop replacing its authorize address)."""
        self._closed = True
        if self._renewal is not None:
            self._renewal.cancel()
        super().close()

    @property
    def secret_on_server(self) -> bool:
        """Whether the Jupyter server (or the hub's service) holds the secret of this form's app
        (and the kernel not)."""
        return self._conn.kept_by_hub or (
            self.mode == "server"
            and not self._conn.has_client_secret
            and bool(self.server_client_id)
            and self.server_client_id == self._conn.client_id
        )

    def _send_url(self) -> None:
        """Give the browser the authorize address as a message (not a saved trait)."""
        self.ready = bool(self.authorize_url)
        self.send({"type": protocol.AUTHORIZE_URL, "url": self.authorize_url})

    def _show_saved(self, message: str | None = None) -> None:
        """Show the saved connection (user, token hint, expiry) as connected; or, without a
        saved token, no token."""
        summary = self._conn.summary()
        if summary.problem:  # an unreadable record: say so; Generate replaces it
            self._set(state="error", message=summary.problem)
            return
        if summary.signed_out:  # Box refused its refresh token: say so, Generate is next
            self._set(state="new", message=SIGNED_OUT, signed_out=True, **NOT_CONNECTED)
            return
        self._set(signed_out=False)
        if not summary.token_hint and not (self._conn.kept_by_hub and summary.connected):
            self._set(token_hint="", expires_at=0.0)  # (the hub's service shows no hint)
            return
        self._set(
            state="connected",
            user_name=summary.user_name or "",
            user_login=summary.login or "",
            token_hint=summary.token_hint,
            expires_at=summary.expires_at or 0.0,
            message=message or f"Connected as {summary.user_name} ({summary.login}).",
        )

    def _waiting(self, *, opened: bool) -> None:
        where = "in the window that opened" if opened else "after opening the link below"
        self._set(state="waiting", message=f"Waiting for Box: grant access {where}.")
        self._watch.start()

    def _tokens_came(self) -> None:
        self._show_saved()
        self._prepare()

    def _nothing_came(self, why: str) -> None:
        """Box's window closed (``closed``) or nothing came within the watch (``timeout``). Box
        shows its own error page for a Redirect URL it refuses and never comes back: say so."""
        if self.state != "waiting":
            return
        what = (
            "Box's window closed before the sign-in finished."
            if why == "closed"
            else f"Box did not come back within {form_watch.WATCH_SECONDS / 60:g} minutes."
        )
        refused = redirect_refused(self._conn.redirect_uri)
        abandoned = "Otherwise the sign-in was abandoned: click Generate again."
        self._set(state="error", message=f"{what} {refused} {abandoned}")
        self._prepare()

    def _outcome(self, content: dict[str, Any]) -> None:
        self._watch.stop()
        if content.get("ok"):
            self._show_saved()
        else:
            fallback = "Box did not connect. Click Generate again."
            self._set(state="error", message=str(content.get("message") or fallback))
        self._prepare()
