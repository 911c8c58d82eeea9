"""The emulator's OAuth 2.0 side, over real HTTP, as Box documents it.

Covers docs/emulator.md "Authorize", "Token" and "Revoke" (and the 401s and faults the OAuth
flow meets). Where docs/emulator.md and docs/box-platform.md differ, these tests follow Box
(docs/box-platform.md). Every response whose operation Box's OpenAPI description covers is also
checked against it (``openapi_check``).
"""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
import requests
from support.oauth_requests import (
    DAY,
    EXPIRED_CODE,
    EXPIRED_REFRESH,
    GRANT_NOT_ALLOWED,
    INVALID_CCG,
    INVALID_CLIENT,
    INVALID_CODE,
    INVALID_GRANT_TYPE,
    INVALID_REFRESH,
    TIMEOUT,
    URN_ACCESS_TOKEN,
    Client,
    assert_error_page,
    assert_oauth_error,
    assert_unauthorized,
    authorize_url,
    ccg,
    code_params,
    demo_client,
    exchange,
    get_code,
    me,
    new_client,
    open_authorize,
    parse_page,
    refresh,
    revoke,
    split_redirect,
    token_request,
    tokens,
)
from support.openapi_check import check_response

from box_widget.emulator import BoxEmulator


@pytest.fixture
def emu(emulator: BoxEmulator) -> BoxEmulator:
    """The per-test emulator (short name)."""
    return emulator


# --- authorize: error pages (no redirect) -------------------------------------------------------


@pytest.mark.parametrize("repeated", ["client_id", "redirect_uri", "response_type", "state"])
def test_authorize_repeated_parameter_is_an_error_page(emu: BoxEmulator, repeated: str) -> None:
    params = list(code_params(demo_client(emu), state="abc").items())
    params.append((repeated, dict(params)[repeated]))
    assert_error_page(open_authorize(emu, params), "invalid_request")


@pytest.mark.parametrize("client_id", [None, "", "no-such-client"])
def test_authorize_missing_or_unknown_client_is_an_error_page(
    emu: BoxEmulator, client_id: str | None
) -> None:
    params = code_params(demo_client(emu), state="abc")
    if client_id is None:
        del params["client_id"]
    else:
        params["client_id"] = client_id
    assert_error_page(open_authorize(emu, params), "invalid_client")


def test_authorize_unknown_client_wins_over_bad_redirect_uri(emu: BoxEmulator) -> None:
    params = {"response_type": "code", "client_id": "nope", "redirect_uri": "https://evil.test/"}
    assert_error_page(open_authorize(emu, params), "invalid_client")


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://evil.example.com/box-widget/oauth2/callback",
        "http://127.0.0.1:8888/box-widget/oauth2/callback/",
        "http://127.0.0.1:8888/box-widget/oauth2/callback?x=1",
        "https://127.0.0.1:8888/box-widget/oauth2/callback",
        "http://127.0.0.2.nip.io:8888/box-widget/oauth2/callback",
    ],
)
def test_authorize_unregistered_redirect_uri_is_an_error_page(
    emu: BoxEmulator, redirect_uri: str
) -> None:
    assert "http://127.0.0.1:8888/box-widget/oauth2/callback" in emu.app.redirect_uris
    params = code_params(demo_client(emu), redirect_uri=redirect_uri, state="abc")
    assert_error_page(open_authorize(emu, params), "redirect_uri_mismatch", status=None)


def test_authorize_mismatch_wins_over_bad_response_type_and_scope(emu: BoxEmulator) -> None:
    """Until the redirect URI is known to be registered, nothing may redirect to it."""
    params = {
        "response_type": "token",
        "client_id": emu.app.client_id,
        "scope": "bogus",
        "redirect_uri": "https://evil.example.com/cb",
        "state": "abc",
    }
    assert_error_page(open_authorize(emu, params), "redirect_uri_mismatch", status=None)


def test_authorize_without_redirect_uri_when_app_has_several(emu: BoxEmulator) -> None:
    """Box: with several registered URIs, ``redirect_uri`` is required (redirect_uri_missing).

    Box documents the error as shown "after the user grants application access" (OAS
    ``/authorize``), the emulator doc as an error page at once: either is accepted, as long as
    the browser is never sent back to the app.
    """
    assert len(emu.app.redirect_uris) >= 2
    params = {"response_type": "code", "client_id": emu.app.client_id, "state": "abc"}
    r = open_authorize(emu, params)
    if r.status_code == 200:  # Box's order: consent first, then the error
        page = parse_page(r.text)
        data = {i.attrs["name"]: i.attrs.get("value", "") for i in page.inputs if "name" in i.attrs}
        data["user_id"] = emu.user.id
        grant = page.by_id["grant"]
        data[grant.attrs["name"]] = grant.attrs["value"]
        r = requests.post(
            authorize_url(emu, params), data=data, allow_redirects=False, timeout=TIMEOUT
        )
    assert_error_page(r, "redirect_uri_missing", status=None)


