"""Worker grants: the Jupyter server as the token authority of Dask (and other) workers.

A kernel (Jupyter login, ``write``) mints a grant for one connection of the server's vault when a
``box://`` file system is pickled; workers then ``POST`` the grant token route with
``Authorization: Bearer <grant secret>`` and no Jupyter login: this handler checks the grant
itself (``grants.check``: known, not revoked, not expired) and answers an access token for that
connection only, refreshed through the vault's single-flight refresh. Every mint, use, refusal
and revocation goes into the audit trail (by grant id; never a secret). Routes and bodies are
``protocol``'s.
"""

from __future__ import annotations

from typing import Any

from jupyter_server.auth.decorator import allow_unauthenticated, authorized
from tornado import web

from .. import grant_authority, grants
from ..errors import GrantRefused
from ..protocol import GRANTS_PATH
from ..records import Token, uses_server_app
from ..revoke import own_client
from ..token_api import token_answer
from ..vault import check_name
from .token_handlers import TokenAPIHandler


class MintHandler(TokenAPIHandler):
    """``POST box-widget/api/connections/<name>/grants``: a new worker grant (the secret shown
    this once) and the token route's URL as workers reach it."""

    @web.authenticated
    @authorized
    async def post(self, name: str) -> None:
        try:
            scope, expires_in, downscope = grant_authority.mint_options(
                self._body(), self.box.grant_lifetime, self.box.grant_max_lifetime
            )
        except ValueError as exc:
            raise web.HTTPError(400, str(exc)) from None
        base = (
            self.box.worker_url or f"{self.request.protocol}://{self.request.host}{self.base_url}"
        )
        where = {"authority_url": base.rstrip("/") + "/", "prefix": GRANTS_PATH}
        await self._answer(
            lambda: self._mint(name, scope, expires_in, downscope),
            lambda made: {**made, **where},
        )

    def _mint(
        self, name: str, scope: grants.Scope, expires_in: float, downscope: bool
    ) -> dict[str, Any]:
        self._saved(check_name(name))  # a connection the server's vault holds, or not_found
        return grant_authority.mint(self.box.vault, name, scope, expires_in, downscope)


class GrantListHandler(TokenAPIHandler):
    """``GET box-widget/api/grants``: every grant (no secret, no hash)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self._answer(
            lambda: grant_authority.listing(self.box.vault), lambda found: {"grants": found}
        )


class GrantHandler(TokenAPIHandler):
    """``DELETE box-widget/api/grants/<id>``: revoke a grant; its workers' next token request
    is refused."""

    @web.authenticated
    @authorized
    async def delete(self, grant_id: str) -> None:
        await self._answer(
            lambda: grant_authority.revoke(self.box.vault, grant_id, self.box.downscoped),
            lambda done: {"revoked": bool(done)},
        )


class GrantTokenHandler(TokenAPIHandler):
    """``POST box-widget/api/grants/<name>/token``: an access token for connection ``name``,
    for a worker holding a grant for it.

    No Jupyter login: the bearer is the grant, checked here. Not a cookie-authenticated
    request, so no XSRF check applies (a browser cannot send the header cross-origin without
    CORS, which this server does not grant).
    """

    def check_xsrf_cookie(self) -> None:
        return None

    @allow_unauthenticated
    async def post(self, name: str) -> None:
        secret = grant_authority.bearer(self.request.headers.get("Authorization", ""))
        if secret is None:
            self.set_header("WWW-Authenticate", 'Bearer realm="box-widget"')
            self._fail("grant_refused", GrantRefused(grant_authority.NO_BEARER))
            return
        failed = self._body().get("failed")
        await self._answer(lambda: self._fresh(name, secret, failed), token_answer)

    def _fresh(self, asked: str, secret: str, failed: Any) -> Token:
        vault = self.box.vault
        grant = grant_authority.check(vault, secret, asked)
        name = grant["connection"]
        record = self._saved(name)
        client = self._client(name, record) if uses_server_app(record) else own_client(record)
        return grant_authority.token(
            vault,
            grant,
            lambda failed: self._refreshed(name, record, client, failed),
            client,
            self.box.downscoped,
            failed,
        )


def routes(connections: str, grants_path: str) -> list[tuple[str, Any]]:
    """The grant routes, under the token API's prefixes (relative to the base URL)."""
    return [
        (rf"/{connections}/([^/]+)/grants", MintHandler),
        (rf"/{grants_path}/([^/]+)/token", GrantTokenHandler),
        (rf"/{grants_path}", GrantListHandler),
        (rf"/{grants_path}/([^/]+)", GrantHandler),
    ]
