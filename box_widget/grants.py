"""Worker grants, as the token authority's vault keeps them.

A worker grant is what a Dask (or joblib, or multiprocessing) worker carries instead of a
connection's tokens: a bearer secret that names one connection, expires, can be revoked, and can
only fetch access tokens for that connection from the authority that minted it. The vault keeps
each grant encrypted under ``grants/<id>.box`` with the secret's SHA-256 only: the secret itself
is shown once, to the kernel that asked for it, and is never stored.

Secrets look like ``bwg.<id>.<random>``: the id (not secret; ``box-widget grants`` lists it)
finds the record, and the whole secret is compared by its hash in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import socket
import time
from pathlib import Path
from typing import Any, Literal, TypedDict, cast

from .errors import GrantRefused, VaultUnreadable
from .files import private_folder
from .vault import Vault

#: A grant's lifetime unless asked otherwise (12 hours), and the longest one allowed (7 days).
GRANT_LIFETIME = 12 * 3600
MAX_GRANT_LIFETIME = 7 * 24 * 3600
#: What a grant lets its workers do: read and write, or read only (see docs/dask.md).
Scope = Literal["read_write", "read"]
SCOPES: tuple[Scope, ...] = ("read_write", "read")
#: The Box scopes a downscoped grant's tokens are restricted to (Box's token exchange accepts
#: the standard OAuth scopes: docs/box-platform.md, 13).
BOX_SCOPES: dict[str, tuple[str, ...]] = {
    "read": ("root_readonly",),
    "read_write": ("root_readwrite",),
}
PREFIX = "bwg"
#: Grant files are kept this long past their expiry (for ``box-widget grants``), then dropped.
KEEP_EXPIRED = 7 * 24 * 3600


class GrantRecord(TypedDict):
    """A grant as saved (no secret: its SHA-256 only)."""

    id: str
    connection: str
    secret_sha256: str
    scope: Scope
    created_at: float
    expires_at: float
    revoked_at: float | None
    host: str
    pid: int
    #: Workers get Box downscoped tokens (``BOX_SCOPES[scope]``), not the connection's own.
    downscope: bool


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def _path(vault: Vault, grant_id: str) -> Path:
    return vault.home / "grants" / f"{grant_id}.box"


def id_of(secret: str) -> str | None:
    """The grant id a secret names, or None if it is not shaped like a grant's secret."""
    parts = secret.split(".")
    if len(parts) == 3 and parts[0] == PREFIX and parts[1].isalnum():
        return parts[1]
    return None


def create(
    vault: Vault,
    connection: str,
    *,
    scope: Scope = "read_write",
    expires_in: float | None = None,
    downscope: bool = False,
) -> tuple[GrantRecord, str]:
    """A new grant for ``connection``, saved; the record and its secret (shown once)."""
    grant_id = "g" + secrets.token_hex(8)
    secret = f"{PREFIX}.{grant_id}.{secrets.token_urlsafe(32)}"
    now = time.time()
    record = GrantRecord(
        id=grant_id,
        connection=connection,
        secret_sha256=_digest(secret),
        scope=scope,
        created_at=now,
        expires_at=now + float(expires_in or GRANT_LIFETIME),
        revoked_at=None,
        host=socket.gethostname(),
        pid=os.getpid(),
        downscope=downscope,
    )
    private_folder(vault.home / "grants")
    vault._write(_path(vault, grant_id), cast("Any", record))
    return record, secret


def load(vault: Vault, grant_id: str) -> GrantRecord | None:
    """The grant ``grant_id``, or None if there is none (or it cannot be read)."""
    if not grant_id.isalnum():
        return None
    try:
        record = vault._read(_path(vault, grant_id))
    except VaultUnreadable:
        return None
    return cast("GrantRecord | None", record)


def listing(vault: Vault) -> list[GrantRecord]:
    """Every grant kept, oldest first; long-expired ones are dropped on the way."""
    folder = vault.home / "grants"
    found: list[GrantRecord] = []
    now = time.time()
    for path in sorted(folder.glob("*.box")) if folder.is_dir() else []:
        record = load(vault, path.stem)
        if record is None:
            continue
        if now - record["expires_at"] > KEEP_EXPIRED:
            path.unlink(missing_ok=True)
            continue
        found.append(record)
    return sorted(found, key=lambda r: r["created_at"])


def revoke(vault: Vault, grant_id: str) -> bool:
    """Revoke a grant (kept, marked revoked, for the record); whether there was a live one."""
    with vault.lock(f"grant-{grant_id}"):
        record = load(vault, grant_id)
        if record is None or record["revoked_at"] is not None:
            return False
        record["revoked_at"] = time.time()
        vault._write(_path(vault, grant_id), cast("Any", record))
        return True


def public(record: GrantRecord, now: float | None = None) -> dict[str, Any]:
    """What may be shown of a grant (no hash): id, connection, scope, times, state."""
    return {
        "id": record["id"],
        "connection": record["connection"],
        "scope": record["scope"],
        "downscope": record.get("downscope", False),
        "created_at": record["created_at"],
        "expires_at": record["expires_at"],
        "revoked_at": record["revoked_at"],
        "state": state(record, now),
        "host": record["host"],
        "pid": record["pid"],
    }


def state(record: GrantRecord, now: float | None = None) -> str:
    """``live``, ``revoked`` or ``expired``."""
    if record["revoked_at"] is not None:
        return "revoked"
    return "expired" if (time.time() if now is None else now) >= record["expires_at"] else "live"


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def unknown() -> GrantRefused:
    """The refusal of a grant the authority does not know."""
    msg = (
        "The token authority does not know this worker grant (it was never made here, or "
        "its record was deleted): this worker cannot use Box. Run the computation again "
        "from the notebook, which makes a new grant."
    )
    return GrantRefused(msg)


def check(vault: Vault, secret: str) -> GrantRecord:
    """The live grant ``secret`` is the secret of, or ``GrantRefused`` saying why not (in words
    that name the grant's id, never its secret)."""
    grant_id = id_of(secret)
    record = load(vault, grant_id) if grant_id else None
    if record is None or not hmac.compare_digest(record["secret_sha256"], _digest(secret)):
        raise unknown()
    name = record["connection"]
    how = state(record)
    if how == "revoked":
        msg = (
            f"Worker grant {record['id']} for connection {name!r} was revoked at "
            f"{_when(record['revoked_at'] or 0)} (box-widget grants revoke): this worker may "
            "no longer use Box for it. Run the computation again from the notebook to make a "
            "new grant, if that is wanted."
        )
        raise GrantRefused(msg, connection=name, error="grant_revoked")
    if how == "expired":
        msg = (
            f"Worker grant {record['id']} for connection {name!r} expired at "
            f"{_when(record['expires_at'])}: this worker may no longer use Box for it. Run the "
            'computation again from the notebook (a longer job: storage_options={"grant": '
            '{"expires_in": SECONDS}}).'
        )
        raise GrantRefused(msg, connection=name, error="grant_expired")
    return record
