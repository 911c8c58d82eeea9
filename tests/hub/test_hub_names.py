"""Hub user names that are not plain words (an email address, as many authenticators give)
work end to end: sign-in, the admin's listing, revoking by name."""

from __future__ import annotations

from support.hub import ADMIN_USER, Hub
from support.hub_flow import api, connect, vault_of

from box_widget.emulator import BoxEmulator

USER = "zoe.o@uni.edu"


def test_an_email_address_as_hub_user(hub: Hub, emu: BoxEmulator) -> None:
    token = connect(hub, emu, USER, "work")
    assert api(hub, token, "GET", "api/status").json()["hub_user"] == USER
    assert (hub.service_home / "users" / "zoe.o%40uni.edu" / "connections").is_dir()
    admin = hub.token(ADMIN_USER)
    rows = api(hub, admin, "GET", "api/admin/connections").json()["connections"]
    assert any(r["hub_user"] == USER and r["name"] == "work" for r in rows)
    answer = api(hub, admin, "DELETE", "api/admin/connections/zoe.o%40uni.edu/work")
    assert answer.json() == {"revoked": True}
    assert vault_of(hub, USER).load("work") is None
