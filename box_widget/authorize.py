"""Completing a sign-in: read Box's redirect, exchange the code at once, save the tokens.

Shared by ``BoxConnection.complete`` (the headless path, in a kernel) and the server extension's
callback route (in the Jupyter server): whichever process gets Box's redirect completes it, using
the pending sign-in that ``BoxConnection.authorization_url`` left in the vault. The steps, in
order, each named for what it touches:

1. ``params_from_redirect``: the address Box sent the browser to, parsed;
2. ``refuse_unknown_state``: a missing or unknown ``state`` refused without a lock (the callback);
3. ``claim_pending_sign_in``: the vault's pending record for that state, taken (single use);
4. ``sign_in_with_box_answer``: Box's answer read (``code_from_box_answer``), then
   ``exchange_code_and_save``: the code exchanged at Box, the connection stored
   (``store_new_connection``), the Box user asked and saved.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from . import audit
from .endpoints import BoxEndpoints
from .errors import (
    AuthorizationError,
    BoxAPIError,
    BoxUnavailable,
    BoxWidgetError,
    ConfigurationError,
    PendingForAnotherConnection,
    VaultWriteError,
)
from .oauth import DEFAULT_TIMEOUT, HINTS, TokenClient
from .records import RECORD_VERSION, BoxUser, ConnectionRecord, PendingSignIn, box_user
from .tokens import normalize
from .transport import require_secure
from .vault import Vault

#: The audit trail's word on tokens Box issued that the vault could not save.
TOKENS_DROPPED = "issued by Box, not saved (the vault could not be written), dropped"


def params_from_redirect(redirected_url: str) -> dict[str, str]:
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
            raise AuthorizationError(msg, error="invalid_request", action=None)
        if values:
            params[name] = values[0]
    return params


def _no_state() -> AuthorizationError:
    msg = (
        "The address has no 'state': paste the whole address the browser landed on after "
        "Box (it contains ?code=...&state=...)."
    )
    return AuthorizationError(msg, error="invalid_request", action=None)


def _not_pending(name: str | None) -> AuthorizationError:
    msg = (
        "This sign-in was already completed, is older than 10 minutes, or was started "
        "from another vault folder."
    )
    return AuthorizationError(msg, error="invalid_state", connection=name)


def refuse_unknown_state(vault: Vault, params: dict[str, str]) -> None:
    """Refuse at once, as ``claim_pending_sign_in`` would, a ``state`` that is missing or has no
    pending record: one file-existence check, no lock, so that a flood of forged callbacks costs
    the server almost nothing."""
    state = params.get("state")
    if not state:
        raise _no_state()
    if not vault.has_pending(state):
        raise _not_pending(None)


def claim_pending_sign_in(
    vault: Vault, params: dict[str, str], *, name: str | None = None
) -> PendingSignIn:
    """The pending sign-in named by ``state``, taken from the vault (used up, whatever Box's
    answer was), or an AuthorizationError. With ``name``, a sign-in started for another
    connection is refused and left pending."""
    state = params.get("state")
    if not state:
        raise _no_state()
    try:
        pending = vault.take_pending(state, name=name)
    except PendingForAnotherConnection as exc:
        msg = (
            f"This sign-in was started for connection {exc.owner!r}, not {name!r}; finish it "
            f"there, or start a new one on this connection."
        )
        raise AuthorizationError(msg, error="invalid_state", connection=name) from None
    if pending is None:
        raise _not_pending(name)
    return pending


def sign_in_with_box_answer(
    vault: Vault, pending: PendingSignIn, params: dict[str, str]
) -> BoxUser:
    """Read Box's answer to a claimed sign-in and, if Box sent a code, exchange and save it; a
    refusal by Box (``error``, e.g. the user declined) is audited for the connection."""
    try:
        code = code_from_box_answer(params, name=pending["name"])
    except AuthorizationError as exc:
        audit.failure(
            vault.home, pending["name"], "connect-failed", exc, kind="oauth", step="authorize"
        )
        raise
    return exchange_code_and_save(vault, pending, code)


def code_from_box_answer(params: dict[str, str], *, name: str | None = None) -> str:
    """The authorization code Box sent, or an AuthorizationError for Box's ``error``."""
    error = params.get("error")
    if error:
        detail = params.get("error_description") or error
        hint = HINTS.get(error)
        msg = f"Box did not authorize the connection ({error}: {detail})"
        msg += f": {hint}." if hint else "."
        raise AuthorizationError(msg, error=error, description=detail, connection=name)
    code = params.get("code")
    if not code:
        msg = "The address has no authorization code."
        raise AuthorizationError(msg, error="invalid_request", connection=name)
    return code


