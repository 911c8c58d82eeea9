"""The emulator's content API over real HTTP: users/me, listings, downloads, errors, switches."""

from __future__ import annotations

import json
import time

import pytest
import requests
from support.emulator_flow import bearer

from box_widget.emulator import BoxEmulator

T = 10  # seconds: every request in these tests is bounded


def api(emu: BoxEmulator, path: str) -> str:
    return f"{emu.endpoints.api_url}/{path}"


def items(
    emu: BoxEmulator, auth: dict[str, str], folder: str, **params: object
) -> requests.Response:
    return requests.get(api(emu, f"folders/{folder}/items"), headers=auth, params=params, timeout=T)


def reports_id(emu: BoxEmulator, auth: dict[str, str]) -> str:
    root = items(emu, auth, "0").json()["entries"]
    return next(e["id"] for e in root if e["name"] == "Reports")


def test_users_me_is_the_user_who_granted(emulator: BoxEmulator) -> None:
    grace = emulator.users[1]
    me = requests.get(api(emulator, "users/me"), headers=bearer(emulator, grace), timeout=T)
    assert me.status_code == 200
    body = me.json()
    assert (body["type"], body["id"], body["name"], body["login"]) == (
        "user",
        grace.id,
        "Grace Hopper",
        "grace@example.com",
    )
    assert me.headers["box-request-id"]


def test_users_me_fields_gives_mini_plus_requested(emulator: BoxEmulator) -> None:
    me = requests.get(
        api(emulator, "users/me"),
        headers=bearer(emulator),
        params={"fields": "space_used"},
        timeout=T,
    ).json()
    assert set(me) == {"type", "id", "name", "login", "space_used"}


@pytest.mark.parametrize("header", [None, "Bearer nope", "Basic abc", "Bearer "])
def test_missing_or_wrong_token_is_401_with_empty_body(
    emulator: BoxEmulator, header: str | None
) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = requests.get(api(emulator, "users/me"), headers=headers, timeout=T)
    assert response.status_code == 401
    assert response.content == b""
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="Service"')


def test_offset_pagination_walks_every_item_once(emulator: BoxEmulator) -> None:
    auth = bearer(emulator)
    seen = []
    offset = 0
    while True:
        page = items(emulator, auth, "0", limit=1, offset=offset).json()
        assert page["limit"] == 1 and page["offset"] == offset
        seen += [e["name"] for e in page["entries"]]
        offset += page["limit"]
        if offset >= page["total_count"]:
            break
    assert seen == ["Data", "Reports", "Welcome.txt"]  # folders first, then files, by name


def test_marker_pagination_matches_one_big_page(emulator: BoxEmulator) -> None:
    auth = bearer(emulator)
    everything = [e["id"] for e in items(emulator, auth, "0", limit=1000).json()["entries"]]
    seen, marker = [], None
    for _ in range(10):
        params: dict[str, object] = {"usemarker": "true", "limit": 2}
        if marker:
            params["marker"] = marker
        page = items(emulator, auth, "0", **params).json()
        assert "total_count" not in page and "offset" not in page
        seen += [e["id"] for e in page["entries"]]
        marker = page["next_marker"]
        if not marker:
            break
    assert seen == everything


def test_limit_is_capped_at_1000(emulator: BoxEmulator) -> None:
    assert items(emulator, bearer(emulator), "0", limit=5000).json()["limit"] == 1000


def test_sort_direction_and_fields(emulator: BoxEmulator) -> None:
    auth = bearer(emulator)
    page = items(
        emulator,
        auth,
        reports_id(emulator, auth),
        sort="name",
        direction="DESC",
        fields="name,size",
    ).json()
    assert [e["name"] for e in page["entries"]] == ["q2.csv", "q1.csv"]
    assert set(page["entries"][0]) == {"type", "id", "etag", "name", "size"}


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"limit": "abc"}, "limit"),
        ({"offset": "-1"}, "offset"),
        ({"sort": "colour"}, "sort"),
        ({"direction": "UP"}, "direction"),
        ({"usemarker": "true", "marker": "garbage"}, "marker"),
        ({"offset": "10000"}, "offset"),
    ],
)
def test_bad_listing_parameters_are_400(
    emulator: BoxEmulator, params: dict[str, str], name: str
) -> None:
    response = items(emulator, bearer(emulator), "0", **params)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error" and body["code"] == "bad_request"
    assert body["context_info"]["errors"][0]["name"] == name


