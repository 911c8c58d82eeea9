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

from .. import audit, grants
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
        body = self._body()
        scope = body.get("scope", "read_write")
        if scope not in grants.SCOPES:
            raise web.HTTPError(400, f"scope must be one of {', '.join(grants.SCOPES)}")
        expires_in = body.get("expires_in", self.box.grant_lifetime)
        if not isinstance(expires_in, int | float) or isinstance(expires_in, bool):
            raise web.HTTPError(400, "expires_in must be a number of seconds")
        if not 0 < expires_in <= self.box.grant_max_lifetime:
            raise web.HTTPError(
                400, f"expires_in must be between 1 and {self.box.grant_max_lifetime:g} seconds"
            )
        downscope = body.get("downscope", scope == "read")
        if not isinstance(downscope, bool):
            raise web.HTTPError(400, "downscope must be true or false")
        base = (
            self.box.worker_url or f"{self.request.protocol}://{self.request.host}{self.base_url}"
        )
        where = {"authority_url": base.rstrip("/") + "/", "prefix": GRANTS_PATH}
        await self._answer(
            lambda: self._mint(name, scope, float(expires_in), downscope),
            lambda made: {**made, **where},
        )

    def _mint(
        self, name: str, scope: grants.Scope, expires_in: float, downscope: bool
    ) -> dict[str, Any]:
        self._saved(check_name(name))  # a connection the server's vault holds, or not_found
        record, secret = grants.create(
            self.box.vault, name, scope=scope, expires_in=expires_in, downscope=downscope
        )
        audit.record(
            self.box.vault.home,
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


class GrantListHandler(TokenAPIHandler):
    """``GET box-widget/api/grants``: every grant (no secret, no hash)."""

    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self._answer(
            lambda: [grants.public(g) for g in grants.listing(self.box.vault)],
            lambda found: {"grants": found},
        )


class GrantHandler(TokenAPIHandler):
    """``DELETE box-widget/api/grants/<id>``: revoke a grant; its workers' next token request
    is refused."""

    @web.authenticated
    @authorized
    async def delete(self, grant_id: str) -> None:
        await self._answer(lambda: self._revoke(grant_id), lambda done: {"revoked": done})

    def _revoke(self, grant_id: str) -> bool:
        record = grants.load(self.box.vault, grant_id)
        done = grants.revoke(self.box.vault, grant_id)
        self.box.downscoped.forget(grant_id)
        if record is not None and done:
            audit.record(self.box.vault.home, record["connection"], "grant-revoked", grant=grant_id)
        return done


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
        scheme, _, secret = self.request.headers.get("Authorization", "").partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret:
            self.set_header("WWW-Authenticate", 'Bearer realm="box-widget"')
            what = "This route needs a worker grant: Authorization: Bearer <grant secret>."
            self._fail("grant_refused", GrantRefused(what))
            return
        failed = self._body().get("failed")
        await self._answer(lambda: self._fresh(name, secret, failed), token_answer)

    def _fresh(self, asked: str, secret: str, failed: Any) -> Token:
        vault = self.box.vault
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
        name = grant["connection"]
        record = self._saved(name)
        client = self._client(name, record) if uses_server_app(record) else own_client(record)
        if not grant.get("downscope"):
            token = self._refreshed(name, record, client, failed)
        else:  # the worker's refused token was the downscoped one, not the parent
            parent = self._refreshed(name, record, client, None)
            scopes = grants.BOX_SCOPES[grant["scope"]]
            token = self.box.downscoped.token(grant["id"], parent, client, scopes, failed)
        audit.record(vault.home, name, "grant-token", grant=grant["id"])
        return token


def routes(connections: str, grants_path: str) -> list[tuple[str, Any]]:
    """The grant routes, under the token API's prefixes (relative to the base URL)."""
    return [
        (rf"/{connections}/([^/]+)/grants", MintHandler),
        (rf"/{grants_path}/([^/]+)/token", GrantTokenHandler),
        (rf"/{grants_path}", GrantListHandler),
        (rf"/{grants_path}/([^/]+)", GrantHandler),
    ]
