"""Worker grants at the hub's service: minted, listed and revoked with a hub user's API token
in that user's vault only; served to a bearer of the grant with no hub login; and ``box://`` in
hub mode in a real kernel of a hub-spawned server, whose pickled file system carries a grant
that reads Box from a process with no hub token at all."""

from __future__ import annotations

import base64
import pickle
from urllib.parse import quote

import pytest
import requests
from support.hub import Hub
from support.hub_flow import api, connect, vault_of
from support.hub_server import user_server
from support.secret_scan import emulator_secrets, find

from box_widget import audit
from box_widget.boxfs import BoxFileSystem
from box_widget.emulator import BoxEmulator
from box_widget.errors import AuthorityUnreachable, BoxWidgetError


def worker_token(hub: Hub, prefix: str, name: str, bearer: str | None) -> requests.Response:
    """A worker's token request: the grant as bearer, no hub login, no cookie."""
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    url = f"{hub.service_url}{prefix}/{name}/token"
    return requests.post(url, json={}, headers=headers, timeout=60, allow_redirects=False)


def test_grants_are_each_hub_users_own(hub: Hub, emu: BoxEmulator) -> None:
    gina = connect(hub, emu, "gina", "work")
    hugo = connect(hub, emu, "hugo", "work")
    minted = api(hub, gina, "POST", "api/connections/work/grants", json={"scope": "read"})
    assert minted.status_code == 200, minted.text
    grant = minted.json()
    assert grant["secret"].startswith(f"bwg.{grant['id']}.")
    assert grant["authority_url"] == hub.service_url  # as the kernel reached the service
    assert grant["prefix"] == "api/grants/gina"
    assert (grant["connection"], grant["scope"], grant["downscope"]) == ("work", "read", True)
    assert minted.headers["Cache-Control"] == "no-store"

    missing = api(hub, gina, "POST", "api/connections/nothing/grants", json={})
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    bad = api(hub, gina, "POST", "api/connections/work/grants", json={"scope": "all"})
    assert bad.status_code == 400 and "scope must be one of" in bad.json()["message"]
    assert api(hub, "", "GET", "api/grants").status_code == 403

    listed = api(hub, gina, "GET", "api/grants")
    assert [g["id"] for g in listed.json()["grants"]] == [grant["id"]]
    assert grant["secret"] not in listed.text and "secret_sha256" not in listed.text
    assert api(hub, hugo, "GET", "api/grants").json()["grants"] == []
    other = api(hub, hugo, "DELETE", f"api/grants/{grant['id']}")
    assert (other.status_code, other.json()["error"]) == (404, "not_found")

    # The token route: the grant itself, for its connection, in its hub user's vault only.
    refused = worker_token(hub, grant["prefix"], "work", None)
    assert (refused.status_code, refused.json()["error"]) == (403, "grant_refused")
    assert refused.headers["WWW-Authenticate"].startswith("Bearer")
    for prefix, name, bearer in [
        ("api/grants/hugo", "work", grant["secret"]),  # another user's vault: unknown there
        ("api/grants/nobody", "work", grant["secret"]),  # no such user: no folder is made
        (grant["prefix"], "other", grant["secret"]),  # another connection
        (grant["prefix"], "work", gina),  # a hub token is no grant
    ]:
        answer = worker_token(hub, prefix, name, bearer)
        assert (answer.status_code, answer.json()["error"]) == (403, "grant_refused"), prefix
        assert grant["secret"] not in answer.text and gina not in answer.text
    assert not (hub.service_home / "users" / "nobody").exists()
    served = worker_token(hub, grant["prefix"], "work", grant["secret"])
    assert served.status_code == 200, served.text
    assert "refresh_token" not in served.json()
    me = requests.get(
        emu.endpoints.api_url.rstrip("/") + "/users/me",
        headers={"Authorization": f"Bearer {served.json()['access_token']}"},
        timeout=30,
    )
    assert me.status_code == 200  # a downscoped token of gina's connection, read-only

    revoked = api(hub, gina, "DELETE", f"api/grants/{grant['id']}")
    assert revoked.json() == {"revoked": True}
    assert api(hub, gina, "DELETE", f"api/grants/{grant['id']}").json() == {"revoked": False}
    after = worker_token(hub, grant["prefix"], "work", grant["secret"])
    assert after.status_code == 403 and "was revoked" in after.json()["message"]

    events = audit.read(vault_of(hub, "gina").home, "work")
    kinds = [(e["event"], e.get("hub_user")) for e in events if e["event"].startswith("grant")]
    assert ("grant-created", "gina") in kinds and ("grant-token", "gina") in kinds
    assert ("grant-revoked", "gina") in kinds and ("grant-refused", "gina") in kinds
    assert not any(grant["secret"] in str(e) for e in events)
    assert grant["secret"] not in hub.log()  # the service's and the proxy's lines too
    assert audit.read(vault_of(hub, "hugo").home, "work")[-1]["event"] != "grant-token"


