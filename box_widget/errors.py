"""The exceptions box-widget raises.

::

    BoxWidgetError
     ├── ConfigurationError        something needed is missing or malformed
     ├── AuthorizationError        state mismatch, consent denied, expired code, invalid client
     ├── ReauthorizationRequired   the refresh token is dead: the user must connect again
     └── BoxAPIError               Box answered an API call with an error

Messages are plain words that say what happened and what to do; they never hold a secret,
a token or an authorization code.
"""

from __future__ import annotations

import requests


class BoxWidgetError(Exception):
    """Base class of every error box-widget raises."""


class ConfigurationError(BoxWidgetError):
    """A setting is missing or malformed (client id, redirect URI, vault key...)."""


class AuthorizationError(BoxWidgetError):
    """The authorization flow failed: bad state, denied consent, expired code, bad client."""

    def __init__(self, message: str, *, error: str | None = None, description: str = "") -> None:
        super().__init__(message)
        #: The OAuth ``error`` code when Box gave one (``invalid_client``, ``access_denied``...).
        self.error = error
        #: Box's ``error_description``, when it gave one.
        self.description = description


class ReauthorizationRequired(AuthorizationError):
    """The refresh token no longer works; the user must connect this connection again."""


class BoxAPIError(BoxWidgetError, requests.HTTPError):
    """Box answered an API call with an error status (also a ``requests.HTTPError``)."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        request_id: str | None = None,
        response: requests.Response | None = None,
    ) -> None:
        super().__init__(message, response=response)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id

    @classmethod
    def from_response(cls, response: requests.Response) -> BoxAPIError:
        """The error for a Box API answer, from Box's ``ClientError`` body when there is one."""
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        code = body.get("code") if isinstance(body.get("code"), str) else None
        request_id = body.get("request_id") or response.headers.get("box-request-id")
        detail = body.get("message") if isinstance(body.get("message"), str) else response.reason
        what = f"{response.status_code} {code}" if code else str(response.status_code)
        hint = HTTP_HINTS.get(response.status_code, "")
        message = f"Box answered {what}: {detail}{hint}"
        if request_id:
            message += f" (request id {request_id})"
        return cls(
            message,
            status=response.status_code,
            code=code,
            request_id=str(request_id) if request_id else None,
            response=response,
        )


HTTP_HINTS = {
    401: ". The access token was refused even after a refresh; test the connection, and "
    "connect again if it fails",
    403: ". This Box user or app lacks permission for it (check the app's scopes)",
    404: ". It does not exist, or this Box user cannot see it",
    429: ". Box is rate-limiting this user; retries were exhausted, wait a minute",
}
