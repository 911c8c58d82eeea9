"""Storing a connection Box just issued tokens for: the user it signed in as, the record, the
audit line; and the Client Credentials Grant, which connects without a browser. Used by the
sign-in steps in ``authorize`` and by ``BoxConnection.from_client_credentials``."""

from __future__ import annotations

import time
from typing import Any

import requests

from . import audit
from .endpoints import BoxEndpoints
from .errors import BoxAPIError, BoxUnavailable, BoxWidgetError, VaultWriteError
from .oauth import DEFAULT_TIMEOUT, TokenClient
from .records import RECORD_VERSION, BoxUser, ConnectionRecord, box_user
from .tokens import normalize
from .transport import require_secure
from .vault import Vault

#: The audit trail's word on tokens Box issued that the vault could not save.
TOKENS_DROPPED = "issued by Box, not saved (the vault could not be written), dropped"


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
