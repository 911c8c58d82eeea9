"""What the hub service does for a hub user, free of HTTP: sign in, complete, tokens, revoke.

The service alone holds the Box app (Client ID and Secret). Connections are saved as the
service's app (``app: "server"``, no secret in the record), pending sign-ins carry no secret,
and every operation works in the vault of the hub user it is done for, so one hub user never
touches another's connections. These functions block (the vault lock, decryption, Box): the
handlers run them off the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import audit, grant_authority, grants, oauth
from ..authorize import claim_pending_sign_in, params_from_redirect, sign_in_with_box_answer
from ..endpoints import BoxEndpoints
from ..errors import (
    AuthorizationError,
    ConfigurationError,
    TokenAPIRefused,
)
from ..records import BoxUser, ConnectionRecord, PendingSignIn, Token, signed_out_words
from ..revoke import revoke_saved
from ..server.downscoped import DownscopedTokens
from ..token_api import KINDS, fingerprint
from ..tokens import VaultTokenSource, expiring
from ..vault import PENDING_LIFETIME, Vault, check_name
from .users import HubVaults


def refused(what: str, name: str, *, kind: str) -> TokenAPIRefused:
    """The API's refusal of a request; ``kind`` is one of ``token_api.KINDS``."""
    return TokenAPIRefused(what, connection=name, kind=kind, action=KINDS[kind][0].action)


