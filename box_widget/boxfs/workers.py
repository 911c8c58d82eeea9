"""``box://`` on workers: what a pickled ``BoxFileSystem`` carries, and how a worker uses it.

Pickling a file system made in a notebook (Dask does, to put it in the task graph) mints one
worker grant for its connection from the notebook's Jupyter server (``grant_source.mint``), or
on a hub from the hub's box-widget service (``HubService.mint_grant``),
once per file system, and carries that grant: the connection's name, the authority's token
route, the grant's secret, Box's URLs. Never the Client Secret, a refresh or access token, the
vault's key, nor the Jupyter login token. A worker's file system then gets its access tokens
from that authority (``GrantTokenSource``) and never refreshes on its own.

Where no grant can be minted (no Jupyter server: a plain script), the file system carries the
name and the vault's folder only, and a worker must share the vault (the same machine, folder
and key), using its single-flight refresh; a worker that cannot is told what was tried and how
to fix it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from ..endpoints import BoxEndpoints
from ..errors import AuthorityUnreachable, BoxWidgetError, ConfigurationError
from ..grant_source import HOW_TO, GrantTokenSource, WorkerGrant, mint
from ..grants import SCOPES
from ..hub_client import HubService
from ..session import BoxSession
from ..token_source import TokenSource, reopened
from ..vault import Vault

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Carried:
    """What a pickled file system carries (no secret but the grant's, never in its repr)."""

    connection: str
    home: str
    endpoints: dict[str, str]
    grant: WorkerGrant | None
    #: Why no grant was minted (in words), for the worker's error if it cannot use the vault.
    why_no_grant: str = ""


def grant_options(options: Any) -> dict[str, Any]:
    """``storage_options["grant"]`` checked: ``{"scope": "read_write"|"read", "expires_in":
    seconds, "downscope": bool}`` (all optional), or a ``ConfigurationError`` in words."""
    if options is None or options is True:
        return {}
    if not isinstance(options, dict) or set(options) - {"scope", "expires_in", "downscope"}:
        msg = 'grant= takes a dict like {"scope": "read", "expires_in": 3600}'
        raise ConfigurationError(msg)
    if options.get("scope", "read_write") not in SCOPES:
        msg = f"grant scope must be one of {', '.join(SCOPES)}, not {options.get('scope')!r}"
        raise ConfigurationError(msg)
    return dict(options)


def home_of(conn: Any) -> str:
    """A connection's vault folder; ``""`` for one kept by a hub's service (no vault here)."""
    return "" if getattr(conn, "kept_by_hub", False) else str(conn.vault.home)


def cache_key(conn: Any) -> str:
    """The listing cache's key of a connection (``paths.cache_for``): its vault's folder, or
    the hub's service that keeps it."""
    return f"hub:{conn.hub.url}" if getattr(conn, "kept_by_hub", False) else home_of(conn)


def carry(name: str, home: str, endpoints: dict[str, str], options: dict[str, Any]) -> Carried:
    """What a file system of connection ``name`` carries when pickled: a new grant from this
    process's Jupyter server (on a hub, from the hub's service: ``home`` is ``""``); else
    (none reachable, or it has no such connection) the vault's folder, unless a grant was asked
    for explicitly (``options``): then the error."""
    try:
        # kept by the hub's service (no vault here): the service mints; else this server
        grant = HubService().mint_grant(name, **options) if not home else mint(name, **options)
    except BoxWidgetError as exc:
        if options:
            raise
        log.debug("connection %r: no worker grant (%s); workers need the vault", name, exc.what)
        return Carried(name, home, endpoints, None, why_no_grant=exc.what)
    log.info("connection %r: worker grant %s minted (%s)", name, grant.id, grant.scope)
    return Carried(name, home, endpoints, grant)


class WorkerConnection:
    """What a worker's file system uses in place of a ``BoxConnection``: the grant's session,
    or (no grant) the vault on this machine, with an error naming both when neither works."""

    def __init__(self, carried: Carried) -> None:
        self.carried = carried
        self.name = carried.connection
        grant = carried.grant
        #: The listing cache's key (see ``paths.cache_for``).
        self.cache_key = f"grant:{grant.id}" if grant else carried.home
        self._session: BoxSession | None = None

    def __repr__(self) -> str:
        grant = self.carried.grant
        via = f"grant={grant.id!r}" if grant else f"vault={self.carried.home!r}"
        return f"WorkerConnection(name={self.name!r}, {via})"

    @property
    def session(self) -> BoxSession:
        if self._session is None:
            grant = self.carried.grant
            source = GrantTokenSource(grant) if grant else self._vault_source()
            self._session = BoxSession(source, BoxEndpoints.from_dict(self.carried.endpoints))
        return self._session

    def _vault_source(self) -> TokenSource:
        home = self.carried.home
        try:
            if not home:  # a hub-kept connection: there is no vault to share
                msg = "the connection is kept by the hub's box-widget service, not in a vault"
                raise ConfigurationError(msg, connection=self.name)
            source = reopened(Vault(home, create=False), self.name)
        except BoxWidgetError as exc:
            msg = (
                f"No token authority is reachable from this process for connection "
                f"{self.name!r}. Tried: a worker grant, but the notebook made none "
                f"({self.carried.why_no_grant or 'no Jupyter server'}); then the vault at "
                f"{home or '(none)'} on this machine ({exc.what}). Fix: run the notebook under "
                "Jupyter (its server gives workers a grant), or share the vault with the workers "
                f"(the same BOX_WIDGET_HOME and key). {HOW_TO}"
            )
            raise AuthorityUnreachable(
                msg, tried=("worker grant", f"vault {home}"), connection=self.name
            ) from None
        return source
