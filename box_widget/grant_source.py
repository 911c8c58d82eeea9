"""Worker grants, on the side of whoever holds one: minting one (the kernel), using one (a
worker's ``GrantTokenSource``).

The kernel asks its Jupyter server (``local_server``) to mint a grant for a connection
(``protocol.grants_path``); the answer holds the grant's secret (shown this once) and the
authority's base URL as workers reach it (``c.BoxWidgetApp.worker_url`` /
``BOX_WIDGET_WORKER_URL``, else the address the kernel reached) with the prefix of its grant
routes. A worker asks ``<url><prefix>/<connection>/token`` with ``Authorization: Bearer <grant
secret>`` (``authority.AuthorityTokenSource``, as kernels ask their server and the hub's
service) and gets access tokens for that one connection, nothing else. The hub's service mints
and serves grants the same way (``hub_client.HubService.mint_grant``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .authority import Authority, AuthorityTokenSource
from .errors import ConfigurationError
from .local_server import find_server
from .protocol import grants_path
from .transport import require_secure

#: How to make a worker reach its authority, said where one could not be.
HOW_TO = (
    "Workers on this machine reach the Jupyter server over loopback; for workers on other "
    "machines, set c.BoxWidgetApp.worker_url (or BOX_WIDGET_WORKER_URL in the server's "
    "environment) to the server's address as they reach it (https), or give the workers the "
    "vault (the same BOX_WIDGET_HOME and key). On a JupyterHub, the hub's box-widget service "
    "is the authority: set c.BoxWidgetHub.worker_url (or BOX_WIDGET_WORKER_URL in the "
    "service's environment) to its address as the workers reach it."
)


@dataclass(frozen=True)
class WorkerGrant:
    """What a worker carries: one connection, its authority (base URL and the prefix of its
    grant routes), the grant's secret (never shown: not in the repr), when it expires, and its
    scope."""

    id: str
    connection: str
    url: str
    prefix: str
    expires_at: float
    scope: str
    secret: str = field(repr=False)

    @classmethod
    def from_answer(cls, answer: dict[str, Any]) -> WorkerGrant:
        """The grant an authority's mint answer describes."""
        return cls(
            id=str(answer["id"]),
            connection=str(answer["connection"]),
            url=require_secure(str(answer["authority_url"])),
            prefix=str(answer["prefix"]),
            expires_at=float(answer["expires_at"]),
            scope=str(answer["scope"]),
            secret=str(answer["secret"]),
        )

    @property
    def authority(self) -> Authority:
        """Its authority, asked with the grant as bearer."""
        return Authority(
            url=self.url,
            token=self.secret,
            scheme="Bearer",
            label=f"The token authority at {self.url} (worker grant {self.id})",
            how_to=HOW_TO,
            refused="refused this worker grant",
            missing="has no box-widget grant route (its box_widget extension is off, or older)",
        )


class GrantTokenSource(AuthorityTokenSource):
    """A token source (see ``token_source``) for a worker: access tokens for the grant's one
    connection, from the authority that minted it, with the grant as bearer."""

    def __init__(self, grant: WorkerGrant) -> None:
        super().__init__(grant.connection, authority=grant.authority)
        self.grant = grant
        self.prefix = grant.prefix

    def __repr__(self) -> str:
        return f"GrantTokenSource(connection={self.name!r}, grant={self.grant.id!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (GrantTokenSource, (self.grant,))

    def revoke(self) -> bool:
        """A worker cannot revoke its connection: refused, in words."""
        msg = (
            f"A worker's grant ({self.grant.id}) cannot revoke connection {self.name!r}: "
            "revoke it from the notebook, or revoke the grant (box-widget grants revoke)."
        )
        raise ConfigurationError(msg, connection=self.name)


def mint(
    name: str,
    *,
    scope: str = "read_write",
    expires_in: float | None = None,
    downscope: bool | None = None,
    server: Authority | None = None,
    path: str | None = None,
) -> WorkerGrant:
    """A new worker grant for connection ``name`` from this process's Jupyter server (or
    ``server``, at its mint route ``path``: the hub's service); an ``AuthorityUnreachable`` (no
    server found, or it did not answer) or the refusal in words. An authority address workers
    would reach over plain http off this machine is refused."""
    server = server or find_server()
    body: dict[str, Any] = {"scope": scope}
    if expires_in is not None:
        body["expires_in"] = expires_in
    if downscope is not None:
        body["downscope"] = downscope
    answer = server.ask("POST", path or grants_path(name), body, connection=name)
    return WorkerGrant.from_answer(answer)
