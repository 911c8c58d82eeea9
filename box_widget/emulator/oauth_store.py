"""OAuth state: apps, authorization codes, access and refresh tokens, and Box's rules for them."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from .core import Clock, Counters, Settings, random_token
from .errors import OAuthError
from .redirect_uris import check_redirect_uris

#: The scopes Box's OAuth 2.0 apps can ask for (OAS ``OAuth2Security``).
SCOPES = (
    "root_readonly",
    "root_readwrite",
    "manage_app_users",
    "manage_managed_users",
    "manage_groups",
    "manage_webhook",
    "manage_enterprise_properties",
    "manage_data_retention",
    "manage_legal_hold",
)
INVALID_CLIENT = "The client credentials are invalid"
INVALID_CODE = "Auth code doesn't exist or is invalid for the client"
EXPIRED_CODE = "The authorization code has expired"
INVALID_REFRESH = "Invalid refresh token"
EXPIRED_REFRESH = "Refresh token has expired"
INVALID_CCG = "Grant credentials are invalid"
GRANT_NOT_ALLOWED = "The grant type is unauthorized for this client_id"


@dataclass
class App:
    """A Box application as configured in the Developer Console."""

    name: str
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    scopes: tuple[str, ...] = ("root_readwrite",)
    ccg_enabled: bool = False
    enterprise_id: str = "900001"
    service_account_id: str = ""

    def public(self) -> dict[str, Any]:
        """The app without its secret."""
        return {
            "name": self.name,
            "client_id": self.client_id,
            "redirect_uris": list(self.redirect_uris),
            "scopes": list(self.scopes),
            "ccg_enabled": self.ccg_enabled,
            "enterprise_id": self.enterprise_id,
        }


@dataclass
class Consent:
    """A validated authorize request waiting for the user's grant or deny."""

    client_id: str
    redirect_uri: str
    state: str | None
    scopes: tuple[str, ...]
    created_at: float


@dataclass
class AuthCode:
    value: str
    client_id: str
    user_id: str
    redirect_uri: str
    scopes: tuple[str, ...]
    issued_at: float
    used: bool = False


@dataclass
class AccessToken:
    value: str
    client_id: str
    user_id: str
    scopes: tuple[str, ...]
    expires_at: float
    refresh_token: str | None = None
    predecessor: str | None = None
    revoked: bool = False
    #: A downscoped token: the scopes it is restricted to, and its parent access token.
    restricted_to: tuple[str, ...] | None = None
    parent: str | None = None


@dataclass
class RefreshToken:
    value: str
    client_id: str
    user_id: str
    scopes: tuple[str, ...]
    expires_at: float
    access_token: str
    used: bool = False
    revoked: bool = False
    #: When it was first used, and the answer that use got (for ``refresh_reuse_grace``).
    used_at: float | None = None
    answer: dict[str, Any] | None = None


