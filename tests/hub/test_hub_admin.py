"""The service's administrators (``custom:box-widget:admin``, granted by a hub role): every
hub user's connections listed and revoked, through the API and ``box-widget hub``; everyone
else refused."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

from support.hub import ADMIN_USER, Hub
from support.hub_flow import api, connect, vault_of

from box_widget.emulator import BoxEmulator
from box_widget.records import SIGNED_OUT, signed_out


def cli(hub: Hub, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BOX_WIDGET_HUB_URL": hub.service_url, "JUPYTERHUB_API_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "box_widget.cli", "hub", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_an_admin_lists_and_revokes_any_users_connection(hub: Hub, emu: BoxEmulator) -> None:
    connect(hub, emu, "jules", "lab")
    connect(hub, emu, "kim", "thesis")
    admin = hub.token(ADMIN_USER)
    rows = api(hub, admin, "GET", "api/admin/connections").json()["connections"]
    mine = {(r["hub_user"], r["name"]) for r in rows}
    assert {("jules", "lab"), ("kim", "thesis")} <= mine
    for row in rows:  # names, Box logins, expiry; never token material
        assert {"hub_user", "name", "connected", "user", "expires_at"} <= set(row)
        assert not {"token", "access_token", "refresh_token", "client_secret"} & set(row)
    listed = json.dumps(rows)
    for hub_user in ("jules", "kim"):
        record = vault_of(hub, hub_user).load("lab" if hub_user == "jules" else "thesis")
        assert record is not None
        assert record["token"]["access_token"] not in listed
        assert record["token"]["refresh_token"] not in listed
    revocations = emu.counters()["revocations"]
    answer = api(hub, admin, "DELETE", "api/admin/connections/jules/lab")
    assert answer.json() == {"revoked": True}
    assert emu.counters()["revocations"] > revocations  # revoked at Box
    assert vault_of(hub, "jules").load("lab") is None
    assert vault_of(hub, "kim").load("thesis") is not None
    assert api(hub, admin, "DELETE", "api/admin/connections/nobody/lab").json() == {
        "revoked": False
    }
    audit = api(hub, hub.token("jules"), "GET", "api/connections/lab/audit")
    events = audit.json()["events"]
    assert events[-1]["event"] == "revoke" and events[-1]["hub_user"] == "jules"
    assert events[-1]["admin"] == ADMIN_USER and events[-1]["at_box"] is True


def test_without_the_admin_scope_the_admin_routes_are_forbidden(hub: Hub, emu: BoxEmulator) -> None:
    connect(hub, emu, "lena", "data")
    user = hub.token("lena")
    narrowed = hub.token(ADMIN_USER, scopes=["access:services!service=box-widget"])
    for token in (user, narrowed):
        assert api(hub, token, "GET", "api/admin/connections").status_code == 403
        assert api(hub, token, "DELETE", "api/admin/connections/lena/data").status_code == 403
    assert vault_of(hub, "lena").load("data") is not None


def test_the_admin_command_line(hub: Hub, emu: BoxEmulator) -> None:
    connect(hub, emu, "milo", "notes")
    admin = hub.token(ADMIN_USER)
    listed = cli(hub, admin, "list", "--json")
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert any(r["hub_user"] == "milo" and r["name"] == "notes" for r in rows)
    # A connection whose refresh token Box refused: the words of `box-widget list`.
    connect(hub, emu, "nora", "old")
    vault = vault_of(hub, "nora")
    record = vault.load("old")
    assert record is not None
    vault.save("old", signed_out(record))
    table = cli(hub, admin, "list")
    assert table.returncode == 0, table.stderr
    header, *lines = [re.split(r"\s{2,}", line) for line in table.stdout.splitlines()]
    assert header == ["HUB USER", "NAME", "BOX LOGIN", "ACCESS TOKEN", "KIND"]
    shown = {(cells[0], cells[1]): cells for cells in lines}
    assert shown["milo", "notes"][2] == "ada@example.com"
    assert shown["milo", "notes"][3].startswith("expires in ")
    assert shown["nora", "old"][2:] == ["ada@example.com", SIGNED_OUT, "oauth"]
    revoked = cli(hub, admin, "revoke", "milo", "notes")
    assert revoked.returncode == 0, revoked.stderr
    assert vault_of(hub, "milo").load("notes") is None
    again = cli(hub, admin, "revoke", "milo", "notes")
    assert again.returncode == 1 and "has no connection" in again.stderr
    refused = cli(hub, hub.token("milo"), "list")
    assert refused.returncode == 1 and "custom:box-widget:admin" in refused.stderr
