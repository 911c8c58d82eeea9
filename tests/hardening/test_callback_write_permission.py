"""The callback saves tokens, so it needs ``write`` on ``box_widget``, not only ``read``.

Tornado's ``@authorized`` maps a GET to ``read``; the callback checks ``write`` itself. Here a
real Jupyter server runs under a custom ``Authorizer`` (``ServerApp.authorizer_class``) that
grants only ``read``: the callback answers the extension's 403 page, exchanges no code, stores
nothing, and leaves the pending sign-in for a user who may complete it.
"""

from __future__ import annotations

from typing import Any

import pytest
from jupyter_server.auth.authorizer import Authorizer
from test_server import NAME, Box, assert_failed, query
from traitlets.config import Config


class ReadOnly(Authorizer):
    """Every user may read everything, and do nothing else."""

    def is_authorized(self, handler: Any, user: Any, action: str, resource: str) -> bool:
        return action == "read"


@pytest.fixture
def jp_server_config(jp_server_config: Config) -> Config:
    """The usual test server (see ``test_server``), under the read-only authorizer."""
    jp_server_config.ServerApp.authorizer_class = ReadOnly
    return jp_server_config


async def test_a_user_with_read_only_cannot_complete_a_sign_in(box: Box) -> None:
    location = box.consent(box.start())
    state = query(location)["state"]

    page = await box.callback(location)

    assert_failed(page, 403, "forbidden", "may not connect Box", "'write' permission")
    assert page.headers["Cache-Control"] == "no-store"
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert box.emu.counters()["grants"]["authorization_code"] == 0  # the code was not used
    assert box.vault.load(NAME) is None  # nothing stored
    assert box.vault.has_pending(state)  # the sign-in is still there, not consumed
    status, _ = await box.status()
    assert status == 200  # reading is allowed: the authorizer is the one in force
