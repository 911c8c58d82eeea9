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
   (``store.store_new_connection``), the Box user asked and saved.
"""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

from . import audit
from .endpoints import BoxEndpoints
from .errors import (
    AuthorizationError,
    BoxWidgetError,
    ConfigurationError,
    PendingForAnotherConnection,
)
from .oauth import HINTS, TokenClient
from .records import RECORD_VERSION, BoxUser, ConnectionRecord, PendingSignIn
from .store import fetch_user, store_new_connection
from .tokens import normalize
from .vault import Vault


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


#: Where a Box app's redirect URIs are registered.
REGISTER_AT = "the Box Developer Console (your app, Configuration tab, OAuth 2.0 Redirect URIs)"


def redirect_refused(redirect_uri: str | None) -> str:
    """What to say when Box may have refused the Redirect URL (its own error page, which never
    comes back): the URL that was sent, and where to register it."""
    sent = "the Redirect URL this sign-in sent" + (f", {redirect_uri}" if redirect_uri else "")
    return (
        f"If Box showed an error about the redirect URI (redirect_uri_mismatch), Box refused "
        f"{sent}: register exactly that URL in {REGISTER_AT}, then sign in again."
    )


def _refuses_redirect_uri(error: str, detail: str) -> bool:
    """Whether Box's ``error`` is about the redirect URI."""
    return error == "redirect_uri_mismatch" or (
        error == "invalid_request" and "redirect_uri" in detail.replace(" ", "_").lower()
    )


def sign_in_with_box_answer(
    vault: Vault,
    pending: PendingSignIn,
    params: dict[str, str],
    *,
    server_secret: str | None = None,
) -> BoxUser:
    """Read Box's answer to a claimed sign-in and, if Box sent a code, exchange and save it; a
    refusal by Box (``error``, e.g. the user declined) is audited for the connection.
    ``server_secret``: see ``exchange_code_and_save``."""
    try:
        code = code_from_box_answer(
            params, name=pending["name"], redirect_uri=pending.get("redirect_uri")
        )
    except AuthorizationError as exc:
        audit.failure(
            vault.home, pending["name"], "connect-failed", exc, kind="oauth", step="authorize"
        )
        raise
    return exchange_code_and_save(vault, pending, code, server_secret=server_secret)


def code_from_box_answer(
    params: dict[str, str], *, name: str | None = None, redirect_uri: str | None = None
) -> str:
    """The authorization code Box sent, or an AuthorizationError for Box's ``error``; an error
    about the redirect URI, or an address without a code (Box's own error page, pasted), says
    which ``redirect_uri`` was sent and where to register it."""
    error = params.get("error")
    if error:
        detail = params.get("error_description") or error
        if _refuses_redirect_uri(error, detail):
            sent = f" ({redirect_uri})" if redirect_uri else ""
            msg = (
                f"Box refused the Redirect URL this sign-in sent{sent} ({error}: {detail}): "
                f"register exactly that URL in {REGISTER_AT}."
            )
            raise AuthorizationError(msg, error=error, description=detail, connection=name)
        hint = HINTS.get(error)
        msg = f"Box did not authorize the connection ({error}: {detail})"
        msg += f": {hint}." if hint else "."
        raise AuthorizationError(msg, error=error, description=detail, connection=name)
    code = params.get("code")
    if not code:
        msg = f"The address has no authorization code. {redirect_refused(redirect_uri)}"
        raise AuthorizationError(msg, error="invalid_request", connection=name)
    return code


def exchange_code_and_save(
    vault: Vault, pending: PendingSignIn, code: str, *, server_secret: str | None = None
) -> BoxUser:
    """Exchange ``code`` now, store the connection with its tokens and Box user; the user.

    ``server_secret``: the Jupyter server's own Client Secret, for a sign-in started without
    one for the server's app (the server checked that it is its app, at its Box addresses).
    It is used for the exchange only: the connection is saved as the server's app
    (``app: "server"``, ``client_secret: None``), never with a copy of the secret.
    The tokens are stored before ``users/me`` is asked, so a failure there loses nothing.
    """
    name = pending["name"]
    server_app = bool(server_secret) and not pending.get("client_secret")
    secret = server_secret if server_app else pending.get("client_secret")
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
        client_secret=None if server_app else secret,
        redirect_uri=pending.get("redirect_uri"),
        endpoints=endpoints.to_dict(),
        token=token,
        user=None,
        connected_at=time.time(),
    )
    if server_app:
        record["app"] = "server"
    store_new_connection(vault, record)
    user = fetch_user(endpoints, token["access_token"])
    with vault.lock(name):
        current = vault.load(name)
        if current is not None and current.get("connected_at") == record["connected_at"]:
            vault.save(name, {**current, "user": user})
    return user
