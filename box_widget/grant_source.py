"""Worker grants, on the side of whoever holds one: minting one (the kernel), using one (a
worker's ``GrantTokenSource``).

The kernel asks its Jupyter server (``local_server``) to mint a grant for a connection
(``protocol.grants_path``); the answer holds the grant's secret (shown this once) and the URL of
the token route as workers reach it (``c.BoxWidgetApp.worker_url`` / ``BOX_WIDGET_WORKER_URL``,
else the address the kernel reached). A worker sends ``Authorization: Bearer <secret>`` there
and gets access tokens for that one connection, nothing else. The authority could equally be the
hub service: a grant names its token URL, whoever serves it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import requests

from .errors import AuthorityUnreachable, BoxWidgetError
from .local_server import TIMEOUT, LocalServer, find_server
from .protocol import grants_path
from .remote_source import AskingTokenSource, answer_of
from .transport import require_secure

#: How to make a worker reach its authority, said where one could not be.
HOW_TO = (
    "Workers on this machine reach the Jupyter server over loopback; for workers on other "
    "machines, set c.BoxWidgetApp.worker_url (or BOX_WIDGET_WORKER_URL in the server's "
    "environment) to the server's address as they reach it (https), or give the workers the "
    "vault (the same BOX_WIDGET_HOME and key)."
)


@dataclass(frozen=True)
class WorkerGrant:
    """What a worker carries: one connection, the authority's token route, the grant's secret
    (never shown: not in the repr), when it expires, and its scope."""

    id: str
    connection: str
    token_url: str
    expires_at: float
    scope: str
    secret: str = field(repr=False)

    @classmethod
    def from_answer(cls, answer: dict[str, Any]) -> WorkerGrant:
        """The grant the authority's mint answer describes."""
        return cls(
            id=str(answer["id"]),
            connection=str(answer["connection"]),
            token_url=str(answer["token_url"]),
            expires_at=float(answer["expires_at"]),
            scope=str(answer["scope"]),
            secret=str(answer["secret"]),
        )


class GrantTokenSource(AskingTokenSource):
    """A token source (see ``token_source``) for a worker: access tokens for the grant's one
    connection, from the authority that minted it, with the grant as bearer."""

    authority = "the worker grant's authority"

    def __init__(self, grant: WorkerGrant) -> None:
        super().__init__(grant.connection)
        self.grant = grant

    def __repr__(self) -> str:
        return f"GrantTokenSource(connection={self.name!r}, grant={self.grant.id!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (GrantTokenSource, (self.grant,))

    def _ask_token(self, body: dict[str, Any]) -> dict[str, Any]:
        url = require_secure(self.grant.token_url)
        http = requests.Session()
        http.trust_env = False
        headers = {"Authorization": f"Bearer {self.grant.secret}"}
        try:
            with http:
                response = http.post(
                    url, json=body, headers=headers, timeout=TIMEOUT, allow_redirects=False
                )
        except requests.RequestException as exc:
            msg = (
                f"This worker could not reach the token authority at {url} named by worker "
                f"grant {self.grant.id} ({type(exc).__name__}). {HOW_TO}"
            )
            raise AuthorityUnreachable(
                msg, tried=(url,), connection=self.name, action="retry"
            ) from None
        return self._read(response, url)

    def _not_understood(self, where: str, status: int) -> BoxWidgetError:
        why = (
            "has no box-widget grant route (its box_widget extension is off, or older)"
            if status == 404
            else f"answered HTTP {status}"
        )
        msg = f"The token authority at {where} (worker grant {self.grant.id}) {why}. {HOW_TO}"
        return AuthorityUnreachable(msg, tried=(where,), connection=self.name)


def mint(
    name: str,
    *,
    scope: str = "read_write",
    expires_in: float | None = None,
    downscope: bool | None = None,
    server: LocalServer | None = None,
) -> WorkerGrant:
    """A new worker grant for connection ``name`` from this process's Jupyter server; an
    ``AuthorityUnreachable`` (no server found, or it did not answer) or the refusal in words."""
    server = server or find_server()
    body: dict[str, Any] = {"scope": scope}
    if expires_in is not None:
        body["expires_in"] = expires_in
    if downscope is not None:
        body["downscope"] = downscope
    try:
        response = server.request("POST", grants_path(name), body)
    except requests.RequestException as exc:
        msg = f"The Jupyter server at {server.url} did not answer ({type(exc).__name__})."
        raise AuthorityUnreachable(msg, tried=(server.url,), connection=name) from None
    answer = answer_of(response, name)
    if answer is None:
        msg = (
            f"The Jupyter server at {server.url} answered HTTP {response.status_code} when "
            "asked for a worker grant (its box_widget extension is off or older, or this "
            "process's Jupyter login was refused)."
        )
        raise AuthorityUnreachable(msg, tried=(server.url,), connection=name)
    return WorkerGrant.from_answer(answer)