def test_repeated_query_parameter_is_400(emulator: BoxEmulator) -> None:
    url = api(emulator, "folders/0/items?limit=1&limit=2")
    response = requests.get(url, headers=bearer(emulator), timeout=T)
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_unknown_and_foreign_folders_are_404(emulator: BoxEmulator) -> None:
    ada = bearer(emulator)
    reports = reports_id(emulator, ada)
    grace = bearer(emulator, emulator.users[1])
    for auth, folder in ((ada, "99999999"), (grace, reports)):
        response = items(emulator, auth, folder)
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
    malformed = items(emulator, ada, "abc")
    assert malformed.status_code == 405


def test_unknown_route_and_method_answer_box_errors(emulator: BoxEmulator) -> None:
    missing = requests.get(api(emulator, "nothing/here"), timeout=T)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = requests.delete(api(emulator, "users/me"), headers=bearer(emulator), timeout=T)
    assert wrong.status_code == 405 and wrong.json()["code"] == "method_not_allowed"
    # A browser asks every host for its icon: no 404 in the console of the consent page.
    icon = requests.get(f"{emulator.url}/favicon.ico", timeout=T)
    assert icon.status_code == 204 and icon.content == b""


def test_the_front_page_says_what_the_emulator_is(emulator: BoxEmulator) -> None:
    """Someone who opens the emulator's address (the demo prints it) learns what it is, which
    apps and users it has, and nothing secret."""
    page = requests.get(f"{emulator.url}/", timeout=T)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "A local Box emulator" in page.text
    assert "Generate" in page.text
    assert emulator.app.name in page.text
    assert "Ada Lovelace (ada@example.com)" in page.text
    robots = {app.service_account_id for app in emulator.state.oauth.apps.values()}
    for user in emulator.state.content.users.values():
        assert (user.login in page.text) == (user.id not in robots), user
    for secret in (emulator.app.client_id, emulator.app.client_secret):
        assert secret not in page.text


def seeded_csv(emu: BoxEmulator) -> tuple[str, bytes]:
    file = next(f for f in emu.state.content.files.values() if f.name == "q1.csv")
    return file.id, file.data


def test_download_redirects_to_a_url_that_needs_no_authorization(emulator: BoxEmulator) -> None:
    file_id, data = seeded_csv(emulator)
    first = requests.get(
        api(emulator, f"files/{file_id}/content"),
        headers=bearer(emulator),
        allow_redirects=False,
        timeout=T,
    )
    assert first.status_code == 302
    location = first.headers["Location"]
    assert "/dl/" in location
    plain = requests.get(location, timeout=T)
    assert plain.status_code == 200 and plain.content == data
    assert data.startswith(b"region,month,revenue\n")


def test_download_honours_range(emulator: BoxEmulator) -> None:
    file_id, data = seeded_csv(emulator)
    url = api(emulator, f"files/{file_id}/content")
    auth = bearer(emulator)
    for header, expected in (
        ("bytes=0-5", data[:6]),
        ("bytes=10-", data[10:]),
        ("bytes=-4", data[-4:]),
    ):
        response = requests.get(url, headers={**auth, "Range": header}, timeout=T)
        assert response.status_code == 206, header
        assert response.content == expected
    beyond = requests.get(url, headers={**auth, "Range": f"bytes={len(data)}-"}, timeout=T)
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(data)}"


def test_download_url_expires(emulator: BoxEmulator) -> None:
    file_id, _ = seeded_csv(emulator)
    first = requests.get(
        api(emulator, f"files/{file_id}/content"),
        headers=bearer(emulator),
        allow_redirects=False,
        timeout=T,
    )
    emulator.clock.advance(emulator.settings.download_url_lifetime + 1)
    assert requests.get(first.headers["Location"], timeout=T).status_code == 404


