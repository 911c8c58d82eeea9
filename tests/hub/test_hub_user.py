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
from urllib.parse import quote

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


def terminal_env(token: str, service_url: str) -> dict[str, str]:
    """The environment of the user's terminal, as far as box-widget reads it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOX_", "JUPYTERHUB_"))}
    env.update(BOX_WIDGET_HUB_URL=service_url, JUPYTERHUB_API_TOKEN=token)
    return env


def terminal(token: str, service_url: str, *args: str) -> str:
    """``box-widget ARGS`` as in the user's terminal (the server's environment)."""
    env = terminal_env(token, service_url)
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


FORM = """
import json
from box_widget import BoxConnection
form = BoxConnection("lab").form
# What the browser's form does: the status API's mode and redirect URL, then Generate.
form.mode = "server"
form.redirect_uri = %r
url = form.authorize_url
form._on_message(form, {"type": "generate", "opened": True}, [])
print(json.dumps({"key_source": form.key_source, "secret_on_server": form.secret_on_server,
                  "client_id": form.client_id, "state": form.state, "url": url}))
"""
FORM_CONNECTED = """
import json, time
deadline = time.monotonic() + 30  # the watch asks the service every 0.5 s
while form.state != "connected" and time.monotonic() < deadline:
    time.sleep(0.2)
form._on_message(form, {"type": "test"}, [])
print(json.dumps({"state": form.state, "login": form.user_login, "message": form.message,
                  "hint": form.token_hint, "expires_at": form.expires_at,
                  "ready": form.ready}))
"""
FORM_DISCONNECT = """
import json
form._on_message(form, {"type": "disconnect"}, [])
print(json.dumps({"state": form.state, "message": form.message}))
"""
PASTE = """
import json
conn = BoxConnection("paste")
print(json.dumps({"url": conn.authorization_url()}))
"""
PASTED = """
user = conn.complete(%r)
print(json.dumps({"user": user, "connected": conn.connected}))
"""


@pytest.mark.timeout(600)
def test_the_form_headless_paste_and_terminal_login_go_to_the_service(
    hub: Hub, emu: BoxEmulator
) -> None:
    with user_server(hub, "lee") as server, server.kernel() as kernel:
        shown = kernel.run(FORM % (hub.callback_url,))
        assert shown["key_source"] == "hub" and shown["secret_on_server"] is True
        assert shown["client_id"] == emu.app.client_id and shown["state"] == "waiting"
        assert f"redirect_uri={quote(hub.callback_url, safe='')}" in shown["url"]
        # Box's window: the grant, then Box's redirect in the user's browser (hub login).
        page = open_callback(hub.login(server.user), grant(emu, shown["url"]))
        assert page.status_code == 200, page.text
        connected = kernel.run(FORM_CONNECTED)
        assert connected["state"] == "connected", connected
        assert connected["login"] == "ada@example.com" and connected["hint"] == ""
        assert connected["message"].startswith("Test Connection: OK, Box user Ada Lovelace")
        assert connected["ready"] is True  # a fresh sign-in is prepared for the next Generate

        # The headless path: the address Box redirected to, pasted into the kernel.
        url = kernel.run(PASTE)["url"]
        pasted = kernel.run(PASTED % (grant(emu, url),))
        assert pasted["connected"] is True and pasted["user"]["login"] == "ada@example.com"

        # The terminal: login (paste), list, revoke.
        login = subprocess.Popen(
            [sys.executable, "-m", "box_widget.cli", "login", "shell"],
            env=terminal_env(server.token, hub.service_url),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert login.stdout is not None and login.stdin is not None
        lines = [login.stdout.readline() for _ in range(3)]
        authorize = lines[2].strip()
        assert authorize.startswith(emu.endpoints.authorize_url), lines
        out, err = login.communicate(grant(emu, authorize) + "\n", timeout=120)
        assert login.returncode == 0, err
        assert "Connected 'shell' to Box as Ada Lovelace" in out
        listed = terminal(server.token, hub.service_url, "list")
        assert [line.split()[0] for line in listed.splitlines()[2:]] == ["lab", "paste", "shell"]
        assert "Revoked" in terminal(server.token, hub.service_url, "revoke", "shell")
        assert "shell" not in terminal(server.token, hub.service_url, "list")

        # The form's Disconnect: the service revokes at Box.
        revocations = emu.counters()["revocations"]
        gone = kernel.run(FORM_DISCONNECT)
        assert gone["state"] == "disconnected" and "service revoked" in gone["message"]
        assert emu.counters()["revocations"] > revocations
        assert "lab" not in terminal(server.token, hub.service_url, "list")
