"""Every exception box-widget raises (the emulator's HTTP errors aside).

::

    BoxWidgetError                       .connection, .action, .what
     ├── ConfigurationError              a setting is missing or malformed        fix_config
     │    └── AuthorityUnreachable       no token authority (the Jupyter server  fix_config
     │                                   holding the Box app) can be found or reached
     ├── VaultError                      the token vault cannot be used
     │    ├── VaultUnreadable            a file does not decrypt, or is damaged  fix_config
     │    │                              (also a ConfigurationError: a key changed)
     │    ├── VaultWriteError            a file cannot be written (disk full)    retry
     │    ├── VaultLocked                a connection stayed locked too long     retry
     │    └── PendingForAnotherConnection  a sign-in started for another name    reconnect
     ├── AuthorizationError              bad state, denied consent, expired code reconnect
     │    └── ReauthorizationRequired    the refresh token is dead               reconnect
     │         └── LostRefresh           ... because an earlier refresh's answer was lost
     ├── BoxUnavailable                  Box could not be reached, or failed     retry
     │    └── AnswerLost                 the request reached Box; its answer did not come back
     │         └── AnswerInDoubt         Box answered 500, 502 or 504
     ├── TokenAPIRefused                 the Jupyter server's token API refused (server side)
     └── BoxAPIError                     Box answered an API call with an error (also a
                                         ``requests.HTTPError``)

Each error says *what happened* (``what``) and carries what to do as data: ``action`` is
``"reconnect"``, ``"fix_config"``, ``"retry"`` or None, and ``connection`` names the connection.
The layers that talk to people phrase the action for their reader (the form: a button; the
command line: a command; the callback page: the notebook); ``str()`` of an error, which a
notebook user reads in a traceback, adds the phrase in ``PYTHON_ADVICE``. Nothing here ever
holds a secret, a token or an authorization code.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import requests

if TYPE_CHECKING:
    from .records import RefreshMark

Action = Literal["reconnect", "fix_config", "retry"]

#: What to do next, for someone using the Python API (a traceback in a notebook). ``{name}`` is
#: the connection's name. The form, the command line and the callback page have their own.
PYTHON_ADVICE: dict[str, str] = {
    "reconnect": "Connect again: click Generate in the connection form, or run "
    "`box-widget login {name}`.",
    "retry": "Nothing saved was lost: try again.",
}


class BoxWidgetError(Exception):
    """Base class of every error box-widget raises."""

    #: What to do next (see the module docstring); subclasses set their usual one.
    action: Action | None = None

    def __init__(
        self, what: str, *, connection: str | None = None, action: Action | None = None
    ) -> None:
        super().__init__(what)
        #: What happened, in plain words, without advice.
        self.what = what
        #: The connection concerned, when there is one.
        self.connection = connection
        if action is not None:
            self.action = action

    def __str__(self) -> str:
        advice = PYTHON_ADVICE.get(self.action or "", "")
        if not advice or self.connection is None:
            return self.what
        return f"{self.what} {advice.format(name=self.connection)}"


class ConfigurationError(BoxWidgetError):
    """A setting is missing or malformed (client id, redirect URI, vault key...).

    ``missing`` names the settings that are missing, as the generic names ``client_id``,
    ``client_secret`` and ``redirect_uri``; each interface words them its own way.
    """

    action: Action | None = "fix_config"

    def __init__(
        self,
        what: str,
        *,
        connection: str | None = None,
        action: Action | None = None,
        missing: tuple[str, ...] = (),
    ) -> None:
        super().__init__(what, connection=connection, action=action)
        #: The settings that are missing (``client_id``, ``client_secret``, ``redirect_uri``).
        self.missing = missing


class AuthorityUnreachable(ConfigurationError):
    """The token authority of a connection (the Jupyter server that holds its Box app) cannot be
    found from this process, or does not answer; ``tried`` says where it was looked for."""

    def __init__(
        self,
        what: str,
        *,
        tried: tuple[str, ...] = (),
        connection: str | None = None,
        action: Action | None = None,
    ) -> None:
        super().__init__(what, connection=connection, action=action)
        #: Where the authority was looked for, in words (for messages and tests).
        self.tried = tried


class VaultError(BoxWidgetError):
    """The token vault cannot be used; ``path`` is the file or folder concerned."""

    def __init__(
        self,
        what: str,
        *,
        path: Path | None = None,
        connection: str | None = None,
        action: Action | None = None,
    ) -> None:
        super().__init__(what, connection=connection, action=action)
        self.path = path


class VaultUnreadable(VaultError, ConfigurationError):
    """A vault file cannot be read (the key changed, or the file is damaged); it is left
    untouched. Also a ``ConfigurationError``: most often the key setting changed."""

    action: Action | None = "fix_config"

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"The vault file {path} cannot be read: {reason}. Nothing was changed. If the key "
            "changed (BOX_WIDGET_KEY, the OS keyring, or vault.key), restore it; otherwise "
            "move the file aside and connect again.",
            path=path,
        )


class VaultWriteError(VaultError):
    """A vault file cannot be written (a full disk, a read-only folder); the old one is intact."""

    action: Action | None = "retry"

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"box-widget could not write the vault file {path}: {reason}. The previous version "
            "is intact. Free some disk space (or fix the folder's permissions), then try again.",
            path=path,
        )


class VaultLocked(VaultError):
    """A connection's lock stayed held by another thread or process for too long."""

    action: Action | None = "retry"


