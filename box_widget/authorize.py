"""Finishing an authorization: read Box's redirect, exchange the code at once, save the tokens.

Shared by ``BoxConnection.complete`` (the headless path, in a kernel) and the server extension's
callback route (in the Jupyter server): whichever process gets Box's redirect finishes it, using
the pending record that ``BoxConnection.authorization_url`` left in the vault.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from . import audit
from .endpoints import BoxEndpoints
from .errors import AuthorizationError, BoxAPIError, BoxWidgetError, ConfigurationError
from .oauth import DEFAULT_TIMEOUT, HINTS, TokenClient
from .tokens import normalize
from .transport import require_secure
from .vault import PendingForAnotherConnection, Vault, VaultWriteError

RECORD_VERSION = 1
USER_FIELDS = ("id", "name", "login")
#: The audit trail's word on tokens Box issued that the vault could not save.
TOKENS_DROPPED = "issued by Box, not saved (the vault could not be written), dropped"
#: What to do after a failed sign-in, in the form (Generate) or the terminal (``login``).
AGAIN = "click Generate again (or run the login again)"


def redirect_params(redirected_url: str) -> dict[str, str]:
    """``code``, ``state``, ``error`` and ``error_description`` from the address Box sent the
    browser to (the full address, or just its ``?query``)."""
    text = redirected_url.strip()
    query = urlsplit(text).query if "://" in text else text.lstrip("?")
    parsed = parse_qs(query, keep_blank_values=True)
    params = {}
    for name in ("code", "state", "error", "error_description"):
        values = parsed.get(name, [])
        if len(values) > 1:
            msg = f"The address has '{name}' more than once; paste the address Box sent you to."
            raise AuthorizationError(msg, error="invalid_request")
        if values:
            params[name] = values[0]
    return params


def _no_state() -> AuthorizationError:
    msg = (
        "The address has no 'state': paste the whole address the browser landed on after "
        "Box (it contains ?code=...&state=...)."
    )
    return AuthorizationError(msg, error="invalid_request")


def _not_pending() -> AuthorizationError:
    msg = (
        "This sign-in was already completed, is older than 10 minutes, or was started "
        f"from another vault folder. {AGAIN[:1].upper()}{AGAIN[1:]}."
    )
    return AuthorizationError(msg, error="invalid_state")


def check_pending(vault: Vault, params: dict[str, str]) -> None:
    """Refuse at once, as ``take_pending`` would, a ``state`` that is missing or has no pending
    record: one file-existence check, no lock, so that a flood of forged callbacks costs the
    server almost nothing."""
    state = params.get("state")
    if not state:
        raise _no_state()
    if not vault.has_pending(state):
        raise _not_pending()


def take_pending(
    vault: Vault, params: dict[str, str], *, name: str | None = None
) -> dict[str, Any]:
    """The pending authorization named by ``state`` (used up, whatever Box's answer was), or
    an AuthorizationError. With ``name``, a sign-in started for another connection is refused
    and left pending. Then ``check_outcome`` reads Box's answer.
    """
    state = params.get("state")
    if not state:
        raise _no_state()
    try:
        pending = vault.take_pending(state, name=name)
    except PendingForAnotherConnection as exc:
        msg = (
            f"This sign-in was started for connection {exc.name!r}, not {name!r}; finish it "
            f"there, or {AGAIN} on this connection."
        )
        raise AuthorizationError(msg, error="invalid_state") from None
    if pending is None:
        raise _not_pending()
    return pending


def finish_pending(vault: Vault, pending: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
    """Read Box's answer to a taken sign-in (``check_outcome``) and complete it; a refusal by
    Box (``error``, e.g. the user declined) is audited for the connection. The Box user."""
    try:
        code = check_outcome(params)
    except AuthorizationError as exc:
        audit.failure(
            vault.home, pending["name"], "connect-failed", exc, kind="oauth", step="authorize"
        )
        raise
    return complete_pending(vault, pending, code)


def check_outcome(params: dict[str, str]) -> str:
    """The authorization code Box sent, or an AuthorizationError for Box's ``error``."""
    error = params.get("error")
    if error:
        detail = params.get("error_description") or error
        hint = HINTS.get(error, AGAIN)
        msg = f"Box did not authorize the connection ({error}: {detail}): {hint}."
        raise AuthorizationError(msg, error=error, description=detail)
    code = params.get("code")
    if not code:
        msg = f"The address has no authorization code; {AGAIN}."
        raise AuthorizationError(msg, error="invalid_request")
    return code


def fetch_user(endpoints: BoxEndpoints, access_token: str) -> dict[str, Any]:
    """``GET users/me`` with a bare token: the Box user's id, name and login."""
    url = require_secure(endpoints.api_url.rstrip("/") + "/users/me")
    try:
        response = requests.get(
            url, headers={"Authorization": f"Bearer {access_token}"}, timeout=DEFAULT_TIMEOUT
        )
    except requests.RequestException as exc:
        msg = f"Could not reach Box's API to read the user ({type(exc).__name__})."
        raise BoxWidgetError(msg) from None
    if response.status_code != 200:
        raise BoxAPIError.from_response(response)
    body = response.json()
    return {k: body.get(k) for k in USER_FIELDS}


def save_connection(vault: Vault, name: str, record: dict[str, Any]) -> None:
    """Write a connection's record under its lock."""
    with vault.lock(name):
        vault.save(name, record)


def save_new_connection(vault: Vault, record: dict[str, Any]) -> None:
    """Save a connection Box just issued tokens for, and audit it: ``connect``, or
    ``connect-failed`` saying that Box's tokens were dropped (the vault could not take them)."""
    name, kind = record["name"], record["kind"]
    try:
        save_connection(vault, name, record)
    except VaultWriteError as exc:
        audit.failure(
            vault.home, name, "connect-failed", exc, kind=kind, step="save", tokens=TOKENS_DROPPED
        )
        raise
    audit.record(vault.home, name, "connect", kind=kind)


def complete_pending(vault: Vault, pending: dict[str, Any], code: str) -> dict[str, Any]:
    """Exchange ``code`` now, save the connection with its tokens and Box user; the user.

    The tokens are saved before ``users/me`` is asked, so a failure there loses nothing.
    """
    name = pending["name"]
    if not pending.get("client_secret"):
        msg = (
            "This sign-in was started without the Box app's Client Secret, for the Jupyter "
            "server to fill in, and nothing here holds it: enter the Client Secret in the "
            "form and click Generate again, or ask your Jupyter administrator to set "
            "c.BoxWidgetApp.client_secret for this Client ID."
        )
        audit.record(
            vault.home,
            name,
            "connect-failed",
            kind="oauth",
            step="exchange",
            error="no client secret",
        )
        raise ConfigurationError(msg)
    endpoints = BoxEndpoints.from_dict(pending["endpoints"])
    client = TokenClient(endpoints, pending["client_id"], pending["client_secret"])
    try:
        token = normalize(client.exchange_code(code))
    except BoxWidgetError as exc:
        audit.failure(vault.home, name, "connect-failed", exc, kind="oauth", step="exchange")
        raise
    record = {
        "version": RECORD_VERSION,
        "name": name,
        "kind": "oauth",
        "client_id": pending["client_id"],
        "client_secret": pending["client_secret"],
        "redirect_uri": pending.get("redirect_uri"),
        "endpoints": endpoints.to_dict(),
        "token": token,
        "user": None,
        "connected_at": time.time(),
    }
    save_new_connection(vault, record)
    user = fetch_user(endpoints, token["access_token"])
    with vault.lock(name):
        current = vault.load(name)
        if current is not None and current.get("connected_at") == record["connected_at"]:
            vault.save(name, {**current, "user": user})
    return user
