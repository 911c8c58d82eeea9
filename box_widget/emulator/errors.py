"""Box's two error shapes: the API's ``ClientError`` and OAuth's ``{error, error_description}``."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

#: Box's ``code`` for bare HTTP statuses (DOC-err).
STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    411: "length_required",
    412: "precondition_failed",
    413: "request_entity_too_large",
    415: "unsupported_media_type",
    416: "requested_range_not_satisfiable",
    429: "rate_limit_exceeded",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "unavailable",
}


class BoxError(Exception):
    """An API error answered with Box's ``ClientError`` body."""

    def __init__(
        self,
        status: int,
        code: str | None = None,
        message: str | None = None,
        *,
        context_info: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.code = code or STATUS_CODES.get(status, "bad_request")
        self.message = message or HTTPStatus(status).phrase
        self.context_info = context_info
        self.headers = headers or {}
        super().__init__(f"{status} {self.code}: {self.message}")

    def body(self, request_id: str) -> dict[str, Any]:
        """The JSON body Box sends with this error."""
        return {
            "type": "error",
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "context_info": self.context_info,
            "help_url": "https://developer.box.com/guides/api-calls/permissions-and-errors/common-errors/",
            "request_id": request_id,
        }


def invalid_parameter(name: str, value: object, status: int = 400) -> BoxError:
    """Box's answer to a parameter it cannot accept."""
    message = f"Invalid value '{value}'. '{name}' is not valid."
    return BoxError(
        status,
        STATUS_CODES.get(status, "bad_request"),
        context_info={
            "errors": [{"reason": "invalid_parameter", "name": name, "message": message}]
        },
    )


class OAuthError(Exception):
    """An OAuth error answered with ``{error, error_description}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        self.error = error
        self.description = description
        self.status = status
        super().__init__(f"{error}: {description}")

    def body(self) -> dict[str, str]:
        """The JSON body Box sends with this error."""
        return {"error": self.error, "error_description": self.description}


class Unauthorized(Exception):
    """No valid access token: 401 with an empty body and a ``WWW-Authenticate`` header."""

    def __init__(self, error: str = "invalid_token", description: str = "") -> None:
        self.error = error
        self.description = description or "The access token provided is invalid."
        super().__init__(self.description)

    def header(self) -> str:
        """The ``WWW-Authenticate`` value."""
        return (
            f'Bearer realm="Service", error="{self.error}", error_description="{self.description}"'
        )


class PageError(Exception):
    """An authorize-page error shown to the user (no redirect back to the app)."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        self.error = error
        self.description = description
        self.status = status
        super().__init__(f"{error}: {description}")
