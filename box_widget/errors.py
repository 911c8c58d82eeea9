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


class BoxWidgetError(Exception):
    """Base class of every error box-widget raises."""


class ConfigurationError(BoxWidgetError):
    """A setting is missing or malformed (client id, redirect URI, vault key...)."""


class AuthorizationError(BoxWidgetError):
    """The authorization flow failed: bad state, denied consent, expired code, bad client."""

    def __init__(self, message: str, *, error: str | None = None) -> None:
        super().__init__(message)
        #: The OAuth ``error`` code when Box gave one (``invalid_client``, ``access_denied``...).
        self.error = error


class ReauthorizationRequired(AuthorizationError):
    """The refresh token no longer works; the user must connect this connection again."""


class BoxAPIError(BoxWidgetError):
    """Box answered an API call with an error status."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