class PendingForAnotherConnection(VaultError):
    """A pending sign-in exists for this state, but for another connection (``owner``)."""

    action: Action | None = "reconnect"

    def __init__(self, owner: str) -> None:
        super().__init__(f"this sign-in belongs to connection {owner!r}")
        self.owner = owner


class AuthorizationError(BoxWidgetError):
    """The authorization flow failed: bad state, denied consent, expired code, bad client."""

    action: Action | None = "reconnect"

    def __init__(
        self,
        what: str,
        *,
        error: str | None = None,
        description: str = "",
        connection: str | None = None,
        action: Action | None = None,
    ) -> None:
        super().__init__(what, connection=connection, action=action)
        #: The OAuth ``error`` code when Box gave one (``invalid_client``, ``access_denied``...).
        self.error = error
        #: Box's ``error_description``, when it gave one.
        self.description = description


class ReauthorizationRequired(AuthorizationError):
    """The refresh token no longer works; the user must connect this connection again."""


class LostRefresh(ReauthorizationRequired):
    """Box refuses the saved refresh token because an earlier refresh's answer was lost."""

    def __init__(self, what: str, *, mark: RefreshMark, **kwargs: Any) -> None:
        super().__init__(what, **kwargs)
        #: The refresh mark of the refresh whose answer was lost (process, time, what happened).
        self.mark = mark


class GrantRefused(ReauthorizationRequired):
    """A worker grant was refused by its token authority: revoked, expired, unknown, or for
    another connection. The worker stops; the notebook makes a new grant when it runs again."""

    action: Action | None = None


class BoxUnavailable(BoxWidgetError):
    """Box could not be reached, or its server failed; nothing stored was changed."""

    action: Action | None = "retry"


class AnswerLost(BoxUnavailable):
    """A token request reached Box, but the connection broke before its answer came back: Box
    may have acted on it (for a refresh: replaced the refresh token)."""


class AnswerInDoubt(AnswerLost):
    """Box answered a token request with a server error (500, 502, 504): the request reached
    Box, which may have acted on it before failing (for a refresh: replaced the refresh token)."""

    def __init__(self, what: str, *, status: int, connection: str | None = None) -> None:
        super().__init__(what, connection=connection)
        #: The HTTP status Box answered.
        self.status = status


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
        BoxWidgetError.__init__(self, message)
        requests.HTTPError.__init__(self, message, response=response)
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


class TokenAPIRefused(BoxWidgetError):
    """The server's token API refuses a request (raised in the server, answered as JSON);
    ``kind`` is one of ``protocol.ERROR_KINDS``."""

    def __init__(
        self, what: str, *, connection: str, kind: str, action: Action | None = None
    ) -> None:
        super().__init__(what, connection=connection, action=action)
        self.kind = kind
