"""``BoxConnection`` in hub mode: the same connection, kept by the hub's box-widget service.

``BoxConnection("work")`` is one of these when this process is in hub mode
(``hub_client.hub_url()``): its summary, sign-in, completion, access tokens, audit trail and
revocation all go to the service (``hub_client.HubService``). Nothing secret is held here: no
Client Secret, no refresh token, no code, and no vault file is read or made.
"""

from __future__ import annotations

import logging
from typing import Any

from .connection import BoxConnection
from .endpoints import BoxEndpoints
from .errors import ConfigurationError, ReauthorizationRequired
from .hub_client import HubService
from .records import BoxUser, ConnectionSummary, not_connected_words
from .session import BoxSession
from .vault import Vault, check_name

log = logging.getLogger(__name__)

#: Where a hub-mode connection says its tokens are kept (the form's key source).
KEY_SOURCE = "hub"


class HubConnection(BoxConnection):
    """A named Box connection kept by the hub's box-widget service (see the module).

    The Box app (Client ID, its one redirect URI, Box's URLs) is the service's: ``client_id``,
    ``client_secret`` and ``redirect_uri`` given here are not used, and ``home`` neither.
    """

    kept_by_hub = True

    def __init__(self, name: str = "default", **settings: Any) -> None:
        self.name = check_name(name)
        client_secret = settings.get("client_secret")
        self.hub = HubService()
        self._session: BoxSession | None = None
        self._form: Any = None
        self._client_secret: str | None = None
        if client_secret:
            log.warning(
                "connection %r: the client secret given is not used: on this hub, the "
                "box-widget service holds the Box app's secret",
                self.name,
            )
        status = self.hub.status()
        self.client_id: str | None = status.get("client_id") or None
        self.redirect_uri: str | None = status.get("redirect_uri") or None
        self.endpoints_from = "hub"
        self.endpoints = BoxEndpoints.from_dict(status.get("endpoints") or {})

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled: the name only (not the hub token); the copy asks the hub's service named
        by its own environment."""
        return (BoxConnection, (self.name,))

    @property
    def vault(self) -> Vault:  # type: ignore[override]
        """No vault on this side: the service keeps the connections."""
        msg = (
            f"Connection {self.name!r} is kept by your hub's box-widget service at "
            f"{self.hub.url}, not in a vault on this server."
        )
        raise ConfigurationError(msg, connection=self.name)

    @classmethod
    def from_client_credentials(cls, name: str, **_settings: Any) -> BoxConnection:
        """Not on a hub: the service keeps browser sign-ins only."""
        msg = (
            f"Connection {name!r}: Client Credentials connections are not kept by the hub's "
            "box-widget service. Unset BOX_WIDGET_HUB_URL in this process to keep one in a "
            "vault of your own."
        )
        raise ConfigurationError(msg, connection=name)

    def use_server_endpoints(self, endpoints: dict[str, str]) -> None:
        """Box's URLs are the service's: nothing to change."""

    # --- state ---------------------------------------------------------------------------------
    def summary(self) -> ConnectionSummary:
        """What the service shows of this connection (no token material)."""
        return self.hub.summary(self.name)

    @property
    def vault_status(self) -> dict[str, Any]:
        """Where the connections are kept: the service."""
        return {"key_source": KEY_SOURCE, "service": self.hub.url}

    @property
    def has_client_secret(self) -> bool:
        """Never: the service holds the Box app's secret."""
        return False

    def set_client_secret(self, secret: str | None) -> None:
        """Not kept: the service holds the Box app's secret."""
        if secret:
            log.warning("connection %r: a client secret is not used on this hub", self.name)

    # --- the authorization flow ------------------------------------------------------------------
    def authorization_url(self, *, secret_on_server: bool = False) -> str:
        """Box's authorize URL from the service (its app, its redirect URI, a new single-use
        state pending there for this hub user)."""
        return self.hub.sign_in(self.name)

    def complete(self, redirected_url: str) -> BoxUser:
        """Finish the headless flow: the service checks the state and exchanges the code."""
        user = self.hub.complete(self.name, redirected_url)
        self._session = None
        return user

    # --- using it -------------------------------------------------------------------------------
    @property
    def session(self) -> BoxSession:
        """An authenticated ``requests`` session getting access tokens from the service."""
        if self._session is None:
            summary = self.summary()
            if not summary.connected:
                msg = not_connected_words(self.name, summary.signed_out)
                raise ReauthorizationRequired(msg, connection=self.name)
            self._session = BoxSession(self.hub.token_source(self.name), self.endpoints)
        return self._session

    def audit_log(self) -> list[dict[str, Any]]:
        """This connection's audit trail as the service keeps it."""
        return self.hub.audit(self.name)

    def revoke(self) -> None:
        """Have the service revoke the connection at Box and delete it."""
        self._session = None
        self.hub.revoke(self.name)
