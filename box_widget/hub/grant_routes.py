"""The service's worker-grant routes (docs/dask.md): the hub's service as the token authority
of a hub user's Dask (and other) workers, as the Jupyter server is in single-user mode.

A kernel mints (``POST api/connections/<name>/grants``), lists (``GET api/grants``) and revokes
(``DELETE api/grants/<id>``) with its hub API token, in its hub user's vault only. A worker asks
``POST api/grants/<hub user>/<name>/token`` with ``Authorization: Bearer <grant secret>`` and no
hub login: the grant itself is checked (known in that hub user's vault, for that connection,
not revoked, not expired). The logic is ``grant_authority``'s, shared with the server's routes.
"""

from __future__ import annotations

from urllib.parse import quote

from tornado import web

from .. import grant_authority
from ..errors import BoxWidgetError, GrantRefused
from ..token_api import KINDS, error_answer, token_answer
from .api import BoxAPIHandler, log

#: The grants' routes, relative to the service's prefix.
GRANTS = "api/grants"


def grant_prefix(hub_user: str) -> str:
    """The prefix of ``hub_user``'s grant token routes (``<prefix>/<connection>/token``)."""
    return f"{GRANTS}/{quote(hub_user, safe='')}"


class MintHandler(BoxAPIHandler):
    """``POST api/connections/<name>/grants``: a new worker grant (the secret shown this once),
    the service's URL as workers reach it and the prefix of the grant's token route."""

    async def post(self, name: str) -> None:
        hub_user, box = self.hub_user, self.box
        try:
            scope, expires_in, downscope = grant_authority.mint_options(
                self.body(), box.grant_lifetime, box.grant_max_lifetime
            )
        except ValueError as exc:
            raise web.HTTPError(400, str(exc)) from None
        where = {
            "authority_url": box.worker_url.rstrip("/") + "/"
            if box.worker_url
            else self.public_base(),
            "prefix": grant_prefix(hub_user),
        }
        await self.run(
            lambda: box.mint_grant(hub_user, name, scope, expires_in, downscope),
            lambda made: {**made, **where},
        )


class GrantListHandler(BoxAPIHandler):
    """``GET api/grants``: this hub user's grants (no secret, no hash)."""

    async def get(self) -> None:
        hub_user = self.hub_user
        await self.run(lambda: self.box.grants(hub_user), lambda found: {"grants": found})


class GrantHandler(BoxAPIHandler):
    """``DELETE api/grants/<id>``: revoke one of this hub user's grants (another user's: 404)."""

    async def delete(self, grant_id: str) -> None:
        hub_user = self.hub_user
        await self.run(
            lambda: self.box.revoke_grant(hub_user, grant_id), lambda done: {"revoked": done}
        )


class GrantTokenHandler(BoxAPIHandler):
    """``POST api/grants/<hub user>/<name>/token``: an access token for a worker's grant."""

    async def prepare(self) -> None:
        """No hub login: the bearer is the grant, checked in the work."""

    async def post(self, hub_user: str, name: str) -> None:
        secret = grant_authority.bearer(self.request.headers.get("Authorization", ""))
        if secret is None:
            self.set_header("WWW-Authenticate", 'Bearer realm="box-widget"')
            self.fail("grant_refused", GrantRefused(grant_authority.NO_BEARER))
            return
        failed = self.body().get("failed")
        await self.run(lambda: self.box.grant_token(hub_user, name, secret, failed), token_answer)

    def fail(self, kind: str, exc: BoxWidgetError) -> None:
        """The refusal as JSON."""
        self.log_refusal(kind, exc)
        self.answer(error_answer(kind, exc), KINDS[kind][1])

    def log_refusal(self, kind: str, exc: BoxWidgetError) -> None:
        """No hub login here (no hub user to name): the grant's connection."""
        log.info("worker grant: connection %r: %s", exc.connection, kind)


def routes(name: str) -> list[tuple[str, type[web.RequestHandler]]]:
    """The grant routes (``name``: the pattern of a connection name or hub user)."""
    return [
        (f"api/connections/{name}/grants", MintHandler),
        (GRANTS, GrantListHandler),
        (f"{GRANTS}/{name}", GrantHandler),
        (f"{GRANTS}/{name}/{name}/token", GrantTokenHandler),
    ]
