"""Pending sign-ins live on disk: the service restarted between Generate and Grant still
completes the sign-in."""

from __future__ import annotations

from support.hub import Hub
from support.hub_flow import api, grant, open_callback, start

from box_widget.emulator import BoxEmulator


def test_a_sign_in_survives_a_service_restart(hub: Hub, emu: BoxEmulator) -> None:
    token = hub.token("nora")
    authorize_url = start(hub, token, "restarted")
    hub.restart_service()  # the hub starts it again (a new process)
    page = open_callback(hub.login("nora"), grant(emu, authorize_url))
    assert page.status_code == 200, page.text
    summary = api(hub, token, "GET", "api/connections/restarted").json()
    assert summary["connected"] is True
    assert summary["user"]["login"] == emu.user.login
