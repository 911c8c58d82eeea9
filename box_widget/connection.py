"""``BoxConnection``: one named Box connection: its settings, its vault record, its session."""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from . import audit, oauth
from .authorize import (
    RECORD_VERSION,
    fetch_user,
    finish_pending,
    redirect_params,
    save_new_connection,
    take_pending,
)
from .endpoints import BoxEndpoints
from .errors import BoxWidgetError, ConfigurationError, ReauthorizationRequired
from .session import BoxSession
from .tokens import TokenKeeper, normalize
from .tokens import connected as usable
from .vault import Vault, VaultError, check_name

log = logging.getLogger(__name__)


def connections(home: str | os.PathLike[str] | None = None) -> list[str]:
    """The names of the saved connections."""
    return Vault(home).names()


class BoxConnection:
    """A named connection to one Box account.

    Parameters
    ----------
    name
        The connection's name; a saved connection of that name is loaded.
    client_id, client_secret, redirect_uri
        The Box app's credentials and registered redirect URI. Unset values come from the saved
        connection, then ``BOX_CLIENT_ID``, ``BOX_CLIENT_SECRET`` and ``BOX_REDIRECT_URI``.
    endpoints
        Box's URLs; by default the saved ones, else ``BoxEndpoints.from_env()``.
    home
        The vault folder; ``BOX_WIDGET_HOME``, else ``<jupyter data dir>/box_widget``.
    """

    def __init__(
        self,
        name: str = "default",
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str | None = None,
        endpoints: BoxEndpoints | None = None,
        home: str | os.PathLike[str] | None = None,
    ) -> None:
        self.name = check_name(name)
        self.vault = Vault(home)
        self._session: BoxSession | None = None
        try:
            saved = self.vault.load(self.name) or {}
        except VaultError as exc:  # still a connection: its form can connect it again
            log.warning("%s", exc)
            saved = {}
        self._load(
            saved,
            client_id=client_id,
            client_secret=client_secret,
            redirect_uri=redirect_uri,
            endpoints=endpoints,
        )

    def _load(
        self,
        saved: dict[str, Any],
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str | None = None,
        endpoints: BoxEndpoints | None = None,
    ) -> None:
        """Settings: those given, else the saved connection's, else the environment's."""
        env = os.environ
        self.client_id: str | None = (
            client_id or saved.get("client_id") or env.get("BOX_CLIENT_ID") or None
        )
        self._client_secret: str | None = (
            client_secret or saved.get("client_secret") or env.get("BOX_CLIENT_SECRET") or None
        )
        self.redirect_uri: str | None = (
            redirect_uri or saved.get("redirect_uri") or env.get("BOX_REDIRECT_URI") or None
        )
        if endpoints is None:
            endpoints = (
                BoxEndpoints.from_dict(saved["endpoints"])
                if saved.get("endpoints")
                else BoxEndpoints.from_env()
            )
        self.endpoints = endpoints

    def __repr__(self) -> str:
        try:
            record = self._record()
        except VaultError:
            record = None
        user = (record or {}).get("user") or {}
        return (
            f"BoxConnection(name={self.name!r}, client_id={self.client_id!r}, "
            f"client_secret={'***' if self._client_secret else None}, "
            f"connected={usable(record)}, user={user.get('login')!r}, "
            f"vault={self.vault.key_source!r})"
        )

    @classmethod
    def from_client_credentials(
        cls,
        name: str,
        *,
        client_id: str,
        client_secret: str,
        subject_type: str,
        subject_id: str,
        endpoints: BoxEndpoints | None = None,
        home: str | os.PathLike[str] | None = None,
    ) -> BoxConnection:
        """A connection for unattended runs (Client Credentials Grant: no browser, no refresh
        token; a new token is requested whenever one expires)."""
        if subject_type not in {"enterprise", "user"}:
            msg = "subject_type must be 'enterprise' (the service account) or 'user'"
            raise ConfigurationError(msg)
        conn = cls(
            name, client_id=client_id, client_secret=client_secret, endpoints=endpoints, home=home
        )
        client = oauth.TokenClient(conn.endpoints, client_id, client_secret)
        try:
            token = normalize(client.client_credentials(subject_type, subject_id))
            user = fetch_user(conn.endpoints, token["access_token"])
        except BoxWidgetError as exc:
            audit.failure(
                conn.vault.home,
                conn.name,
                "connect-failed",
                exc,
                kind="client_credentials",
                step="token",
            )
            raise
        save_new_connection(
            conn.vault,
            {
                "version": RECORD_VERSION,
                "name": conn.name,
                "kind": "client_credentials",
                "client_id": client_id,
                "client_secret": client_secret,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "endpoints": conn.endpoints.to_dict(),
                "token": token,
                "user": user,
                "connected_at": time.time(),
            },
        )
        return conn

    # --- state ---------------------------------------------------------------------------------
    def _record(self) -> dict[str, Any] | None:
        return self.vault.load(self.name)

    @property
    def connected(self) -> bool:
        """Whether the vault holds a usable token for this connection."""
        return usable(self._record())

    @property
    def user(self) -> dict[str, Any] | None:
        """The Box user this connection signed in as (id, name, login), if connected."""
        return (self._record() or {}).get("user")

    @property
    def token_expires_at(self) -> float | None:
        """When the current access token expires (seconds since the epoch), if connected."""
        token = (self._record() or {}).get("token") or {}
        return float(token["expires_at"]) if token.get("expires_at") else None

    @property
    def vault_status(self) -> dict[str, Any]:
        """Where the vault is and where its key lives (``env``, ``keyring`` or ``file``)."""
        return self.vault.status()

    # --- the authorization flow ------------------------------------------------------------------
    def authorization_url(self, *, secret_on_server: bool = False) -> str:
        """Box's authorize URL with a new single-use ``state``, recorded as pending in the vault
        for 10 minutes so that this or another process (the server extension) can finish it.

        ``secret_on_server``: the Jupyter server holds this app's secret (an administrator set
        ``c.BoxWidgetApp.client_secret``); the kernel needs none, and the callback fills it in.
        """
        client_id, secret, redirect_uri = self.client_id, self._client_secret, self.redirect_uri
        if not (client_id and (secret or secret_on_server) and redirect_uri):
            missing = [
                env
                for env, value in (
                    ("BOX_CLIENT_ID", client_id),
                    ("BOX_CLIENT_SECRET", secret or secret_on_server),
                    ("BOX_REDIRECT_URI", redirect_uri),
                )
                if not value
            ]
            msg = (
                f"Connection {self.name!r} needs {', '.join(missing)}: pass client_id=, "
                "client_secret= and redirect_uri= (the Redirect URI registered in the Box "
                "Developer Console), or set those environment variables."
            )
            raise ConfigurationError(msg)
        state = oauth.new_state()
        url = oauth.authorization_url(self.endpoints, client_id, redirect_uri, state)
        self.vault.add_pending(
            state,
            {
                "name": self.name,
                "client_id": client_id,
                "client_secret": secret,
                "redirect_uri": redirect_uri,
                "endpoints": self.endpoints.to_dict(),
            },
        )
        return url

    def complete(self, redirected_url: str) -> dict[str, Any]:
        """Finish the headless flow from the address Box redirected the browser to: check the
        state, exchange the code, save the tokens; the Box user (id, name, login)."""
        params = redirect_params(redirected_url)
        pending = take_pending(self.vault, params, name=self.name)
        user = finish_pending(self.vault, pending, params)
        self._load(self.vault.load(self.name) or {})
        self._session = None
        return user

    # --- the form ------------------------------------------------------------------------------
    @property
    def form(self) -> Any:
        """The connection form (an anywidget); displaying the connection displays it."""
        if getattr(self, "_form", None) is None:
            from .widget import ConnectionForm

            self._form = ConnectionForm(self)
        return self._form

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = self.form._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict):
            data["text/plain"] = repr(self)
        return bundle

    # --- using it -------------------------------------------------------------------------------
    @property
    def session(self) -> BoxSession:
        """An authenticated ``requests`` session that refreshes itself and saves new tokens."""
        if self._session is None:
            record = self._record()
            if not record or not record.get("token"):
                msg = (
                    f"Connection {self.name!r} is not connected yet: click Generate in its "
                    "form, or use conn.authorization_url() then conn.complete(address)."
                )
                raise ReauthorizationRequired(msg)
            endpoints = BoxEndpoints.from_dict(record["endpoints"])
            client = oauth.TokenClient(endpoints, record["client_id"], record["client_secret"])
            keeper = TokenKeeper(self.vault, self.name, record, client)
            self._session = BoxSession(keeper, endpoints)
        return self._session

    def audit_log(self) -> list[dict[str, Any]]:
        """This connection's audit trail, oldest first: time, process id, host and event
        (``connect``, ``refresh``, ``refresh-failed``, ``revoke``...); never token material."""
        return audit.read(self.vault.home, self.name)

    def test_connection(self) -> dict[str, Any]:
        """``GET users/me`` through the session: the Box user, or a clear error."""
        user: dict[str, Any] = self.session.get("users/me").json()
        return user

    def revoke(self) -> None:
        """Revoke the tokens at Box and delete the connection from the vault.

        Under the connection's lock from reading the tokens to deleting them: a refresh by
        another thread or process cannot slip in between and leave a new pair live at Box.
        """
        self._session = None
        with self.vault.lock(self.name):
            record = self._record()
            if record is None:
                return
            failures = _revoke_at_box(record)
            self.vault.delete(self.name)
        audit.record(self.vault.home, self.name, "revoke", at_box=not failures)
        if failures:
            msg = (
                "Disconnected on this machine (the tokens are deleted from the vault), but "
                f"Box could not be told to revoke them: {failures[0]} The access token stops "
                "working within the hour; revoke the app's access in Box's account settings "
                "to be sure."
            )
            raise BoxWidgetError(msg)


def _revoke_at_box(record: dict[str, Any]) -> list[str]:
    """Revoke a saved connection's tokens at Box; the failures, in words."""
    token = record.get("token") or {}
    client = oauth.TokenClient(
        BoxEndpoints.from_dict(record["endpoints"]), record["client_id"], record["client_secret"]
    )
    failures = []
    for kind in ("refresh_token", "access_token"):
        if token.get(kind):
            try:
                client.revoke(token[kind])
            except BoxWidgetError as exc:
                failures.append(str(exc))
    return failures
