"""``BoxConnection``: one named Box connection: its settings, its vault record, its session."""

from __future__ import annotations

import logging
import os
from typing import Any

from . import audit, oauth, records, token_source
from .authorize import claim_pending_sign_in, params_from_redirect, sign_in_with_box_answer
from .endpoints import BoxEndpoints
from .errors import ConfigurationError, ReauthorizationRequired, VaultError
from .hub_client import HubService, hub_url
from .portable import PortableConnection
from .protocol import REDIRECT_HINT_ENV
from .records import BoxUser, ConnectionRecord, ConnectionSummary, uses_server_app
from .revoke import revoke_saved
from .server_source import ServerTokenSource
from .session import BoxSession
from .store import connect_with_client_credentials
from .vault import Vault, check_name

log = logging.getLogger(__name__)

#: The settings a browser sign-in needs, and the environment variable that gives each.
SIGN_IN_SETTINGS = {
    "client_id": "BOX_CLIENT_ID",
    "client_secret": "BOX_CLIENT_SECRET",
    "redirect_uri": "BOX_REDIRECT_URI",
}


def connections(home: str | os.PathLike[str] | None = None) -> list[str]:
    """The names of the saved connections (reading only: an empty vault stays unmade); in
    hub mode, those the hub's box-widget service keeps for you."""
    if hub_url():
        return [summary.name for summary in HubService().summaries()]
    return Vault(home, create=False).names()


