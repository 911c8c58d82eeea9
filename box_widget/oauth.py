"""OAuth 2.0 with Box: the authorize URL, code exchange, refresh, revocation, client credentials.

Request bodies are built and token answers parsed by oauthlib (the engine under
requests-oauthlib). The requests themselves go out through our own ``requests`` session because
oauthlib refuses plain HTTP everywhere unless a process-wide switch is flipped; here each URL is
checked instead (``transport.require_secure``). Box wants the client credentials in the form body
(``include_client_id``), and answers ``{error, error_description}``; every failure becomes an
``AuthorizationError`` in plain words that never contains a secret, token or code.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests
from oauthlib.oauth2 import BackendApplicationClient, OAuth2Error, WebApplicationClient
from oauthlib.oauth2.rfc6749.parameters import parse_token_response
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ProtocolError, ReadTimeoutError
from urllib3.util.retry import Retry

from .endpoints import BoxEndpoints
from .errors import (
    AnswerInDoubt,
    AnswerLost,
    AuthorizationError,
    BoxUnavailable,
    BoxWidgetError,
    ConfigurationError,
    ReauthorizationRequired,
)
from .transport import require_secure

log = logging.getLogger(__name__)

#: Seconds to connect and to read, for every request (httpx's lesson: never wait forever).
DEFAULT_TIMEOUT = (10.0, 60.0)
HINTS = {
    "invalid_client": "the Client ID or Client Secret is wrong. Copy both again from the Box "
    "Developer Console (your app, Configuration tab)",
    "unauthorized_client": "your Box enterprise has not authorized this app. Ask a Box admin to "
    "authorize it in the Admin Console (Apps, Custom Apps Manager)",
    "access_denied": "the Box user declined access (to connect, choose 'Grant access to Box' "
    "on Box's page)",
    "invalid_scope": "the app asked for a scope it is not configured for in the Developer Console",
}


#: Statuses after which Box may have processed a token request (429 and 503: it did not).
IN_DOUBT_STATUSES = frozenset({500, 502, 504})


def answer_lost(exc: requests.RequestException) -> bool:
    """Whether a failed request was sent before it failed (read timeout, connection dropped),
    as opposed to never reaching Box (refused, no route, connect timeout)."""
    cause = exc.args[0] if exc.args else None
    reason = getattr(cause, "reason", cause)  # urllib3's MaxRetryError wraps the cause
    return isinstance(exc, requests.ReadTimeout) or isinstance(
        reason, ProtocolError | ReadTimeoutError
    )


def new_state() -> str:
    """A single-use, unguessable ``state`` (32 random bytes)."""
    return secrets.token_urlsafe(32)


def authorization_url(
    endpoints: BoxEndpoints, client_id: str, redirect_uri: str, state: str, scope: str | None = None
) -> str:
    """Box's authorize page for this app, always with ``redirect_uri`` and ``state``."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
    }
    if scope:
        query["scope"] = scope
    return f"{require_secure(endpoints.authorize_url)}?{urlencode(query)}"


def token_retry() -> Retry:
    """Retries for token requests: only what Box did not process (429, 503, no connection)."""
    return Retry(
        total=3,
        connect=3,
        read=0,
        other=0,
        status=3,
        allowed_methods=None,
        status_forcelist={429, 503},
        backoff_factor=0.3,
        backoff_jitter=0.3,
        backoff_max=5,
        raise_on_status=False,
    )


def expiry_margin(expires_in: float) -> float:
    """How long before expiry a token counts as expired: min(60 s, a tenth of its lifetime)."""
    return min(60.0, max(0.0, expires_in) / 10)


def redirect_refused(url: str, response: requests.Response, doing: str) -> ConfigurationError:
    """The error for a token or revoke endpoint that answered with a redirect (not followed)."""
    target = urlsplit(response.headers.get("Location", ""))
    where = f"to {target.scheme}://{target.netloc}" if target.netloc else "elsewhere"
    msg = (
        f"Box's endpoint at {urlsplit(url).netloc} answered with a redirect (HTTP "
        f"{response.status_code}, {where}) while {doing}. box-widget does not follow redirects "
        "of requests that carry credentials, so nothing was sent there and nothing stored was "
        "changed. Check the token and revoke URLs (BOX_TOKEN_URL and BOX_REVOKE_URL, or "
        "c.BoxWidgetApp.token_url and revoke_url): they must be the endpoints themselves."
    )
    return ConfigurationError(msg)