def test_files_and_folders_have_full_representations(emulator: BoxEmulator) -> None:
    file_id, data = seeded_csv(emulator)
    auth = bearer(emulator)
    info = requests.get(api(emulator, f"files/{file_id}"), headers=auth, timeout=T).json()
    assert info["size"] == len(data)
    assert [p["name"] for p in info["path_collection"]["entries"]] == ["All Files", "Reports"]
    root = requests.get(api(emulator, "folders/0"), headers=auth, timeout=T).json()
    assert root["id"] == "0" and root["parent"] is None


def test_injected_429_carries_retry_after_then_clears(emulator: BoxEmulator) -> None:
    auth = bearer(emulator)
    emulator.inject_fault(status=429, retry_after=7, path="/2.0/users/me", times=2)
    for _ in range(2):
        limited = requests.get(api(emulator, "users/me"), headers=auth, timeout=T)
        assert limited.status_code == 429
        assert limited.headers["Retry-After"] == "7"
        assert limited.json()["code"] == "rate_limit_exceeded"
    assert requests.get(api(emulator, "users/me"), headers=auth, timeout=T).status_code == 200


@pytest.mark.parametrize(
    ("status", "code"), [(500, "internal_server_error"), (502, "bad_gateway"), (503, "unavailable")]
)
def test_injected_server_errors(emulator: BoxEmulator, status: int, code: str) -> None:
    auth = bearer(emulator)
    emulator.inject_fault(status=status, path="/2.0")
    response = requests.get(api(emulator, "users/me"), headers=auth, timeout=T)
    assert response.status_code == status
    assert response.json()["code"] == code


def test_injected_delay_and_drop(emulator: BoxEmulator) -> None:
    auth = bearer(emulator)
    emulator.inject_fault(delay=1.0, path="/2.0/users/me")
    with pytest.raises(requests.Timeout):
        requests.get(api(emulator, "users/me"), headers=auth, timeout=0.3)
    emulator.inject_fault(drop=True, path="/2.0/users/me")
    with pytest.raises(requests.ConnectionError):
        requests.get(api(emulator, "users/me"), headers=auth, timeout=T)
    assert requests.get(api(emulator, "users/me"), headers=auth, timeout=T).status_code == 200


def test_counters_count_api_calls(emulator: BoxEmulator) -> None:
    auth = bearer(emulator)
    before = emulator.counters()["api_calls"]
    for _ in range(3):
        requests.get(api(emulator, "users/me"), headers=auth, timeout=T)
    assert emulator.counters()["api_calls"] == before + 3


def test_control_api_drives_an_emulator_over_http(emulator: BoxEmulator) -> None:
    control = f"{emulator.url}/_emulator"
    state = requests.get(f"{control}/state", timeout=T).json()
    assert state["users"][0]["login"] == "ada@example.com"
    assert all("client_secret" not in app for app in state["apps"])
    assert (
        requests.post(f"{control}/settings", json={"access_token_lifetime": 2}, timeout=T).json()[
            "access_token_lifetime"
        ]
        == 2
    )
    auth = bearer(emulator)
    requests.post(f"{control}/clock", json={"advance": 3}, timeout=T).raise_for_status()
    assert requests.get(api(emulator, "users/me"), headers=auth, timeout=T).status_code == 401
    fault = requests.post(f"{control}/faults", json={"status": 503, "path": "/2.0"}, timeout=T)
    assert fault.status_code == 201
    assert requests.get(api(emulator, "users/me"), timeout=T).status_code == 503
    new_app = requests.post(
        f"{control}/apps",
        timeout=T,
        json={"name": "Other", "redirect_uris": ["https://example.org/cb"]},
    ).json()
    assert new_app["client_secret"] and new_app["client_id"] in emulator.state.oauth.apps
    bad = requests.post(f"{control}/settings", json={"nope": 1}, timeout=T)
    assert bad.status_code == 400
    json_header = {"Content-Type": "application/json"}
    bad = requests.post(f"{control}/clock", data=b"not json", headers=json_header, timeout=T)
    assert bad.status_code == 400


