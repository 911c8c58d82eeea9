"""What a token authority does with worker grants, free of HTTP: minting, listing, revoking,
checking a worker's bearer and answering it a token, each step audited (by grant id, never a
secret). The Jupyter server's grant routes (``server.grant_handlers``) and the hub service's
(``hub.grants``) both use these, each on its own vault (the hub's: the hub user's, whose audit
events name the hub user).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from traitlets import Float

from . import audit, grants
from .errors import GrantRefused
from .oauth import TokenClient
from .records import Token
from .server.downscoped import DownscopedTokens
from .vault import Vault


def lifetime_settings() -> tuple[Float[float, float], Float[float, float]]:
    """A token authority's ``grant_lifetime`` and ``grant_max_lifetime`` (traitlets of the
    Jupyter server's ``BoxWidgetApp`` and the hub's ``BoxWidgetHub``)."""
    return (
        Float(
            grants.GRANT_LIFETIME, help="Seconds a worker grant lives unless its kernel asks less."
        ).tag(config=True),
        Float(
            grants.MAX_GRANT_LIFETIME, help="The longest lifetime a kernel may ask for a grant."
        ).tag(config=True),
    )


def mint_options(
    body: dict[str, Any], lifetime: float, max_lifetime: float
) -> tuple[grants.Scope, float, bool]:
    """A mint request's ``scope``, ``expires_in`` and ``downscope``, checked; a ``ValueError``
    in words (the route's 400) when one is wrong."""
    scope = body.get("scope", "read_write")
    if scope not in grants.SCOPES:
        msg = f"scope must be one of {', '.join(grants.SCOPES)}"
        raise ValueError(msg)
    expires_in = body.get("expires_in", lifetime)
    if not isinstance(expires_in, int | float) or isinstance(expires_in, bool):
        msg = "expires_in must be a number of seconds"
        raise ValueError(msg)
    if not 0 < expires_in <= max_lifetime:
        msg = f"expires_in must be between 1 and {max_lifetime:g} seconds"
        raise ValueError(msg)
    downscope = body.get("downscope", scope == "read")
    if not isinstance(downscope, bool):
        msg = "downscope must be true or false"
        raise ValueError(msg)
    return scope, float(expires_in), downscope


def mint(
    vault: Vault, name: str, scope: grants.Scope, expires_in: float, downscope: bool
) -> dict[str, Any]:
    """A new grant for connection ``name`` of ``vault`` (the caller checked it exists): the
    mint answer without the authority's address (the secret shown this once)."""
    record, secret = grants.create(
        vault, name, scope=scope, expires_in=expires_in, downscope=downscope
    )
    audit.record(
        vault.home,
        name,
        "grant-created",
        grant=record["id"],
        scope=scope,
        downscope=downscope,
        expires_at=record["expires_at"],
    )
    return {
        "id": record["id"],
        "secret": secret,
        "connection": name,
        "scope": scope,
        "downscope": downscope,
        "expires_at": record["expires_at"],
    }


def listing(vault: Vault) -> list[dict[str, Any]]:
    """Every grant of ``vault``, as may be shown (no secret, no hash)."""
    return [grants.public(g) for g in grants.listing(vault)]


def revoke(vault: Vault, grant_id: str, downscoped: DownscopedTokens | None) -> bool | None:
    """Revoke grant ``grant_id`` of ``vault``: whether a live one was revoked, or None when
    ``vault`` has no such grant."""
    record = grants.load(vault, grant_id)
    if record is None:
        return None
    done = grants.revoke(vault, grant_id)
    if downscoped is not None:
        downscoped.forget(grant_id)
    if done:
        audit.record(vault.home, record["connection"], "grant-revoked", grant=grant_id)
    return done


def bearer(authorization: str) -> str | None:
    """The grant secret of an ``Authorization: Bearer <secret>`` header, or None."""
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    return secret if scheme.lower() == "bearer" and secret else None


#: The refusal of a token request without a grant (the route also sends ``WWW-Authenticate``).
NO_BEARER = "This route needs a worker grant: Authorization: Bearer <grant secret>."


def check(vault: Vault, secret: str, asked: str) -> grants.GrantRecord:
    """The live grant ``secret`` is for connection ``asked``, or ``GrantRefused`` in words
    (audited: the grant id and the reason, never the secret)."""
    try:
        grant = grants.check(vault, secret)
        if grant["connection"] != asked:
            msg = (
                f"Worker grant {grant['id']} is for connection {grant['connection']!r}, "
                f"not {asked!r}: a grant fetches tokens for its own connection only."
            )
            raise GrantRefused(msg, connection=grant["connection"], error="other_connection")
    except GrantRefused as exc:
        audit.record(
            vault.home,
            exc.connection or "-",
            "grant-refused",
            grant=grants.id_of(secret),
            reason=exc.error or "unknown",
        )
        raise
    return grant


def token(
    vault: Vault,
    grant: grants.GrantRecord,
    parent: Callable[[Any], Token],
    client: TokenClient,
    downscoped: DownscopedTokens,
    failed: Any,
) -> Token:
    """The access token a worker holding ``grant`` gets: the connection's own (``parent``,
    refreshed single-flight when expiring or refused: ``failed``), or a downscoped one of it
    when the grant asks for that; audited."""
    if not grant.get("downscope"):
        answer = parent(failed)
    else:  # the worker's refused token was the downscoped one, not the parent
        scopes = grants.BOX_SCOPES[grant["scope"]]
        answer = downscoped.token(grant["id"], parent(None), client, scopes, failed)
    audit.record(vault.home, grant["connection"], "grant-token", grant=grant["id"])
    return answer