class BoxConnection(PortableConnection):
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

    In hub mode (``BOX_WIDGET_HUB_URL``: see ``hub_client``) it is a ``HubConnection``: the
    hub's box-widget service keeps it, and nothing secret is held in this process.
    """

    #: Whether the hub's box-widget service keeps this connection (``hub_connection``).
    kept_by_hub = False

    def __new__(cls, *_args: Any, **_kwargs: Any) -> BoxConnection:
        if cls is BoxConnection and hub_url():
            from .hub_connection import HubConnection

            cls = HubConnection
        return super().__new__(cls)

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
        self._form: Any = None
        try:
            saved = self.vault.load(self.name)
        except VaultError as exc:  # still a connection: its form can connect it again
            log.warning("%s", exc)
            saved = None
        self._settle(saved, client_id, client_secret, redirect_uri, endpoints)

    def _settle(
        self,
        saved: ConnectionRecord | None,
        client_id: str | None = None,
        secret: str | None = None,
        redirect_uri: str | None = None,
        endpoints: BoxEndpoints | None = None,
    ) -> None:
        """Settings: those given, else the saved connection's, else the environment's."""
        given = {"client_id": client_id, "client_secret": secret, "redirect_uri": redirect_uri}
        old: dict[str, Any] = dict(saved) if saved else {}
        found = {
            setting: given[setting] or old.get(setting) or os.environ.get(variable) or None
            for setting, variable in SIGN_IN_SETTINGS.items()
        }
        if uses_server_app(saved):  # the server's app: its secret is the server's alone
            found["client_secret"] = secret or None
        self.client_id: str | None = found["client_id"]
        self._client_secret: str | None = found["client_secret"]
        self.redirect_uri: str | None = found["redirect_uri"]
        #: Where the endpoints came from: ``given``, ``saved`` or ``environment``.
        self.endpoints_from = "given" if endpoints else "saved" if saved else "environment"
        if endpoints is None:
            endpoints = (
                BoxEndpoints.from_dict(saved["endpoints"]) if saved else BoxEndpoints.from_env()
            )
        self.endpoints = endpoints

    def use_server_endpoints(self, endpoints: dict[str, str]) -> None:
        """Box's URLs as the Jupyter server is configured (``c.BoxWidgetApp.*_url``), for a
        connection whose own come from the environment only."""
        if self.endpoints_from == "environment":
            self.endpoints = BoxEndpoints.from_dict(endpoints)

    def __repr__(self) -> str:
        summary = self.summary()
        return (
            f"BoxConnection(name={self.name!r}, client_id={self.client_id!r}, "
            f"client_secret={'***' if self._client_secret else None}, "
            f"connected={summary.connected}, user={summary.login!r}, "
            f"vault={self.vault_status['key_source']!r})"
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
        """Unattended runs (Client Credentials Grant): no browser; a new token at each expiry."""
        if subject_type not in {"enterprise", "user"}:
            msg = "subject_type must be 'enterprise' (the service account) or 'user'"
            raise ConfigurationError(msg)
        if hub_url():  # the hub's service keeps browser sign-ins only: say so
            from .hub_connection import HubConnection

            return HubConnection.from_client_credentials(name)
        conn = cls(
            name, client_id=client_id, client_secret=client_secret, endpoints=endpoints, home=home
        )
        connect_with_client_credentials(
            conn.vault,
            conn.name,
            conn.endpoints,
            client_id,
            client_secret,
            subject_type,
            subject_id,
        )
        return conn

    # --- state ---------------------------------------------------------------------------------
    def summary(self) -> ConnectionSummary:
        """What may be shown of this connection: connected, the Box user, the token's expiry."""
        return self.vault.summary(self.name)

    @property
    def connected(self) -> bool:
        """Whether the vault holds a usable token for this connection."""
        return self.summary().connected

    @property
    def user(self) -> BoxUser | None:
        """The Box user this connection signed in as (id, name, login), if connected."""
        return self.summary().user

    @property
    def token_expires_at(self) -> float | None:
        """When the current access token expires (seconds since the epoch), if connected."""
        return self.summary().expires_at

    @property
    def vault_status(self) -> dict[str, Any]:
        """Where the vault is and where its key lives (``env``, ``keyring`` or ``file``)."""
        return self.vault.status()

    @property
    def has_client_secret(self) -> bool:
        """Whether this process holds the Box app's Client Secret (never shown)."""
        return bool(self._client_secret)

    def set_client_secret(self, secret: str | None) -> None:
        """Use ``secret`` as the Box app's Client Secret from now on (None or "": forget it)."""
        self._client_secret = secret or None

    # --- the authorization flow ------------------------------------------------------------------
    def authorization_url(self, *, secret_on_server: bool = False) -> str:
        """Box's authorize URL with a new single-use ``state``, recorded as pending in the vault
        for 10 minutes so that this or another process (the server extension) can finish it.

        ``secret_on_server``: the Jupyter server holds this app's secret (an administrator set
        ``c.BoxWidgetApp.client_secret``); the kernel needs none, and the callback fills it in.
        """
        client_id, secret, redirect_uri = self.client_id, self._client_secret, self.redirect_uri
        given = {
            "client_id": client_id,
            "client_secret": secret or secret_on_server,
            "redirect_uri": redirect_uri,
        }
        missing = tuple(setting for setting, value in given.items() if not value)
        if not client_id or not redirect_uri or missing:
            variables = ", ".join(SIGN_IN_SETTINGS[setting] for setting in missing)
            msg = (
                f"Connection {self.name!r} needs {variables}: pass client_id=, client_secret= "
                "and redirect_uri= (the Redirect URI registered in the Box Developer Console), "
                "or set those environment variables."
            )
            raise ConfigurationError(msg, connection=self.name, missing=missing)
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

    def complete(self, redirected_url: str) -> BoxUser:
        """Finish the headless flow from the address Box redirected the browser to: check the
        state, exchange the code, save the tokens; the Box user (id, name, login)."""
        params = params_from_redirect(redirected_url)
        pending = claim_pending_sign_in(self.vault, params, name=self.name)
        user = sign_in_with_box_answer(self.vault, pending, params)
        self._settle(self.vault.load(self.name))
        self._session = None
        return user

    # --- the form ------------------------------------------------------------------------------
    @property
    def form(self) -> Any:
        """The connection form (an anywidget); displaying the connection displays it."""
        if self._form is None:
            from .widget import ConnectionForm

            self._form = ConnectionForm(self, redirect_hint=os.environ.get(REDIRECT_HINT_ENV, ""))
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
            record = self.vault.load(self.name)
            if not record or "token" not in record:
                msg = records.not_connected_words(self.name, "signed_out_at" in (record or {}))
                raise ReauthorizationRequired(msg, connection=self.name)
            source = token_source.for_record(self.vault, self.name, record)
            self._session = BoxSession(source, BoxEndpoints.from_dict(record["endpoints"]))
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

        Under the connection's lock (``revoke.revoke_saved``); a connection made with the
        Jupyter server's app is revoked by that server.
        """
        self._session = None
        record = self.vault.load(self.name)
        if uses_server_app(record):  # the server holds its app's secret: it revokes
            ServerTokenSource(self.name).revoke()
        else:
            revoke_saved(self.vault, self.name)
