"""Pending sign-ins live on disk: the service restarted between Generate and Grant still
completes the sign-in. A browser Box sends back while the service is down gets the hub's error
page, and Box's code and state stay out of the hub's log."""

from __future__ import annotations

import requests
from support.hub import Hub
from support.hub_flow import api, grant, open_callback, start
from support.secret_scan import find

from box_widget.emulator import BoxEmulator

#: What a browser would bring from Box while the service is down (never exchanged).
DOWN_CODE, DOWN_STATE = "c0de-while-the-service-is-down", "st4te-while-the-service-is-down"


def test_a_sign_in_survives_a_service_restart(hub: Hub, emu: BoxEmulator) -> None:
    token = hub.token("nora")
    authorize_url = start(hub, token, "restarted")

    def while_down() -> None:
        url = f"{hub.callback_url}?code={DOWN_CODE}&state={DOWN_STATE}"
        assert requests.get(url, timeout=30).status_code == 503

    hub.restart_service(while_down=while_down)  # the hub starts it again (a new process)
    page = open_callback(hub.login("nora"), grant(emu, authorize_url))
    assert page.status_code == 200, page.text
    summary = api(hub, token, "GET", "api/connections/restarted").json()
    assert summary["connected"] is True
    assert summary["user"]["login"] == emu.user.login
    log = hub.log_path.read_bytes()
    assert b"/hub/error/503" in log  # the proxy did send that browser to the hub's error page
    assert not find({DOWN_CODE, DOWN_STATE}, log)