def fetch_user(endpoints: BoxEndpoints, access_token: str) -> BoxUser:
    """``GET users/me`` with a bare token: the Box user's id, name and login."""
    url = require_secure(endpoints.api_url.rstrip("/") + "/users/me")
    try:
        response = requests.get(
            url, headers={"Authorization": f"Bearer {access_token}"}, timeout=DEFAULT_TIMEOUT
        )
    except requests.RequestException as exc:
        msg = f"Could not reach Box's API to read the user ({type(exc).__name__})."
        raise BoxUnavailable(msg) from None
    if response.status_code != 200:
        raise BoxAPIError.from_response(response)
    body: dict[str, Any] = response.json()
    return box_user(body)


def store_connection(vault: Vault, record: ConnectionRecord) -> None:
    """Write a connection's record under its lock."""
    with vault.lock(record["name"]):
        vault.save(record["name"], record)


def store_new_connection(vault: Vault, record: ConnectionRecord) -> None:
    """Store a connection Box just issued tokens for, and audit it: ``connect``, or
    ``connect-failed`` saying that Box's tokens were dropped (the vault could not take them)."""
    name, kind = record["name"], record["kind"]
    try:
        store_connection(vault, record)
    except VaultWriteError as exc:
        audit.failure(
            vault.home, name, "connect-failed", exc, kind=kind, step="save", tokens=TOKENS_DROPPED
        )
        raise
    audit.record(vault.home, name, "connect", kind=kind)


def connect_with_client_credentials(
    vault: Vault,
    name: str,
    endpoints: BoxEndpoints,
    client_id: str,
    client_secret: str,
    subject_type: str,
    subject_id: str,
) -> None:
    """Connect ``name`` by the Client Credentials Grant (no browser, no refresh token) and
    store it, audited like any connect."""
    client = TokenClient(endpoints, client_id, client_secret)
    try:
        token = normalize(client.client_credentials(subject_type, subject_id))
        user = fetch_user(endpoints, token["access_token"])
    except BoxWidgetError as exc:
        audit.failure(
            vault.home, name, "connect-failed", exc, kind="client_credentials", step="token"
        )
        raise
    record = ConnectionRecord(
        version=RECORD_VERSION,
        name=name,
        kind="client_credentials",
        client_id=client_id,
        client_secret=client_secret,
        subject_type=subject_type,
        subject_id=subject_id,
        endpoints=endpoints.to_dict(),
        token=token,
        user=user,
        connected_at=time.time(),
    )
    store_new_connection(vault, record)


def exchange_code_and_save(vault: Vault, pending: PendingSignIn, code: str) -> BoxUser:
    """Exchange ``code`` now, store the connection with its tokens and Box user; the user.

    The tokens are stored before ``users/me`` is asked, so a failure there loses nothing.
    """
    name = pending["name"]
    secret = pending.get("client_secret")
    if not secret:
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
        raise ConfigurationError(msg, connection=name, missing=("client_secret",))
    endpoints = BoxEndpoints.from_dict(pending["endpoints"])
    client = TokenClient(endpoints, pending["client_id"], secret)
    try:
        token = normalize(client.exchange_code(code))
    except BoxWidgetError as exc:
        exc.connection = exc.connection or name
        audit.failure(vault.home, name, "connect-failed", exc, kind="oauth", step="exchange")
        raise
    record = ConnectionRecord(
        version=RECORD_VERSION,
        name=name,
        kind="oauth",
        client_id=pending["client_id"],
        client_secret=secret,
        redirect_uri=pending.get("redirect_uri"),
        endpoints=endpoints.to_dict(),
        token=token,
        user=None,
        connected_at=time.time(),
    )
    store_new_connection(vault, record)
    user = fetch_user(endpoints, token["access_token"])
    with vault.lock(name):
        current = vault.load(name)
        if current is not None and current.get("connected_at") == record["connected_at"]:
            vault.save(name, {**current, "user": user})
    return user
