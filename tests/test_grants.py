"""Worker grants: kept hashed in the vault, checked in words, and the server's grant routes
(issue 20 item 2). The cluster test (test_dask_cluster.py) uses them end to end."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from support import emulator_flow
from support.secret_scan import scan
from traitlets.config import Config

from box_widget import audit, grants
from box_widget.emulator import BoxEmulator
from box_widget.errors import GrantRefused
from box_widget.protocol import GRANTS_PATH, grant_token_path, grants_path
from box_widget.vault import Vault

WORKER_URL = "https://notebook.example.org:8888/"


def test_a_grant_is_kept_hashed_and_refused_in_words(box_env: Path) -> None:
    vault = Vault(box_env)
    record, secret = grants.create(vault, "work", scope="read", expires_in=60)
    assert grants.id_of(secret) == record["id"]
    assert scan({secret}, paths=[box_env]) == {}  # never stored, even encrypted
    assert scan({secret}, texts={"record": json.dumps(record)}) == {}
    assert grants.check(vault, secret)["connection"] == "work"
    shown = grants.public(record)
    assert "secret_sha256" not in shown
    assert shown["state"] == "live"

    for wrong in (secret[:-1] + "x", "bwg.gnothere.x", "not a grant"):
        with pytest.raises(GrantRefused, match="does not know this worker grant") as caught:
            grants.check(vault, wrong)
        assert wrong not in str(caught.value)

    assert grants.revoke(vault, record["id"])
    assert not grants.revoke(vault, record["id"])  # already
    with pytest.raises(GrantRefused, match=f"{record['id']} for connection 'work' was revoked"):
        grants.check(vault, secret)

    short, other = grants.create(vault, "work", expires_in=0.01)
    time.sleep(0.05)
    with pytest.raises(GrantRefused, match="expired at") as caught:
        grants.check(vault, other)
    assert caught.value.error == "grant_expired"
    assert [g["id"] for g in grants.listing(vault)] == [record["id"], short["id"]]


@pytest.fixture
def jp_server_config(box_env: Path, emulator: BoxEmulator) -> Config:
    box: dict[str, Any] = {"home": str(box_env), "worker_url": WORKER_URL}
    box.update(emulator.endpoints.to_dict())
    return Config(
        {
            "ServerApp": {
                "jpserver_extensions": {"box_widget": True, "jupyter_server_terminals": False},
                "allow_unauthenticated_access": False,
            },
            "BoxWidgetApp": box,
        }
    )


async def test_the_server_mints_lists_serves_and_revokes_grants(
    jp_fetch: Any, http_server_client: Any, jp_base_url: str, emulator: BoxEmulator, box_env: Path
) -> None:
    emulator_flow.connect(emulator, box_env)

    async def api(method: str, path: str, body: Any = None) -> Any:
        response = await jp_fetch(
            *path.split("/"),
            method=method,
            body=None if body is None else json.dumps(body),
            raise_error=False,
        )
        return response.code, json.loads(response.body)

    async def token(secret: str, name: str = "work") -> tuple[int, Any]:
        response = await http_server_client.fetch(
            jp_base_url + grant_token_path(name),
            method="POST",
            body=b"{}",
            headers={"Authorization": f"Bearer {secret}"},
            raise_error=False,
        )
        return response.code, json.loads(response.body)

    code, made = await api("POST", grants_path("work"), {"scope": "read", "expires_in": 600})
    assert code == 200, made
    assert made["authority_url"] == WORKER_URL  # c.BoxWidgetApp.worker_url
    assert made["prefix"] == GRANTS_PATH
    assert (made["connection"], made["scope"], made["downscope"]) == ("work", "read", True)
    code, missing = await api("POST", grants_path("other"), {})
    assert (code, missing["error"]) == (404, "not_found")
    code, _ = await api("POST", grants_path("work"), {"scope": "everything"})
    assert code == 400
    code, _ = await api("POST", grants_path("work"), {"expires_in": 30 * 24 * 3600})
    assert code == 400

    code, other = await token(made["secret"], "other")
    assert (code, other["error"]) == (403, "grant_refused")
    assert "is for connection 'work', not 'other'" in other["message"]
    code, answer = await token(made["secret"])
    assert code == 200, answer
    assert set(answer) == {"access_token", "expires_at", "expires_in"}
    issued = emulator.state.oauth.access_tokens[answer["access_token"]]
    assert issued.restricted_to == ("root_readonly",)  # a read grant: downscoped

    code, listed = await api("GET", GRANTS_PATH)
    assert [g["id"] for g in listed["grants"]] == [made["id"]]
    assert scan({made["secret"]}, texts={"list": json.dumps(listed)}) == {}
    assert "secret_sha256" not in json.dumps(listed)

    code, revoked = await api("DELETE", f"{GRANTS_PATH}/{made['id']}")
    assert (code, revoked) == (200, {"revoked": True})
    code, refused = await token(made["secret"])
    assert (code, refused["error"]) == (403, "grant_refused")
    assert "was revoked" in refused["message"]
    events = [e["event"] for e in audit.read(box_env, "work")]
    assert events[-5:] == [
        "grant-created",
        "grant-refused",
        "grant-token",
        "grant-revoked",
        "grant-refused",
    ]
    assert scan({made["secret"]}, paths=[box_env]) == {}


def test_a_worker_that_cannot_reach_its_authority_is_told_where_and_how_to_fix_it() -> None:
    from box_widget.cli.demo_lab import free_port
    from box_widget.errors import AuthorityUnreachable
    from box_widget.grant_source import GrantTokenSource, WorkerGrant

    url = f"http://127.0.0.1:{free_port()}/"  # nothing listens there
    secret = "bwg.g0123456789abcdef.theworkerssecret"
    expires = time.time() + 60
    grant = WorkerGrant("g0123456789abcdef", "work", url, GRANTS_PATH, expires, "read", secret)
    assert secret not in repr(grant) + repr(GrantTokenSource(grant))
    with pytest.raises(AuthorityUnreachable) as caught:
        GrantTokenSource(grant).fresh()
    words = str(caught.value)
    assert url in words
    assert "worker grant g0123456789abcdef" in words
    assert "c.BoxWidgetApp.worker_url" in words
    assert "BOX_WIDGET_WORKER_URL" in words
    assert secret not in words
    assert caught.value.tried == (url,)