def test_garbage_never_yields_a_traceback(emulator: BoxEmulator) -> None:
    auth = bearer(emulator)
    attempts = [  # (method, url, request options, the status Box gives)
        ("GET", api(emulator, "folders/0/items?limit=%ff"), {}, 400),
        ("GET", api(emulator, "users/me?fields=%00%01"), {}, 200),  # unknown fields: ignored
        ("POST", f"{emulator.url}/oauth2/token", {"data": b"\xff\xfe=\x00"}, 400),
        ("POST", f"{emulator.endpoints.upload_url}/files/content", {"data": b"x" * 100}, 400),
        ("POST", f"{emulator.endpoints.upload_url}/files/upload_sessions", {"data": b"[1,2"}, 400),
        ("PUT", f"{emulator.endpoints.upload_url}/files/upload_sessions/NOPE", {"data": b"x"}, 404),
        ("GET", f"{emulator.url}/dl/unknown/x.csv", {}, 404),
    ]
    for method, url, extra, status in attempts:
        response = requests.request(method, url, headers=auth, timeout=T, **extra)
        assert response.status_code == status, (method, url, response.status_code)
        assert "Traceback" not in response.text
        if response.headers.get("Content-Type", "").startswith("application/json"):
            json.loads(response.text)


def test_emulator_stops_and_frees_its_port() -> None:
    emu = BoxEmulator().start()
    url = emu.url
    assert requests.get(f"{url}/_emulator/state", timeout=T).status_code == 200
    emu.stop()
    time.sleep(0.1)
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/_emulator/state", timeout=T)


# --- the control API answers only JSON requests addressed to loopback (issue 17, item 6) ------


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "text/plain;charset=UTF-8",
        "application/x-www-form-urlencoded",
    ],
)
def test_control_api_refuses_a_body_a_web_page_can_send_without_asking(
    emulator: BoxEmulator, content_type: str | None
) -> None:
    """A ``fetch(..., {mode: "no-cors"})`` from any site may POST a JSON text with these types
    (multipart is one too, but its body is never a JSON object, so it never got past the parse)."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    body = json.dumps({"status": 503, "path": "/2.0"})
    answer = requests.post(
        f"{emulator.url}/_emulator/faults", data=body, headers=headers, timeout=T
    )
    assert answer.status_code == 415
    error = answer.json()
    assert (error["type"], error["status"], error["code"]) == (
        "error",
        415,
        "unsupported_media_type",
    )
    assert "Content-Type: application/json" in error["message"]
    assert emulator.state.faults.take("GET", "/2.0/users/me") is None  # nothing was injected
    cleared = requests.delete(f"{emulator.url}/_emulator/faults", headers=headers, timeout=T)
    assert cleared.status_code == 415


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example"])
def test_control_api_refuses_a_host_that_is_not_loopback(emulator: BoxEmulator, host: str) -> None:
    """DNS rebinding: a page on a name that now resolves to 127.0.0.1 sends its own Host."""
    port = emulator.url.rsplit(":", 1)[1]
    headers = {"Host": host.format(port=port)}
    read = requests.get(f"{emulator.url}/_emulator/state", headers=headers, timeout=T)
    assert read.status_code == 403
    error = read.json()
    assert (error["type"], error["status"], error["code"]) == ("error", 403, "forbidden")
    assert "loopback" in error["message"]
    assert "counters" not in read.text and "ada@example.com" not in read.text
    write = requests.post(
        f"{emulator.url}/_emulator/clock", json={"advance": 5}, headers=headers, timeout=T
    )
    assert write.status_code == 403
    assert emulator.state.clock.offset == 0


@pytest.mark.parametrize(
    "host", ["127.0.0.1:{port}", "127.0.0.1", "localhost:{port}", "LocalHost", "[::1]:{port}"]
)
def test_control_api_answers_json_addressed_to_loopback(emulator: BoxEmulator, host: str) -> None:
    port = emulator.url.rsplit(":", 1)[1]
    headers = {"Host": host.format(port=port)}
    assert requests.get(f"{emulator.url}/_emulator/state", headers=headers, timeout=T).ok
    answer = requests.post(
        f"{emulator.url}/_emulator/settings",
        data=json.dumps({"access_token_lifetime": 7}),
        headers={**headers, "Content-Type": "application/json; charset=utf-8"},
        timeout=T,
    )
    assert answer.status_code == 200
    assert answer.json()["access_token_lifetime"] == 7
    cleared = requests.delete(
        f"{emulator.url}/_emulator/faults",
        headers={**headers, "Content-Type": "application/json"},
        timeout=T,
    )
    assert cleared.status_code == 204