class TokenClient:
    """One Box app's calls to the token and revoke endpoints."""

    def __init__(
        self,
        endpoints: BoxEndpoints,
        client_id: str,
        client_secret: str,
        *,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
    ) -> None:
        self.endpoints = endpoints
        self.client_id = client_id
        self._secret = client_secret
        self.timeout = timeout
        self._http = requests.Session()
        self._http.mount("http://", HTTPAdapter(max_retries=token_retry()))
        self._http.mount("https://", HTTPAdapter(max_retries=token_retry()))

    def __repr__(self) -> str:
        return f"TokenClient(client_id={self.client_id!r}, client_secret='***')"

    def exchange_code(self, code: str) -> dict[str, Any]:
        """Trade an authorization code for tokens (Box does not want ``redirect_uri`` here)."""
        body = WebApplicationClient(self.client_id).prepare_request_body(
            code=code, include_client_id=True, client_secret=self._secret
        )
        return self._token(body, "exchanging the authorization code")

    def refresh(self, refresh_token: str, *, name: str | None = None) -> dict[str, Any]:
        """A new token pair; ``ReauthorizationRequired`` when Box no longer takes this one."""
        body = WebApplicationClient(self.client_id).prepare_refresh_body(
            refresh_token=refresh_token, client_id=self.client_id, client_secret=self._secret
        )
        try:
            return self._token(body, "refreshing the access token")
        except AuthorizationError as exc:
            if exc.error != "invalid_grant":
                raise
            msg = (
                f"Box no longer accepts the refresh token of connection {name!r} "
                f"({exc.error}: {exc.description}): it was used already, revoked, or unused "
                "for 60 days."
            )
            raise ReauthorizationRequired(
                msg, error=exc.error, description=exc.description, connection=name
            ) from None

    def client_credentials(self, subject_type: str, subject_id: str) -> dict[str, Any]:
        """The Client Credentials Grant for a service account or a user (no refresh token)."""
        body = BackendApplicationClient(self.client_id).prepare_request_body(
            include_client_id=True,
            client_secret=self._secret,
            box_subject_type=subject_type,
            box_subject_id=subject_id,
        )
        return self._token(body, "getting a client-credentials token")

    def downscope(self, access_token: str, scopes: Sequence[str]) -> dict[str, Any]:
        """Box's token exchange: ``access_token`` restricted to ``scopes`` (no refresh token;
        the token is the credential, so the client's secret is not sent)."""
        data = {
            "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
            "subject_token": access_token,
            "subject_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "scope": " ".join(scopes),
        }
        return self._token(urlencode(data), "downscoping an access token")

    def revoke(self, token: str) -> None:
        """Revoke a token (Box revokes its pair too)."""
        data = {"client_id": self.client_id, "client_secret": self._secret, "token": token}
        response = self._post(self.endpoints.revoke_url, data, "revoking the token")
        if response.status_code != 200:
            raise self._failure(response, "revoking the token")

    def revoke_pair(self, token: Mapping[str, Any]) -> list[str]:
        """Revoke a saved token's refresh and access tokens; the failures, in words."""
        failures = []
        for kind in ("refresh_token", "access_token"):
            value = token.get(kind)
            if isinstance(value, str) and value:
                try:
                    self.revoke(value)
                except BoxWidgetError as exc:
                    failures.append(exc.what)
        return failures

    def _post(self, url: str, data: dict[str, str] | str, doing: str) -> requests.Response:
        """POST to ``url`` only: a redirect is an error, never followed (it would resend the
        code, refresh token and client secret to wherever it points)."""
        try:
            response = self._http.post(
                require_secure(url),
                data=data,
                timeout=self.timeout,
                allow_redirects=False,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Accept": "application/json",
                },
            )
        except requests.RequestException as exc:
            host = urlsplit(url).netloc
            if answer_lost(exc):
                msg = (
                    f"The connection to Box at {host} broke after the request was sent, "
                    f"while {doing} ({type(exc).__name__}): Box may have acted on it, but "
                    "its answer was lost. Nothing stored was changed."
                )
                raise AnswerLost(msg) from None
            msg = (
                f"Could not reach Box at {host} while {doing} ({type(exc).__name__}). Check "
                "the network or proxy and try again; nothing stored was changed."
            )
            raise BoxUnavailable(msg) from None
        if 300 <= response.status_code < 400:
            response.close()
            raise redirect_refused(url, response, doing)
        return response

    def _token(self, body: str, doing: str) -> dict[str, Any]:
        sent_at = time.time()  # count the lifetime from before the request: never too late
        response = self._post(self.endpoints.token_url, body, doing)
        if response.status_code != 200:
            raise self._failure(response, doing)
        try:
            token = dict(parse_token_response(response.text))
        except (OAuth2Error, ValueError, Warning):
            msg = f"Box sent an answer box-widget cannot read while {doing}."
            raise BoxUnavailable(msg) from None
        # oauthlib rounds expires_at to the second; a 2-second token needs better than that.
        token["expires_at"] = sent_at + float(token.get("expires_in", 3600))
        log.info("%s: ok (%s)", doing, self.client_id[:6] + "...")
        return token

    @staticmethod
    def _failure(response: requests.Response, doing: str) -> BoxWidgetError:
        status = response.status_code
        if status in IN_DOUBT_STATUSES:
            msg = (
                f"Box's server failed while {doing} (HTTP {status}): Box may have acted on "
                "it, but its answer was lost. Nothing stored was changed."
            )
            return AnswerInDoubt(msg, status=status)
        if status == 429 or status >= 500:
            msg = (
                f"Box's server could not answer while {doing} (HTTP {status}). Nothing "
                "stored was changed; try again in a minute."
            )
            return BoxUnavailable(msg)
        try:
            body = response.json()
            error = str(body["error"])
            description = str(body.get("error_description") or "")
        except (ValueError, KeyError, TypeError):
            return BoxWidgetError(f"Box answered HTTP {status} while {doing}.")
        hint = HINTS.get(error, "see the description Box gave")
        msg = f"Box refused {doing} ({error}: {description}): {hint}."
        return AuthorizationError(msg, error=error, description=description)
