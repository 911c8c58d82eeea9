"""Keeping connections alive: Box refresh tokens die after 60 days unused.

Every ``interval`` seconds the service refreshes each connection whose refresh token is older
than ``max_age`` seconds (``keepalive_days``, 45 by default), so that a user back from a long
break is still connected. A refresh token's age is counted from when Box issued it: the last
refresh (``refreshed_at``), else the sign-in (``connected_at``). A refresh Box refuses marks
the connection "sign in again" (``HubBox.token`` does the same for a kernel's pull).
"""

from __future__ import annotations

import logging
import time

from ..errors import BoxWidgetError
from ..records import ConnectionRecord
from .service import HubBox

log = logging.getLogger(__name__)


def issued_at(record: ConnectionRecord) -> float:
    """When Box issued the saved refresh token (seconds since the epoch)."""
    return float(record.get("refreshed_at") or record.get("connected_at") or 0)


def due(record: ConnectionRecord | None, max_age: float, now: float) -> bool:
    """Whether a saved connection's refresh token is older than ``max_age`` seconds."""
    if not record or record.get("kind") != "oauth":
        return False
    token = record.get("token")
    return bool(token and token.get("refresh_token")) and now - issued_at(record) > max_age


def keep_alive(box: HubBox, max_age: float) -> int:
    """Refresh every connection whose refresh token is older than ``max_age`` seconds; how
    many were refreshed. One failure never stops the others (each is audited)."""
    refreshed = 0
    now = time.time()
    for hub_user, vault in box.vaults.each():
        for name in vault.names():
            try:
                if not due(vault.load(name), max_age, now):
                    continue
                box.keep_alive(hub_user, name)
            except BoxWidgetError as exc:
                log.warning(
                    "keep-alive: hub user %r, connection %r: %s", hub_user, name, type(exc).__name__
                )
                continue
            refreshed += 1
            log.info("keep-alive: hub user %r, connection %r refreshed", hub_user, name)
    return refreshed
