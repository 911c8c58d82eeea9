"""The user's side on a real hub: a real single-user server the hub spawned (box_widget's
extension in it), a real kernel that server started, the real service, the emulator as Box.

In the kernel, ``BoxConnection("work")`` works as it does without a hub, but everything goes to
the service: the sign-in (Box's one redirect URI, the user's hub login), the access tokens
(refreshed by the service when Box expires them), the revocation. The kernel's environment and
the user's home hold no client secret, refresh token or code; the server's status API says
``mode: hub``; ``box-widget list`` in the user's terminal lists the service's connections.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from support.hub import Hub
from support.hub_flow import code_of, grant, open_callback, state_of
from support.hub_server import user_server
from support.secret_scan import emulator_secrets, files_under, find

from box_widget.emulator import BoxEmulator

SIGN_IN = """
import json
from box_widget import BoxConnection
conn = BoxConnection("work")
print(json.dumps({"kind": type(conn).__name__, "connected": conn.connected,
                  "client_id": conn.client_id, "url": conn.authorization_url()}))
"""
USE = """
import json, os
me = conn.session.get("users/me").json()
print(json.dumps({"connected": conn.connected, "login": me["login"],
                  "source": type(conn.session.source).__name__, "secret": conn._client_secret,
                  "repr": repr(conn), "environment": dict(os.environ),
                  "audit": [(e["event"], e["pid"], e.get("hub_user")) for e in conn.audit_log()]}))
"""
DISCONNECT = """
import json
used = conn.session.source.fresh()["access_token"]
conn.revoke()
print(json.dumps({"used": used, "connected": BoxConnection("work").connected}))
"""


@pytest.mark.timeout(600)
def test_a_kernel_connects_and_uses_box_through_the_service(hub: Hub, emu: BoxEmulator) -> None:
    with user_server(hub, "kim") as server:
        status = server.api("GET", "box-widget/api/status")
        assert status.status_code == 200, status.text
        seen = status.json()
        assert seen["mode"] == "hub" and seen["client_secret_configured"] is True
        assert seen["callback_path"] == "/services/box-widget/oauth2/callback"
        assert seen["client_id"] == emu.app.client_id and seen["vault"] == {"key_source": "hub"}
        assert seen["connections"] == []

        with server.kernel() as kernel:
            started = kernel.run(SIGN_IN)
            assert started["kind"] == "HubConnection" and started["connected"] is False
            assert started["client_id"] == emu.app.client_id
            location = grant(emu, started["url"])
            page = open_callback(hub.login(server.user), location)
            assert page.status_code == 200, page.text

            emu.clock.advance(3601)  # Box expires the access token: the service refreshes
            refreshes = emu.counters()["refreshes"]
            used = kernel.run(USE)
            assert used["connected"] is True and used["login"] == "ada@example.com"
            assert used["source"] == "HubTokenSource" and used["secret"] is None
            assert "vault='hub'" in used["repr"]
            assert emu.counters()["refreshes"] == refreshes + 1
            service = hub.service_process().pid  # the service spent the refresh token
            assert used["audit"] == [
                ["connect", service, server.user],
                ["refresh", service, server.user],
            ]
            status_after = server.api("GET", "box-widget/api/status").json()
            assert [c["name"] for c in status_after["connections"]] == ["work"]

            listed = terminal(server.token, hub.service_url, "list")
            assert "work" in listed and "ada@example.com" in listed, listed

            # Nothing secret on the user's side: not in the kernel's environment, not in the
            # user's home (the spawner's), not in what the kernel printed.
            known = emulator_secrets(emu) | {code_of(location), state_of(location)}
            assert not find(known, json.dumps(used["environment"]))
            assert not find(known, json.dumps(used["repr"]))
            for path in files_under([server.home]):
                assert not find(known, path.read_bytes()), path
            assert used["environment"].get("BOX_WIDGET_HUB_URL") == hub.service_url
            assert not any(k.startswith("BOX_CLIENT") for k in used["environment"])

            revocations = emu.counters()["revocations"]
            gone = kernel.run(DISCONNECT)
            assert gone["connected"] is False and emu.counters()["revocations"] > revocations
            assert emu.state.oauth.validate_access(gone["used"]) is None


def terminal(token: str, service_url: str, *args: str) -> str:
    """``box-widget ARGS`` as in the user's terminal (the server's environment)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOX_", "JUPYTERHUB_"))}
    env.update(BOX_WIDGET_HUB_URL=service_url, JUPYTERHUB_API_TOKEN=token)
    done = subprocess.run(
        [sys.executable, "-m", "box_widget.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path.home(),
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