def test_authorize_without_redirect_uri_uses_the_only_registered_one(emu: BoxEmulator) -> None:
    client = new_client(emu, ["https://app.example.com/box/callback"])
    params = {"response_type": "code", "client_id": client.client_id, "state": "st"}
    location = emu.authorize(authorize_url(emu, params))
    base, query = split_redirect(location)
    assert base == "https://app.example.com/box/callback"
    assert set(query) == {"code", "state"}


# --- authorize: redirect URI matching -----------------------------------------------------------


@pytest.mark.parametrize(
    ("registered", "requested"),
    [
        ("http://127.0.0.1:8888/cb", "http://127.0.0.1:8888/cb"),
        ("http://127.0.0.1:8888/cb", "http://127.0.0.1:5555/cb"),
        ("http://localhost:8888/cb", "http://localhost:49152/cb"),
        ("http://[::1]:8888/cb", "http://[::1]:5555/cb"),
        ("https://app.example.com/cb", "https://app.example.com/cb"),
        ("https://app.example.com:8443/cb", "https://app.example.com:8443/cb"),
    ],
)
def test_redirect_uri_accepted(emu: BoxEmulator, registered: str, requested: str) -> None:
    """Exact match, except that a loopback URI matches any port (DOC-setup)."""
    client = new_client(emu, [registered])
    code = get_code(emu, client, redirect_uri=requested)
    # the code goes to the address asked for, port included
    params = code_params(client, redirect_uri=requested, state="z")
    base, query = split_redirect(emu.authorize(authorize_url(emu, params)))
    assert base == requested
    assert query["state"] == "z"
    tokens(exchange(emu, client, code))


@pytest.mark.parametrize(
    ("registered", "requested"),
    [
        ("http://127.0.0.1:8888/cb", "http://127.0.0.1:5555/cb2"),
        ("http://127.0.0.1:8888/cb", "http://127.0.0.1:8888/cb/"),
        ("http://127.0.0.1:8888/cb", "http://example.com:8888/cb"),
        ("http://127.0.0.1:8888/cb", "http://localhost:8888/cb"),
        ("http://127.0.0.1:8888/cb", "https://127.0.0.1:8888/cb"),
        ("http://127.0.0.1:8888/cb", "http://127.0.0.1:5555/cb?x=1"),
        ("http://127.0.0.1:8888/cb?tenant=a", "http://127.0.0.1:5555/cb?tenant=b"),
        ("https://app.example.com/cb", "https://app.example.com:8443/cb"),
        ("https://app.example.com:8443/cb", "https://app.example.com:9443/cb"),
        ("https://app.example.com:8443/cb", "https://app.example.com/cb"),
        ("https://app.example.com/cb", "http://app.example.com/cb"),
        ("https://app.example.com/cb", "https://app.example.com/cb/extra"),
        ("https://app.example.com/cb", "https://evil.example.com/cb"),
    ],
)
def test_redirect_uri_refused(emu: BoxEmulator, registered: str, requested: str) -> None:
    client = new_client(emu, [registered])
    params = code_params(client, redirect_uri=requested, state="abc")
    assert_error_page(open_authorize(emu, params), "redirect_uri_mismatch", status=None)


def test_redirect_uri_with_query_keeps_it(emu: BoxEmulator) -> None:
    client = new_client(emu, ["https://app.example.com/cb?tenant=a"])
    params = code_params(client, state="st")
    base, query = split_redirect(emu.authorize(authorize_url(emu, params)))
    assert base == "https://app.example.com/cb"
    assert query["tenant"] == "a"
    assert query["state"] == "st"
    assert query["code"]


@pytest.mark.parametrize(
    "uri",
    ["http://example.com/cb", "http://app.example.com:8888/cb", "http://10.0.0.5:8888/cb"],
)
def test_registering_a_plain_http_non_loopback_redirect_uri_is_refused(
    emu: BoxEmulator, uri: str
) -> None:
    """DOC-setup: HTTPS, "or a less secure HTTP for localhost or loopback address"."""
    with pytest.raises(ValueError, match=r"(?i)https"):
        emu.add_app(name="Bad", redirect_uris=[uri])


@pytest.mark.parametrize(
    "uri",
    [
        "http://localhost:1/cb",
        "http://127.0.0.1/cb",
        "http://[::1]:8080/cb",
        "https://app.example.com/cb",
    ],
)
def test_registering_https_or_loopback_redirect_uri_is_allowed(emu: BoxEmulator, uri: str) -> None:
    emu.add_app(name="Good", redirect_uris=[uri])


# --- authorize: errors redirected to the app ----------------------------------------------------


@pytest.mark.parametrize(
    ("response_type", "error"),
    [
        ("token", "unsupported_response_type"),
        ("code token", "unsupported_response_type"),
        (None, "invalid_request"),
    ],
)
def test_authorize_bad_response_type_redirects_with_error_and_state(
    emu: BoxEmulator, response_type: str | None, error: str
) -> None:
    client = demo_client(emu)
    params = code_params(client, state="s t&a=te")
    if response_type is None:
        del params["response_type"]
    else:
        params["response_type"] = response_type
    r = open_authorize(emu, params)
    assert r.status_code in {302, 303}
    base, query = split_redirect(r.headers["Location"])
    assert base == client.redirect_uri
    assert query["error"] == error
    assert query["state"] == "s t&a=te"
    assert "code" not in query


