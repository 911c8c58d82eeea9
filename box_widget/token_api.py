"""Both ends of the token API (``protocol.CONNECTIONS_PATH``): what travels, and how an error
crosses it.

The Jupyter server answers a kernel with an access token and its expiry only; a refused token
travels back as its fingerprint, never itself; an error travels as a kind
(``protocol.ERROR_KINDS``), its words and its action, and becomes the same kind of
``BoxWidgetError`` in the kernel.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import (
    Action,
    AnswerLost,
    AuthorizationError,
    BoxUnavailable,
    BoxWidgetError,
    ConfigurationError,
    GrantRefused,
    ReauthorizationRequired,
    TokenAPIRefused,
    VaultError,
)
from .records import Token

T = TypeVar("T")

#: Each error kind, the class it becomes in the kernel, and the HTTP status the server answers.
KINDS: dict[str, tuple[type[BoxWidgetError], int]] = {
    "not_found": (ReauthorizationRequired, 404),
    "not_server_app": (ConfigurationError, 409),
    "server_app_changed": (ReauthorizationRequired, 409),
    "reauthorization_required": (ReauthorizationRequired, 409),
    "authorization": (AuthorizationError, 409),
    "answer_lost": (AnswerLost, 502),
    "box_unavailable": (BoxUnavailable, 502),
    "vault": (VaultError, 503),
    "configuration": (ConfigurationError, 400),
    "grant_refused": (GrantRefused, 403),
    "error": (BoxWidgetError, 502),
}
#: Most specific first: the kind of an error raised in the server.
_BY_CLASS: tuple[tuple[type[BoxWidgetError], str], ...] = (
    (GrantRefused, "grant_refused"),
    (ReauthorizationRequired, "reauthorization_required"),
    (AuthorizationError, "authorization"),
    (AnswerLost, "answer_lost"),
    (BoxUnavailable, "box_unavailable"),
    (VaultError, "vault"),
    (ConfigurationError, "configuration"),
)


def fingerprint(access_token: str) -> str:
    """What a kernel sends for a token Box refused: its SHA-256, in hex (it cannot be used)."""
    return hashlib.sha256(access_token.encode()).hexdigest()


def kind_of(exc: BoxWidgetError) -> str:
    """The kind an error travels as."""
    return next((kind for cls, kind in _BY_CLASS if isinstance(exc, cls)), "error")


def json_object(body: bytes | None) -> dict[str, Any] | None:
    """A request's body as a JSON object (``{}`` when empty), or None if it is not one."""
    try:
        value = json.loads(body or b"{}")
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True)
class Answer:
    """What a token API route answers: the JSON body and HTTP status, and on a failure its kind
    and error (for the server's log line, never sent)."""

    body: dict[str, Any]
    status: int = 200
    kind: str = ""
    error: BoxWidgetError | None = None


async def answer_off_loop(work: Callable[[], T], done: Callable[[T], dict[str, Any]]) -> Answer:
    """Run ``work`` in a thread (the vault lock, decryption and Box all block), then answer
    ``done(result)``, or the error as ``error_answer`` with its kind's status."""
    try:
        result = await asyncio.get_running_loop().run_in_executor(None, work)
    except BoxWidgetError as exc:
        kind = exc.kind if isinstance(exc, TokenAPIRefused) else kind_of(exc)
        return Answer(error_answer(kind, exc), KINDS[kind][1], kind, exc)
    return Answer(done(result))


def error_answer(kind: str, exc: BoxWidgetError) -> dict[str, Any]:
    """The JSON body of a failed answer (words and action: never token material)."""
    return {"error": kind, "message": exc.what, "action": exc.action}


def error_from(body: dict[str, Any], name: str) -> BoxWidgetError:
    """The error a failed answer stands for, raised in the kernel as the server raised it."""
    kind = str(body.get("error"))
    cls = KINDS.get(kind, KINDS["error"])[0]
    action = body.get("action")
    known: Action | None = action if action in ("reconnect", "fix_config", "retry") else None
    what = str(body.get("message") or "The Jupyter server could not give an access token.")
    return cls(what, connection=name, action=known)


def token_answer(token: Token) -> dict[str, Any]:
    """The JSON body of a successful answer: the access token and its expiry, nothing else."""
    return {
        "access_token": token["access_token"],
        "expires_at": token["expires_at"],
        "expires_in": token["expires_in"],
    }


def token_from_answer(body: dict[str, Any]) -> Token:
    """A successful answer as a token (no refresh token: the server keeps that)."""
    expires_in = float(body.get("expires_in") or 0)
    return Token(
        access_token=str(body["access_token"]),
        expires_in=expires_in,
        expires_at=float(body.get("expires_at") or time.time() + expires_in),
    )
