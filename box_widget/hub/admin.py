"""The service's admin API: every hub user's connections, for ``custom:box-widget:admin``."""

from __future__ import annotations

import logging
from typing import Any

from .api import BoxAPIHandler
from .auth import HubAdminHandler

log = logging.getLogger(__name__)


class AdminConnectionsHandler(HubAdminHandler, BoxAPIHandler):
    """``GET api/admin/connections``: every hub user's connections (never token material)."""

    async def get(self) -> None:
        def listing() -> dict[str, Any]:
            return {
                "connections": [
                    {"hub_user": hub_user, **vault.summary(name).to_status()}
                    for hub_user, vault in self.box.vaults.each()
                    for name in vault.names()
                ]
            }

        await self.run(listing, lambda answer: answer)


class AdminConnectionHandler(HubAdminHandler, BoxAPIHandler):
    """``DELETE api/admin/connections/<hub user>/<name>``: revoke any user's connection."""

    async def delete(self, hub_user: str, name: str) -> None:
        admin = str(self.hub_model.get("name"))
        log.info("hub admin %r revokes connection %r of hub user %r", admin, name, hub_user)
        if hub_user not in self.box.vaults.users():  # make no folder for a stranger
            self.answer({"revoked": False})
            return
        await self.run(
            lambda: self.box.revoke(hub_user, name, admin=admin), lambda r: {"revoked": r}
        )