@pytest.mark.parametrize(
    "scope",
    ["bogus_scope", "root_readwrite bogus_scope", "manage_legal_hold"],
)
def test_authorize_invalid_scope_redirects_with_error_and_state(
    emu: BoxEmulator, scope: str
) -> None:
    assert "manage_legal_hold" not in emu.app.scopes
    client = demo_client(emu)
    r = open_authorize(emu, code_params(client, scope=scope, state="st8"))
    assert r.status_code in {302, 303}
    base, query = split_redirect(r.headers["Location"])
    assert base == client.redirect_uri
    assert query["error"] == "invalid_scope"
    assert query["state"] == "st8"
    assert "code" not in query


def test_authorize_scope_can_narrow_the_apps_scopes(emu: BoxEmulator) -> None:
    """DOC-scopes: an app with root_readonly and root_readwrite may ask for root_readonly only."""
    client = new_client(
        emu, ["http://127.0.0.1:8888/cb"], scopes=("root_readonly", "root_readwrite")
    )
    r = open_authorize(emu, code_params(client, scope="root_readonly", state="x"))
    assert r.status_code == 200
    assert "Read all files and folders stored in Box" in r.text
    code = get_code(emu, client)
    assert me(emu, tokens(exchange(emu, client, code))["access_token"]).status_code == 200


# --- authorize: consent page, grant and deny ----------------------------------------------------


