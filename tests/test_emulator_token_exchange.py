"""The emulator's token exchange (downscoped tokens), over HTTP (docs/box-platform.md, 13)."""

from __future__ import annotations

from typing import Any

import requests
from support.emulator_flow import tokens_for

from box_widget.emulator import BoxEmulator

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"


def exchange(emu: BoxEmulator, subject: str, scope: str, **extra: str) -> requests.Response:
    data = {
        "grant_type": EXCHANGE,
        "subject_token": subject,
        "subject_token_type": ACCESS,
        "scope": scope,
        **extra,
    }
    return requests.post(emu.endpoints.token_url, data=data, timeout=10)


def call(emu: BoxEmulator, token: str, method: str, path: str, **kwargs: Any) -> int:
    url = emu.endpoints.upload_url if path.startswith("files/content") else emu.endpoints.api_url
    response = requests.request(
        method,
        f"{url.rstrip('/')}/{path}",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
        allow_redirects=False,
        **kwargs,
    )
    return response.status_code


def test_a_downscoped_token_reads_but_cannot_upload_and_dies_with_its_parent(
    emulator: BoxEmulator,
) -> None:
    parent = tokens_for(emulator)
    answer = exchange(emulator, parent["access_token"], "base_explorer item_download")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert "refresh_token" not in body
    assert body["issued_token_type"] == ACCESS
    assert body["token_type"] == "bearer"
    assert [r["scope"] for r in body["restricted_to"]] == ["base_explorer", "item_download"]
    assert 0 < body["expires_in"] <= parent["expires_in"]
    token = body["access_token"]
    assert emulator.counters()["grants"]["token_exchange"] == 1

    items = requests.get(
        f"{emulator.endpoints.api_url}/folders/0/items",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["entries"]
    data = next(i for i in items if i["name"] == "Data")
    (csv,) = requests.get(
        f"{emulator.endpoints.api_url}/folders/{data['id']}/items",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    ).json()["entries"]
    assert call(emulator, token, "GET", f"files/{csv['id']}/content") == 302
    upload = {"attributes": '{"name": "new.csv", "parent": {"id": "0"}}'}
    files = {"file": ("new.csv", b"1,2\n")}
    assert call(emulator, token, "POST", "files/content", data=upload, files=files) == 403
    assert call(emulator, token, "DELETE", f"files/{csv['id']}") == 403
    assert (
        call(emulator, token, "POST", "folders", json={"name": "x", "parent": {"id": "0"}}) == 403
    )
    # The parent still writes: only the downscoped token is restricted.
    files = {"file": ("new.csv", b"1,2\n")}
    assert (
        call(emulator, parent["access_token"], "POST", "files/content", data=upload, files=files)
        == 201
    )

    requests.post(
        emulator.endpoints.revoke_url,
        data={
            "client_id": emulator.app.client_id,
            "client_secret": emulator.app.client_secret,
            "token": parent["access_token"],
        },
        timeout=10,
    ).raise_for_status()
    assert call(emulator, token, "GET", "users/me") == 401


def test_token_exchange_refusals(emulator: BoxEmulator) -> None:
    parent = tokens_for(emulator)["access_token"]
    assert exchange(emulator, "not-a-token", "item_download").json()["error"] == "invalid_grant"
    assert exchange(emulator, parent, "item_everything").json()["error"] == "invalid_scope"
    assert exchange(emulator, parent, "").json()["error"] == "invalid_scope"
    resource = f"{emulator.endpoints.api_url}/folders/0"
    assert exchange(emulator, parent, "item_download", resource=resource).status_code == 400
    child = exchange(emulator, parent, "item_download").json()["access_token"]
    assert exchange(emulator, child, "item_download").json()["error"] == "invalid_grant"


def test_a_token_downscoped_to_root_readonly_reads_everything_and_writes_nothing(
    emulator: BoxEmulator,
) -> None:
    parent = tokens_for(emulator)["access_token"]
    body = exchange(emulator, parent, "root_readonly").json()
    token = body["access_token"]
    assert "refresh_token" not in body
    assert call(emulator, token, "GET", "users/me") == 200
    assert call(emulator, token, "GET", "folders/0/items") == 200
    upload = {"attributes": '{"name": "new.csv", "parent": {"id": "0"}}'}
    files = {"file": ("new.csv", b"1,2\n")}
    assert call(emulator, token, "POST", "files/content", data=upload, files=files) == 403
    assert (
        call(emulator, token, "POST", "folders", json={"name": "x", "parent": {"id": "0"}}) == 403
    )
    writer = exchange(emulator, parent, "root_readwrite").json()["access_token"]
    files = {"file": ("new.csv", b"1,2\n")}
    assert call(emulator, writer, "POST", "files/content", data=upload, files=files) == 201