KERNEL = """
import base64, json, os, pickle
from box_widget.boxfs import BoxFileSystem
fs = BoxFileSystem("work")
data = fs.cat("HubFS/one.csv")
blob = pickle.dumps(fs)
print(json.dumps({"kind": type(fs.connection).__name__, "data": data.decode(),
                  "token_in_pickle": os.environ["JUPYTERHUB_API_TOKEN"].encode() in blob,
                  "pickled": base64.b64encode(blob).decode()}))
"""


@pytest.mark.timeout(300)
def test_box_paths_in_a_hub_kernel_and_its_pickled_file_system(
    hub: Hub, emu: BoxEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    content = emu.state.content
    folder = content.add_folder(emu.user.id, "0", "HubFS")
    content.add_file(emu.user.id, folder.id, "one.csv", b"city,temp\nOslo,3\n")
    with user_server(hub, "fs") as server:
        connect(hub, emu, server.user, "work")
        with server.kernel() as kernel:
            seen = kernel.run(KERNEL)
    assert seen["kind"] == "HubConnection"
    assert seen["data"] == "city,temp\nOslo,3\n"
    assert seen["token_in_pickle"] is False
    blob = base64.b64decode(seen["pickled"])
    assert find(emulator_secrets(emu) | {server.token}, blob) == []
    # Unpickled where there is no hub at all (a worker): the grant reads Box via the service.
    monkeypatch.delenv("BOX_WIDGET_HUB_URL", raising=False)
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    copy = pickle.loads(blob)
    assert isinstance(copy, BoxFileSystem)
    assert bytes(copy.cat("HubFS/one.csv")) == b"city,temp\nOslo,3\n"
    (grant,) = api(hub, server.token, "GET", "api/grants").json()["grants"]
    assert grant["id"] in repr(copy.connection)
    events = audit.read(vault_of(hub, server.user).home, "work")
    assert [e["grant"] for e in events if e["event"] == "grant-token"] == [grant["id"]]
    assert quote(server.user) in str(copy.connection.carried.grant.prefix)


def test_a_kernel_the_service_refuses_makes_no_grant_and_workers_are_told_why(
    hub: Hub, emu: BoxEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = connect(hub, emu, "ivan", "work")
    monkeypatch.setenv("BOX_WIDGET_HUB_URL", hub.service_url)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", token)
    fs = BoxFileSystem("work")
    asked = BoxFileSystem("work", grant={"scope": "read"})
    # The token changes to one the service refuses (no access to it) before pickling.
    monkeypatch.setenv(
        "JUPYTERHUB_API_TOKEN", hub.token("ivan", scopes=["read:users:name!user=ivan"])
    )
    with pytest.raises(BoxWidgetError) as at_once:  # a grant asked for: fails here
        pickle.dumps(asked)
    assert "this token may not use the box-widget service" in str(at_once.value)
    copy = pickle.loads(pickle.dumps(fs))
    monkeypatch.delenv("BOX_WIDGET_HUB_URL")
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN")
    with pytest.raises(AuthorityUnreachable) as later:
        copy.cat("HubFS/one.csv")
    words = str(later.value)
    assert "the notebook made none (this token may not use the box-widget service)" in words
    assert "kept by the hub's box-widget service" in words and "BoxWidgetHub.worker_url" in words
    assert api(hub, token, "GET", "api/grants").json()["grants"] == []