def test_consent_page_names_app_users_scopes_and_buttons(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    r = open_authorize(emu, code_params(client, state="abc"))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("text/html")
    page = parse_page(r.text)
    assert emu.app.name in r.text
    assert page.by_id["user"].tag == "select"
    offered = {o.attrs["value"] for o in page.options}
    assert {u.id for u in emu.users} <= offered
    assert emu.service_account.id not in offered
    assert page.by_id["grant"].tag == "button"
    assert page.by_id["grant"].text.strip() == "Grant access to Box"
    assert page.by_id["deny"].tag == "button"
    assert page.by_id["deny"].text.strip() == "Deny access"
    assert "Read and write all files and folders stored in Box" in r.text
    assert len(page.forms) == 1
    assert page.forms[0].get("method", "get").lower() == "post"


def submit_consent(
    emu: BoxEmulator, url: str, r: requests.Response, *, user_id: str, button: str
) -> requests.Response:
    """Submit the consent form as a browser does: to the same URL, with the chosen button."""
    page = parse_page(r.text)
    data = {i.attrs["name"]: i.attrs.get("value", "") for i in page.inputs if "name" in i.attrs}
    data[page.by_id["user"].attrs["name"]] = user_id
    chosen = page.by_id[button]
    data[chosen.attrs["name"]] = chosen.attrs["value"]
    action = page.forms[0].get("action") or url
    # the form's own POST is the emulator's page, not a Box API: no OpenAPI check
    return requests.post(action, data=data, allow_redirects=False, timeout=TIMEOUT)


def test_consent_form_grants_once(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    url = authorize_url(emu, code_params(client, state="once"))
    page = requests.get(url, allow_redirects=False, timeout=TIMEOUT)
    check_response(page)
    first = submit_consent(emu, url, page, user_id=emu.users[1].id, button="grant")
    assert first.status_code in {302, 303}
    _, query = split_redirect(first.headers["Location"])
    assert query["state"] == "once"
    # the same consent form cannot be submitted twice
    again = submit_consent(emu, url, page, user_id=emu.users[1].id, button="grant")
    assert again.status_code >= 400
    assert "Location" not in again.headers
    body = tokens(exchange(emu, client, query["code"]))
    assert me(emu, body["access_token"]).json()["id"] == emu.users[1].id


@pytest.mark.parametrize(
    "state", ["abc", "a b&c=d/é+%?#;", "x" * 500, "box_csrf_token_AbCdEf0123456789", " "]
)
def test_grant_redirects_with_code_and_state_unchanged(emu: BoxEmulator, state: str) -> None:
    client = demo_client(emu)
    location = emu.authorize(authorize_url(emu, code_params(client, state=state)))
    base, query = split_redirect(location)
    assert base == client.redirect_uri
    assert set(query) == {"code", "state"}
    assert query["state"] == state
    assert query["code"]


def test_grant_without_state_has_no_state(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    base, query = split_redirect(emu.authorize(authorize_url(emu, code_params(client))))
    assert base == client.redirect_uri
    assert set(query) == {"code"}


def test_grant_as_another_user(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    code = get_code(emu, client, user=emu.users[1])
    body = me(emu, tokens(exchange(emu, client, code))["access_token"]).json()
    assert body["id"] == emu.users[1].id
    assert body["login"] == "grace@example.com"


def test_deny_redirects_with_access_denied_and_state(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    location = emu.authorize(authorize_url(emu, code_params(client, state="d&n y")), grant=False)
    base, query = split_redirect(location)
    assert base == client.redirect_uri
    assert query["error"] == "access_denied"
    assert query["error_description"]
    assert query["state"] == "d&n y"
    assert "code" not in query


def test_each_grant_gets_a_new_code(emu: BoxEmulator) -> None:
    assert get_code(emu) != get_code(emu)


# --- token: authorization_code ------------------------------------------------------------------


def test_code_exchange(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    r = exchange(emu, client, get_code(emu, client))
    body = tokens(r)
    assert body["issued_token_type"] == URN_ACCESS_TOKEN
    user = me(emu, body["access_token"])
    assert user.status_code == 200
    assert user.json()["id"] == emu.user.id


def test_code_exchange_with_matching_redirect_uri(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    code = get_code(emu, client)
    tokens(exchange(emu, client, code, redirect_uri=client.redirect_uri))


@pytest.mark.parametrize(
    ("sent"),
    [
        "http://localhost:8888/box-widget/oauth2/callback",  # registered, but not this code's
        "http://127.0.0.1:5555/box-widget/oauth2/callback",  # same loopback URI, other port
        "https://evil.example.com/cb",
    ],
)
def test_code_exchange_with_other_redirect_uri(emu: BoxEmulator, sent: str) -> None:
    client = demo_client(emu)
    code = get_code(emu, client, redirect_uri="http://127.0.0.1:8888/box-widget/oauth2/callback")
    assert_oauth_error(exchange(emu, client, code, redirect_uri=sent), "invalid_grant")


def test_code_is_single_use(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    code = get_code(emu, client)
    tokens(exchange(emu, client, code))
    assert_oauth_error(exchange(emu, client, code), "invalid_grant", INVALID_CODE)


def test_unknown_code(emu: BoxEmulator) -> None:
    assert_oauth_error(exchange(emu, demo_client(emu), "not-a-code"), "invalid_grant", INVALID_CODE)


def test_code_expires_after_30_seconds(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    code = get_code(emu, client)
    emu.clock.advance(31)
    assert_oauth_error(exchange(emu, client, code), "invalid_grant", EXPIRED_CODE)


def test_code_still_valid_at_29_seconds(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    code = get_code(emu, client)
    emu.clock.advance(29)
    tokens(exchange(emu, client, code))


def test_another_clients_code(emu: BoxEmulator) -> None:
    other = new_client(emu, ["http://127.0.0.1:9999/cb"])
    code = get_code(emu, demo_client(emu))
    assert_oauth_error(exchange(emu, other, code), "invalid_grant", INVALID_CODE)


def test_client_credentials_only_as_http_basic(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    code = get_code(emu, client)
    r = token_request(
        emu,
        {"grant_type": "authorization_code", "code": code},
        auth=(client.client_id, client.client_secret),
    )
    assert_oauth_error(r, "invalid_client", INVALID_CLIENT)


@pytest.mark.parametrize("which", ["wrong secret", "empty secret", "no secret", "unknown client"])
def test_bad_client_credentials(emu: BoxEmulator, which: str) -> None:
    client = demo_client(emu)
    code = get_code(emu, client)
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    if which == "wrong secret":
        data["client_secret"] += "x"
    elif which == "empty secret":
        data["client_secret"] = ""
    elif which == "no secret":
        del data["client_secret"]
    else:
        data["client_id"] = "unknown-client"
    assert_oauth_error(token_request(emu, data), "invalid_client", INVALID_CLIENT)


def test_json_body_is_invalid_request(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    code = get_code(emu, client)
    r = requests.post(
        emu.endpoints.token_url,
        timeout=TIMEOUT,
        json={
            "grant_type": "authorization_code",
            "code": code,
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        },
    )
    check_response(r)
    assert_oauth_error(r, "invalid_request", INVALID_GRANT_TYPE)


@pytest.mark.parametrize("grant_type", [None, "", "password", "implicit"])
def test_missing_or_unknown_grant_type(emu: BoxEmulator, grant_type: str | None) -> None:
    client = demo_client(emu)
    data = {
        "code": get_code(emu, client),
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    if grant_type is not None:
        data["grant_type"] = grant_type
    assert_oauth_error(token_request(emu, data), "invalid_request", INVALID_GRANT_TYPE)


@pytest.mark.parametrize("repeated", ["grant_type", "code", "client_id", "client_secret"])
def test_repeated_token_parameter(emu: BoxEmulator, repeated: str) -> None:
    client = demo_client(emu)
    data = {
        "grant_type": "authorization_code",
        "code": get_code(emu, client),
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    pairs = [*data.items(), (repeated, data[repeated])]
    assert_oauth_error(token_request(emu, pairs), "invalid_request")


def padded_exchange(emu: BoxEmulator, client: Client, code: str, size: int) -> requests.Response:
    """A code exchange whose form body is exactly ``size`` bytes (padded with a device name)."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        "box_device_name": "",
    }
    data["box_device_name"] = "d" * (size - len(urlencode(data)))
    assert len(urlencode(data)) == size
    return token_request(emu, data)


def test_body_over_16_kib_is_invalid_request(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    code = get_code(emu, client)
    assert_oauth_error(padded_exchange(emu, client, code, 16 * 1024 + 1), "invalid_request")
    r = padded_exchange(emu, client, code, 64 * 1024)
    assert_oauth_error(r, "invalid_request")


def test_body_of_16_kib_is_accepted(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    tokens(padded_exchange(emu, client, get_code(emu, client), 16 * 1024))


# --- token: refresh_token -----------------------------------------------------------------------


def test_refresh_rotates_the_pair(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    first = tokens(exchange(emu, client, get_code(emu, client)))
    second = tokens(refresh(emu, client, first["refresh_token"]))
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert me(emu, second["access_token"]).json()["id"] == emu.user.id
    # the used refresh token is dead; the new one works (once)
    assert_oauth_error(
        refresh(emu, client, first["refresh_token"]), "invalid_grant", INVALID_REFRESH
    )
    third = tokens(refresh(emu, client, second["refresh_token"]))
    assert third["refresh_token"] not in {first["refresh_token"], second["refresh_token"]}
    assert emu.counters()["grants"] == {
        "authorization_code": 1,
        "refresh_token": 2,
        "client_credentials": 0,
        "token_exchange": 0,
    }
    assert emu.counters()["refreshes"] == 2
    assert emu.counters()["failed_refreshes"] == 1


@pytest.mark.parametrize("token", ["", "unknown-refresh-token"])
def test_refresh_with_unknown_token(emu: BoxEmulator, token: str) -> None:
    client = demo_client(emu)
    data = {
        "grant_type": "refresh_token",
        "refresh_token": token,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    r = token_request(emu, data)
    if token:
        assert_oauth_error(r, "invalid_grant", INVALID_REFRESH)
    else:
        assert r.status_code == 400
        assert r.json()["error"] in {"invalid_request", "invalid_grant"}


def test_refresh_with_another_clients_token(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    other = new_client(emu, ["http://127.0.0.1:9999/cb"])
    pair = tokens(exchange(emu, client, get_code(emu, client)))
    assert_oauth_error(refresh(emu, other, pair["refresh_token"]), "invalid_grant", INVALID_REFRESH)
    # the failed attempt did not spend the token
    tokens(refresh(emu, client, pair["refresh_token"]))


def test_refresh_with_an_access_token(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    pair = tokens(exchange(emu, client, get_code(emu, client)))
    assert_oauth_error(refresh(emu, client, pair["access_token"]), "invalid_grant", INVALID_REFRESH)


def test_refresh_with_bad_client_secret(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    pair = tokens(exchange(emu, client, get_code(emu, client)))
    wrong = Client(client.client_id, client.client_secret + "x", client.redirect_uri)
    assert_oauth_error(refresh(emu, wrong, pair["refresh_token"]), "invalid_client", INVALID_CLIENT)
    tokens(refresh(emu, client, pair["refresh_token"]))


def test_refresh_token_expires_after_60_days(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    pair = tokens(exchange(emu, client, get_code(emu, client)))
    emu.clock.advance(60 * DAY + 1)
    assert_oauth_error(
        refresh(emu, client, pair["refresh_token"]), "invalid_grant", EXPIRED_REFRESH
    )
    assert emu.counters()["failed_refreshes"] == 1
    assert emu.counters()["refreshes"] == 0


def test_refresh_token_valid_just_before_60_days(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    pair = tokens(exchange(emu, client, get_code(emu, client)))
    emu.clock.advance(60 * DAY - 5)
    new = tokens(refresh(emu, client, pair["refresh_token"]))
    # the new refresh token has its own 60 days
    emu.clock.advance(59 * DAY)
    tokens(refresh(emu, client, new["refresh_token"]))


def test_old_access_token_works_until_the_new_one_is_used(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    old = tokens(exchange(emu, client, get_code(emu, client)))
    new = tokens(refresh(emu, client, old["refresh_token"]))
    assert me(emu, old["access_token"]).status_code == 200
    assert me(emu, old["access_token"]).status_code == 200
    assert me(emu, new["access_token"]).status_code == 200
    assert_unauthorized(me(emu, old["access_token"]))
    assert me(emu, new["access_token"]).status_code == 200


def test_access_token_expires(emu: BoxEmulator) -> None:
    emu.settings.access_token_lifetime = 2
    client = demo_client(emu)
    pair = tokens(exchange(emu, client, get_code(emu, client)), expires_in=2)
    assert me(emu, pair["access_token"]).status_code == 200
    emu.clock.advance(3)
    r = me(emu, pair["access_token"])
    assert_unauthorized(r)
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    # DOC-refresh: a refresh works before or after the access token expired
    new = tokens(refresh(emu, client, pair["refresh_token"]), expires_in=2)
    assert me(emu, new["access_token"]).status_code == 200


@pytest.mark.parametrize("authorization", [None, "Bearer", "Bearer unknown-token", "Basic abc"])
def test_api_without_a_valid_token_is_a_bare_401(
    emu: BoxEmulator, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    r = requests.get(f"{emu.endpoints.api_url}/users/me", headers=headers, timeout=TIMEOUT)
    check_response(r)
    assert_unauthorized(r)
    if authorization is not None:  # a token was sent, but is not a live one
        assert 'error="invalid_token"' in r.headers["WWW-Authenticate"]


# --- token: client_credentials ------------------------------------------------------------------


def test_ccg_enterprise_is_the_service_account(emu: BoxEmulator) -> None:
    assert emu.app.ccg_enabled
    r = ccg(emu, demo_client(emu), "enterprise", emu.app.enterprise_id)
    body = tokens(r, refresh_token=False)
    assert body["issued_token_type"] in {URN_ACCESS_TOKEN, "bearer"}
    user = me(emu, body["access_token"]).json()
    assert user["id"] == emu.service_account.id
    assert user["id"] not in {u.id for u in emu.users}


@pytest.mark.parametrize("index", [0, 1])
def test_ccg_user_is_that_user(emu: BoxEmulator, index: int) -> None:
    user = emu.users[index]
    body = tokens(ccg(emu, demo_client(emu), "user", user.id), refresh_token=False)
    assert me(emu, body["access_token"]).json()["id"] == user.id


@pytest.mark.parametrize(
    ("subject_type", "subject_id"),
    [
        ("enterprise", "123"),
        ("enterprise", None),
        ("user", "999999999"),
        ("user", None),
        (None, None),
        ("group", "1"),
    ],
)
def test_ccg_wrong_subject(
    emu: BoxEmulator, subject_type: str | None, subject_id: str | None
) -> None:
    r = ccg(emu, demo_client(emu), subject_type, subject_id)
    assert_oauth_error(r, "invalid_grant", INVALID_CCG)
    assert emu.counters()["grants"]["client_credentials"] == 0


def test_ccg_enterprise_with_a_user_id(emu: BoxEmulator) -> None:
    assert_oauth_error(
        ccg(emu, demo_client(emu), "enterprise", emu.user.id), "invalid_grant", INVALID_CCG
    )


@pytest.mark.parametrize("which", ["wrong secret", "unknown client", "another app's secret"])
def test_ccg_with_bad_client_credentials(emu: BoxEmulator, which: str) -> None:
    """DOC-ccg: "Grant credentials are invalid" when "the client ID and client secret passed are
    incorrect or are not for the same application" (docs/box-platform.md section 6), not
    invalid_client."""
    client = demo_client(emu)
    if which == "wrong secret":
        bad = Client(client.client_id, client.client_secret + "x", client.redirect_uri)
    elif which == "unknown client":
        bad = Client("unknown-client", client.client_secret, client.redirect_uri)
    else:
        other = new_client(emu, ["http://127.0.0.1:9999/cb"], ccg_enabled=True)
        bad = Client(client.client_id, other.client_secret, client.redirect_uri)
    assert_oauth_error(
        ccg(emu, bad, "enterprise", emu.app.enterprise_id), "invalid_grant", INVALID_CCG
    )
    assert emu.counters()["grants"]["client_credentials"] == 0


def test_ccg_app_without_ccg(emu: BoxEmulator) -> None:
    client = new_client(emu, ["http://127.0.0.1:9999/cb"], ccg_enabled=False)
    r = ccg(emu, client, "enterprise", emu.app.enterprise_id)
    assert_oauth_error(r, "invalid_request", GRANT_NOT_ALLOWED)


def test_ccg_token_expires_and_cannot_be_refreshed(emu: BoxEmulator) -> None:
    emu.settings.access_token_lifetime = 2
    body = tokens(
        ccg(emu, demo_client(emu), "enterprise", emu.app.enterprise_id),
        refresh_token=False,
        expires_in=2,
    )
    emu.clock.advance(3)
    assert_unauthorized(me(emu, body["access_token"]))
    assert_oauth_error(
        refresh(emu, demo_client(emu), body["access_token"]), "invalid_grant", INVALID_REFRESH
    )


# --- revoke -------------------------------------------------------------------------------------


@pytest.mark.parametrize("which", ["access_token", "refresh_token"])
def test_revoke_either_token_revokes_the_pair(emu: BoxEmulator, which: str) -> None:
    client = demo_client(emu)
    pair = tokens(exchange(emu, client, get_code(emu, client)))
    assert me(emu, pair["access_token"]).status_code == 200
    r = revoke(emu, client, pair[which])
    assert r.status_code == 200
    assert r.content == b""
    assert_unauthorized(me(emu, pair["access_token"]))
    assert_oauth_error(
        refresh(emu, client, pair["refresh_token"]), "invalid_grant", INVALID_REFRESH
    )
    assert emu.counters()["revocations"] == 1
    # revoking again is harmless
    assert revoke(emu, client, pair[which]).status_code == 200


def test_revoke_after_refresh_kills_the_new_pair(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    old = tokens(exchange(emu, client, get_code(emu, client)))
    new = tokens(refresh(emu, client, old["refresh_token"]))
    assert revoke(emu, client, new["access_token"]).status_code == 200
    assert_unauthorized(me(emu, new["access_token"]))
    assert_oauth_error(refresh(emu, client, new["refresh_token"]), "invalid_grant", INVALID_REFRESH)


def test_revoke_leaves_other_pairs_alone(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    first = tokens(exchange(emu, client, get_code(emu, client)))
    second = tokens(exchange(emu, client, get_code(emu, client, user=emu.users[1])))
    assert revoke(emu, client, first["access_token"]).status_code == 200
    assert me(emu, second["access_token"]).json()["id"] == emu.users[1].id
    tokens(refresh(emu, client, second["refresh_token"]))


def test_revoke_unknown_token_is_200(emu: BoxEmulator) -> None:
    r = revoke(emu, demo_client(emu), "no-such-token")
    assert r.status_code == 200
    assert r.content == b""


def test_revoke_with_bad_client(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    pair = tokens(exchange(emu, client, get_code(emu, client)))
    r = revoke(emu, client, pair["access_token"], secret=client.client_secret + "x")
    assert_oauth_error(r, "invalid_client")
    unknown = Client("unknown-client", "secret", client.redirect_uri)
    assert_oauth_error(revoke(emu, unknown, pair["access_token"]), "invalid_client")
    # nothing was revoked
    assert me(emu, pair["access_token"]).status_code == 200
    assert emu.counters()["revocations"] == 0


def test_revoke_another_clients_token_leaves_it_alone(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    other = new_client(emu, ["http://127.0.0.1:9999/cb"])
    pair = tokens(exchange(emu, client, get_code(emu, client)))
    # Box does not document the status here (RFC 7009 would refuse it); the pair must survive
    assert revoke(emu, other, pair["access_token"]).status_code in {200, 400}
    assert revoke(emu, other, pair["refresh_token"]).status_code in {200, 400}
    assert me(emu, pair["access_token"]).status_code == 200
    tokens(refresh(emu, client, pair["refresh_token"]))


# --- counters -----------------------------------------------------------------------------------


def test_counters(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    assert emu.counters() == {
        "grants": {
            "authorization_code": 0,
            "refresh_token": 0,
            "client_credentials": 0,
            "token_exchange": 0,
        },
        "refreshes": 0,
        "failed_refreshes": 0,
        "reused_refreshes": 0,
        "api_calls": 0,
        "revocations": 0,
        "rejected_tokens": 0,
        "upload_sessions": 0,
    }
    pair = tokens(exchange(emu, client, get_code(emu, client)))
    assert_oauth_error(exchange(emu, client, "bad-code"), "invalid_grant")
    new = tokens(refresh(emu, client, pair["refresh_token"]))
    assert_oauth_error(refresh(emu, client, pair["refresh_token"]), "invalid_grant")
    tokens(ccg(emu, client, "user", emu.user.id), refresh_token=False)
    assert me(emu, new["access_token"]).status_code == 200
    assert me(emu, new["access_token"]).status_code == 200
    assert revoke(emu, client, new["refresh_token"]).status_code == 200
    expected = {
        "grants": {
            "authorization_code": 1,
            "refresh_token": 1,
            "client_credentials": 1,
            "token_exchange": 0,
        },
        "refreshes": 1,
        "failed_refreshes": 1,
        "reused_refreshes": 0,
        "api_calls": 2,
        "revocations": 1,
        "rejected_tokens": 0,
        "upload_sessions": 0,
    }
    assert emu.counters() == expected
    # the control API reports the same, and no secret
    state = requests.get(f"{emu.url}/_emulator/state", timeout=TIMEOUT)
    assert state.status_code == 200
    assert state.json()["counters"] == expected
    assert client.client_secret not in state.text


# --- faults -------------------------------------------------------------------------------------


def test_expire_access_tokens_now_leaves_refresh_tokens_working(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    pair = tokens(exchange(emu, client, get_code(emu, client)))
    assert me(emu, pair["access_token"]).status_code == 200
    emu.expire_access_tokens()
    assert_unauthorized(me(emu, pair["access_token"]))
    assert emu.counters()["rejected_tokens"] == 1
    new = tokens(refresh(emu, client, pair["refresh_token"]))
    assert me(emu, new["access_token"]).status_code == 200


def test_expire_access_tokens_after_calls_under_a_path(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    pair = tokens(exchange(emu, client, get_code(emu, client)))
    headers = {"Authorization": f"Bearer {pair['access_token']}"}
    emu.expire_access_tokens(after_calls=2, path="/2.0/users/me")
    for _ in range(2):
        assert me(emu, pair["access_token"]).status_code == 200
    # a call under another path neither counts nor triggers it
    root = requests.get(f"{emu.endpoints.api_url}/folders/0", headers=headers, timeout=TIMEOUT)
    assert root.status_code == 200
    assert_unauthorized(me(emu, pair["access_token"]))  # the third call: the token died first
    assert emu.counters()["rejected_tokens"] == 1
    # it fired once: a token issued afterwards lives on
    new = tokens(refresh(emu, client, pair["refresh_token"]))
    for _ in range(3):
        assert me(emu, new["access_token"]).status_code == 200
    # cleared before it is due, it never fires
    emu.expire_access_tokens(after_calls=1)
    emu.clear_faults()
    for _ in range(3):
        assert me(emu, new["access_token"]).status_code == 200


def test_expire_access_tokens_over_the_control_api(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    pair = tokens(exchange(emu, client, get_code(emu, client)))
    url = f"{emu.url}/_emulator/expire_tokens"
    for bad in ({"after_calls": -1}, {"after_calls": "2"}, {"path": 3}, {"calls": 1}):
        refused = requests.post(url, json=bad, timeout=TIMEOUT)
        assert refused.status_code == 400, bad
        assert refused.json()["code"] == "bad_request"
    assert requests.post(url, json={"after_calls": 1}, timeout=TIMEOUT).status_code == 201
    assert me(emu, pair["access_token"]).status_code == 200
    assert_unauthorized(me(emu, pair["access_token"]))
    fresh = tokens(refresh(emu, client, pair["refresh_token"]))
    assert requests.post(url, json={}, timeout=TIMEOUT).status_code == 201  # at once
    assert_unauthorized(me(emu, fresh["access_token"]))


def test_fault_503_on_token(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    code = get_code(emu, client)
    emu.inject_fault(status=503, path="/oauth2/token", times=1)
    r = exchange(emu, client, code)
    assert r.status_code == 503
    assert r.headers["Content-Type"].startswith("application/json")
    assert set(r.json()) == {"error", "error_description"}
    assert emu.counters()["grants"]["authorization_code"] == 0
    # the fault was used up; the code was not
    tokens(exchange(emu, client, code))


def test_fault_429_with_retry_after_on_token(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    pair = tokens(exchange(emu, client, get_code(emu, client)))
    emu.inject_fault(status=429, retry_after=7, path="/oauth2/token", times=2)
    for _ in range(2):
        r = refresh(emu, client, pair["refresh_token"])
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "7"
        assert set(r.json()) == {"error", "error_description"}
    tokens(refresh(emu, client, pair["refresh_token"]))


def test_fault_until_cleared(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    emu.inject_fault(status=503, path="/oauth2/token", times=None)
    for _ in range(3):
        assert ccg(emu, client, "user", emu.user.id).status_code == 503
    emu.clear_faults()
    tokens(ccg(emu, client, "user", emu.user.id), refresh_token=False)


def test_fault_only_hits_its_path_and_method(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    emu.inject_fault(status=503, path="/oauth2/revoke", times=None)
    emu.inject_fault(status=503, path="/oauth2/token", method="GET", times=None)
    tokens(ccg(emu, client, "user", emu.user.id), refresh_token=False)
    assert revoke(emu, client, "whatever").status_code == 503


def test_fault_drop_before_the_work(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    code = get_code(emu, client)
    emu.inject_fault(drop=True, path="/oauth2/token", times=1)
    with pytest.raises(requests.ConnectionError):
        requests.post(
            emu.endpoints.token_url,
            timeout=TIMEOUT,
            data={
                "grant_type": "authorization_code",
                "code": code,
                "client_id": client.client_id,
                "client_secret": client.client_secret,
            },
        )
    assert emu.counters()["grants"]["authorization_code"] == 0
    tokens(exchange(emu, client, code))


def test_fault_drop_after_a_refresh_took_effect(emu: BoxEmulator) -> None:
    """The client never sees the new pair, but the old refresh token is already spent."""
    client = demo_client(emu)
    pair = tokens(exchange(emu, client, get_code(emu, client)))
    emu.inject_fault(drop=True, after=True, path="/oauth2/token", times=1)
    with pytest.raises(requests.ConnectionError):
        requests.post(
            emu.endpoints.token_url,
            timeout=TIMEOUT,
            data={
                "grant_type": "refresh_token",
                "refresh_token": pair["refresh_token"],
                "client_id": client.client_id,
                "client_secret": client.client_secret,
            },
        )
    assert emu.counters()["refreshes"] == 1
    assert_oauth_error(
        refresh(emu, client, pair["refresh_token"]), "invalid_grant", INVALID_REFRESH
    )
    # the old access token still works: its successor was never used
    assert me(emu, pair["access_token"]).status_code == 200


def test_fault_delay(emu: BoxEmulator) -> None:
    client = demo_client(emu)
    emu.inject_fault(delay=0.5, path="/oauth2/token", times=1)
    with pytest.raises(requests.Timeout):
        requests.post(
            emu.endpoints.token_url,
            timeout=0.2,
            data={
                "grant_type": "client_credentials",
                "box_subject_type": "user",
                "box_subject_id": emu.user.id,
                "client_id": client.client_id,
                "client_secret": client.client_secret,
            },
        )