@dataclass
class OAuthStore:
    """Every app, code and token the emulator knows, guarded by one lock."""

    clock: Clock
    settings: Settings
    counters: Counters
    lock: threading.RLock = field(default_factory=threading.RLock)
    apps: dict[str, App] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    consents: dict[str, Consent] = field(default_factory=dict)

    def add_app(self, app: App) -> App:
        """Register an app after checking its redirect URIs as Box would (an app with the same
        client id is replaced)."""
        check_redirect_uris(app.redirect_uris)
        with self.lock:
            self.apps[app.client_id] = app
        return app

    def add_redirect_uri(self, client_id: str, uri: str) -> App:
        """Add a redirect URI to an app (KeyError: no such app; ValueError: Box refuses it)."""
        with self.lock:
            app = self.apps[client_id]
            check_redirect_uris([*app.redirect_uris, uri])
            app.redirect_uris.append(uri)
        return app

    def authenticate(self, client_id: str | None, client_secret: str | None) -> App:
        """The app these credentials belong to, or ``invalid_client``."""
        app = self.apps.get(client_id or "")
        if app is None or not client_secret or app.client_secret != client_secret:
            raise OAuthError("invalid_client", INVALID_CLIENT)
        return app

    def begin_consent(self, consent: Consent) -> str:
        """Remember a validated authorize request; the id goes into the consent form."""
        consent_id = random_token()
        with self.lock:
            cutoff = self.clock.now() - 600
            for key in [k for k, c in self.consents.items() if c.created_at < cutoff]:
                del self.consents[key]
            self.consents[consent_id] = consent
        return consent_id

    def take_consent(self, consent_id: str) -> Consent | None:
        """The pending consent with this id, removed (single use), or None."""
        with self.lock:
            return self.consents.pop(consent_id, None)

    def issue_code(self, app: App, user_id: str, redirect_uri: str, scopes: tuple[str, ...]) -> str:
        """A fresh authorization code for a user's consent."""
        now = self.clock.now()
        code = AuthCode(random_token(), app.client_id, user_id, redirect_uri, scopes, now)
        with self.lock:
            self.codes[code.value] = code
        return code.value

    def exchange_code(self, app: App, value: str, redirect_uri: str | None) -> dict[str, Any]:
        """Trade a code for tokens: once, within ``code_lifetime`` seconds."""
        with self.lock:
            code = self.codes.get(value)
            if code is None or code.used or code.client_id != app.client_id:
                raise OAuthError("invalid_grant", INVALID_CODE)
            code.used = True
            if self.clock.now() - code.issued_at > self.settings.code_lifetime:
                raise OAuthError("invalid_grant", EXPIRED_CODE)
            if redirect_uri is not None and redirect_uri != code.redirect_uri:
                raise OAuthError("invalid_grant", "The redirect_uri does not match")
            self.counters.grants["authorization_code"] += 1
            return self._issue(app, code.user_id, code.scopes, with_refresh=True)

    def refresh(self, app: App, value: str) -> dict[str, Any]:
        """Rotate a refresh token: single use, a new pair every time (but see ``_reused``)."""
        with self.lock:
            token = self.refresh_tokens.get(value)
            try:
                if token is None or token.revoked or token.client_id != app.client_id:
                    raise OAuthError("invalid_grant", INVALID_REFRESH)
                if token.used:
                    return self._reused(token)
                if self.clock.now() > token.expires_at:
                    raise OAuthError("invalid_grant", EXPIRED_REFRESH)
            except OAuthError:
                self.counters.failed_refreshes += 1
                raise
            token.used = True
            token.used_at = self.clock.now()
            self.counters.grants["refresh_token"] += 1
            self.counters.refreshes += 1
            old = self.access_tokens.get(token.access_token)
            if old is not None:
                self.counters.refresh_margins.append(old.expires_at - self.clock.now())
            token.answer = self._issue(
                app, token.user_id, token.scopes, with_refresh=True, predecessor=token.access_token
            )
            return dict(token.answer)

    def _reused(self, token: RefreshToken) -> dict[str, Any]:
        """A used refresh token sent again: within ``refresh_reuse_grace`` seconds of its first
        use, the pair that use got, its ``expires_in`` counted down; else ``invalid_grant``."""
        now = self.clock.now()
        grace = self.settings.refresh_reuse_grace
        if (
            grace <= 0
            or token.used_at is None
            or token.answer is None
            or now - token.used_at > grace
        ):
            raise OAuthError("invalid_grant", INVALID_REFRESH)
        issued = self.access_tokens.get(token.answer["access_token"])
        left = issued.expires_at - now if issued is not None else 0.0
        self.counters.reused_refreshes += 1
        return {**token.answer, "expires_in": max(0, int(left))}

    def client_credentials(
        self, app: App, subject_type: str | None, subject_id: str | None, user_ids: set[str]
    ) -> dict[str, Any]:
        """The Client Credentials Grant: a service account or a user, no refresh token."""
        if not app.ccg_enabled:
            raise OAuthError("invalid_request", GRANT_NOT_ALLOWED)
        if subject_type == "enterprise" and subject_id == app.enterprise_id:
            user_id = app.service_account_id
        elif subject_type == "user" and subject_id in user_ids:
            user_id = subject_id
        else:
            raise OAuthError("invalid_grant", INVALID_CCG)
        with self.lock:
            self.counters.grants["client_credentials"] += 1
            return self._issue(app, user_id, app.scopes, with_refresh=False)

    def exchange(self, subject_token: str | None, scope: str | None) -> dict[str, Any]:
        """Box's token exchange: ``subject_token`` downscoped to ``scope`` (space-separated);
        no refresh token; it lives no longer than its parent, and dies with it."""
        from .downscope import DOWNSCOPES, STANDARD, held_by

        with self.lock:
            parent = self.validate_access(subject_token or "")
            if parent is None or parent.restricted_to is not None:
                raise OAuthError("invalid_grant", "The subject token is invalid or expired")
            scopes = tuple(dict.fromkeys((scope or "").split()))
            if not scopes or any(s not in DOWNSCOPES | STANDARD for s in scopes):
                raise OAuthError("invalid_scope", "The requested scope is invalid")
            if any(s not in held_by(parent.scopes) for s in scopes):
                raise OAuthError(
                    "invalid_grant", "The subject token does not have the requested scopes", 401
                )
            self.counters.grants["token_exchange"] += 1
            access = AccessToken(
                random_token(),
                parent.client_id,
                parent.user_id,
                tuple(s for s in scopes if s in STANDARD),
                parent.expires_at,
                restricted_to=scopes,
                parent=parent.value,
            )
            self.access_tokens[access.value] = access
            return {
                "access_token": access.value,
                "expires_in": max(0, int(parent.expires_at - self.clock.now())),
                "token_type": "bearer",
                # Box's ResourceScope enum has no standard scope: those are not listed here.
                "restricted_to": [{"scope": s} for s in scopes if s not in STANDARD],
                "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            }

    def revoke(self, app: App, value: str) -> None:
        """Revoke an access or refresh token together with its pair; unknown tokens are ignored."""
        with self.lock:
            access = self.access_tokens.get(value)
            refresh = self.refresh_tokens.get(value)
            if access is not None and access.client_id == app.client_id:
                refresh = self.refresh_tokens.get(access.refresh_token or "")
            elif refresh is not None and refresh.client_id == app.client_id:
                access = self.access_tokens.get(refresh.access_token)
            else:
                return
            for token in (access, refresh):
                if token is not None:
                    token.revoked = True
            self.counters.revocations += 1

    def expire_access_tokens(self) -> int:
        """Expire every live access token now (their refresh tokens still work); how many."""
        with self.lock:
            now = self.clock.now()
            live = [
                token
                for token in self.access_tokens.values()
                if not token.revoked and token.expires_at > now
            ]
            for token in live:
                token.expires_at = now
            return len(live)

    def validate_access(self, value: str) -> AccessToken | None:
        """The live access token with this value; first use retires its predecessor."""
        with self.lock:
            token = self.access_tokens.get(value)
            if token is None or token.revoked or self.clock.now() >= token.expires_at:
                return None
            if token.parent is not None:  # downscoped: its parent's revocation ends it
                parent = self.access_tokens.get(token.parent)
                if parent is None or parent.revoked:
                    return None
            if token.predecessor:
                old = self.access_tokens.get(token.predecessor)
                if old is not None:
                    old.revoked = True
                token.predecessor = None
            return token

    def _issue(
        self,
        app: App,
        user_id: str,
        scopes: tuple[str, ...],
        *,
        with_refresh: bool,
        predecessor: str | None = None,
    ) -> dict[str, Any]:
        now = self.clock.now()
        lifetime = self.settings.access_token_lifetime
        access = AccessToken(
            random_token(), app.client_id, user_id, scopes, now + lifetime, predecessor=predecessor
        )
        body: dict[str, Any] = {
            "access_token": access.value,
            "expires_in": lifetime,
            "token_type": "bearer",
            "restricted_to": [],
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
        }
        if with_refresh:
            refresh = RefreshToken(
                random_token(64),
                app.client_id,
                user_id,
                scopes,
                now + self.settings.refresh_token_lifetime,
                access.value,
            )
            access.refresh_token = refresh.value
            self.refresh_tokens[refresh.value] = refresh
            body["refresh_token"] = refresh.value
        self.access_tokens[access.value] = access
        return body