@dataclass
class HubBox:
    """The Box app of the hub, and every hub user's vault."""

    client_id: str
    client_secret: str
    endpoints: BoxEndpoints
    vaults: HubVaults
    #: Worker grants: the service's URL as workers reach it ("": as the kernel reached it),
    #: a grant's default and longest lifetime, and the downscoped tokens given to workers.
    worker_url: str = ""
    grant_lifetime: float = grants.GRANT_LIFETIME
    grant_max_lifetime: float = grants.MAX_GRANT_LIFETIME
    downscoped: DownscopedTokens = field(default_factory=DownscopedTokens, repr=False)

    def __repr__(self) -> str:
        return f"HubBox(client_id={self.client_id!r}, client_secret='***')"

    def client(self) -> oauth.TokenClient:
        """The service's token client (the only holder of the secret)."""
        return oauth.TokenClient(self.endpoints, self.client_id, self.client_secret)

    def differs(self, client_id: Any, endpoints: Any) -> str | None:
        """Why a saved connection or pending sign-in is not of this app, or None."""
        if client_id != self.client_id:
            return "uses another Client ID"
        if not isinstance(endpoints, dict) or BoxEndpoints.from_dict(endpoints) != self.endpoints:
            return "talks to other Box addresses"
        return None

    # --- signing in -------------------------------------------------------------------------
    def start_sign_in(self, hub_user: str, name: str, redirect_uri: str) -> dict[str, Any]:
        """Box's authorize URL with a new single-use state, pending in ``hub_user``'s vault."""
        check_name(name)
        if not self.client_id or not self.client_secret:
            msg = "The hub's box-widget service has no Box Client ID or Secret configured."
            raise ConfigurationError(msg, connection=name)
        state = oauth.new_state()
        url = oauth.authorization_url(self.endpoints, self.client_id, redirect_uri, state)
        pending = PendingSignIn(
            name=name,
            client_id=self.client_id,
            client_secret=None,
            redirect_uri=redirect_uri,
            endpoints=self.endpoints.to_dict(),
            hub_user=hub_user,
        )
        self.vaults.for_user(hub_user).add_pending(state, pending)
        return {"authorization_url": url, "expires_in": PENDING_LIFETIME}

    def finish_sign_in(
        self, hub_user: str, params: dict[str, str], *, name: str | None = None
    ) -> tuple[str, BoxUser]:
        """Claim ``hub_user``'s pending sign-in named by ``state`` and exchange Box's code now;
        the connection's name and Box user. A state of another hub user is not in this
        vault: refused as unknown, the other's left as it was."""
        vault = self.vaults.for_user(hub_user)
        pending = claim_pending_sign_in(vault, params, name=name)
        if pending.get("hub_user", hub_user) != hub_user:  # a file copied between folders
            msg = "This sign-in was started by another hub user; nothing was saved."
            raise AuthorizationError(msg, error="invalid_state", connection=pending["name"])
        why = self.differs(pending["client_id"], pending["endpoints"])
        if why is not None:
            msg = f"This sign-in was started before the hub's Box app changed (it {why})."
            raise ConfigurationError(msg, connection=pending["name"])
        user = sign_in_with_box_answer(vault, pending, params, server_secret=self.client_secret)
        return pending["name"], user

    def complete(self, hub_user: str, name: str, redirected_url: str) -> BoxUser:
        """The headless path: the address Box sent the browser to, pasted."""
        params = params_from_redirect(redirected_url)
        return self.finish_sign_in(hub_user, params, name=check_name(name))[1]

    # --- tokens -----------------------------------------------------------------------------
    def _record(self, vault: Vault, name: str) -> ConnectionRecord:
        record = vault.load(check_name(name))
        if record is None:
            msg = f"You have no Box connection {name!r} on this hub."
            raise refused(msg, name, kind="not_found")
        if "token" not in record:
            raise refused(signed_out_words(name), name, kind="reauthorization_required")
        why = self.differs(record.get("client_id"), record.get("endpoints"))
        if why is not None:
            msg = f"Connection {name!r} was made before the hub's Box app changed (it {why})."
            raise refused(msg, name, kind="server_app_changed")
        return record

    def token(self, hub_user: str, name: str, failed: Any = None) -> Token:
        """A fresh access token of ``hub_user``'s connection: refreshed once for every thread
        when it is expiring or was refused (``failed``: its fingerprint)."""
        vault = self.vaults.for_user(hub_user)
        record = self._record(vault, name)
        stored = record["token"]
        was_refused = isinstance(failed, str) and failed == fingerprint(stored["access_token"])
        if not was_refused and not expiring(stored):
            return stored
        return self._refresh(vault, name, record, stored["access_token"] if was_refused else None)

    def _refresh(
        self, vault: Vault, name: str, record: ConnectionRecord, failed: str | None
    ) -> Token:
        """Refresh under the vault lock (``VaultTokenSource``); a refresh token Box refuses
        marks the connection signed out there (its summary says "sign in again")."""
        return VaultTokenSource(vault, name, record, self.client()).refresh(failed=failed)

    def keep_alive(self, hub_user: str, name: str) -> bool:
        """Refresh a connection now (its refresh token grows old); whether it was refreshed."""
        vault = self.vaults.for_user(hub_user)
        record = self._record(vault, name)
        self._refresh(vault, name, record, record["token"]["access_token"])
        return True

    # --- worker grants (grant_authority; docs/dask.md) ---------------------------------------
    def mint_grant(
        self, hub_user: str, name: str, scope: grants.Scope, expires_in: float, downscope: bool
    ) -> dict[str, Any]:
        """A new worker grant for ``hub_user``'s connection ``name`` (the secret shown once)."""
        vault = self.vaults.for_user(hub_user)
        self._record(vault, name)  # a connection of this hub user's, usable, or refused
        return grant_authority.mint(vault, name, scope, expires_in, downscope)

    def grants(self, hub_user: str) -> list[dict[str, Any]]:
        """``hub_user``'s worker grants (no secret)."""
        return grant_authority.listing(self.vaults.for_user(hub_user))

    def revoke_grant(self, hub_user: str, grant_id: str) -> bool:
        """Revoke ``hub_user``'s grant ``grant_id``; whether it was live. Another user's grant
        is not in this user's vault: ``not_found``, as a missing one."""
        done = grant_authority.revoke(self.vaults.for_user(hub_user), grant_id, self.downscoped)
        if done is None:
            msg = f"You have no worker grant {grant_id!r}."
            raise refused(msg, "-", kind="not_found")
        return done

    def grant_token(self, hub_user: str, asked: str, secret: str, failed: Any) -> Token:
        """An access token for a worker holding grant ``secret`` of ``hub_user``'s connection
        ``asked`` (no hub login: the grant is the credential)."""
        vault = self.vaults.existing(hub_user)
        if vault is None:  # no folder is made for a name a stranger sends
            raise grants.unknown()
        grant = grant_authority.check(vault, secret, asked)
        name = grant["connection"]
        return grant_authority.token(
            vault,
            grant,
            lambda refused_token: self.token(hub_user, name, refused_token),
            self.client(),
            self.downscoped,
            failed,
        )

    # --- disconnecting ------------------------------------------------------------------------
    def revoke(self, hub_user: str, name: str, **details: str) -> bool:
        """Revoke ``hub_user``'s connection at Box and delete it; whether there was one
        (``details``: for the audit event, e.g. ``admin``)."""
        vault = self.vaults.for_user(hub_user)
        check_name(name)
        return revoke_saved(vault, name, self._client_or_why, **details)

    def _client_or_why(self, record: ConnectionRecord) -> oauth.TokenClient | str:
        why = self.differs(record.get("client_id"), record.get("endpoints"))
        if why is not None:
            return f"the connection was made before the hub's Box app changed (it {why})."
        return self.client()

    def audit_events(self, hub_user: str, name: str) -> list[dict[str, Any]]:
        """``hub_user``'s audit events of connection ``name`` (never token material)."""
        return audit.read(self.vaults.for_user(hub_user).home, check_name(name))
