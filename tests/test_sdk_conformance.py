"""The official Box SDK (``boxsdk`` 10, ``box_sdk_gen``) as an outside check on the emulator.

Every test points the SDK at a fresh emulator with its custom base URLs and talks to it over real
HTTP on loopback: if the SDK that Box ships can authenticate, list, download and upload against
the emulator, the emulator speaks Box. Where the SDK and Box's documentation differ, the tests
follow the documentation (docs/emulator.md, docs/box-platform.md).

The SDK is set up to fail fast: it retries nothing except what a Box client must retry at once
(a 401 once after refreshing, a 202 with ``Retry-After``), so an emulator fault shows up as a
failure rather than minutes of back-off.
"""

from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import pytest
import requests
from box_sdk_gen import (
    AccessToken,
    BoxAPIError,
    BoxCCGAuth,
    BoxClient,
    BoxOAuth,
    BoxRetryStrategy,
    CCGConfig,
    FetchOptions,
    FetchResponse,
    GetAuthorizeUrlOptions,
    InMemoryTokenStorage,
    NetworkSession,
    OAuthConfig,
    TimeoutConfig,
    UploadFileAttributes,
    UploadFileAttributesParentField,
    UploadFileVersionAttributes,
)
from support.emulator_flow import base_urls

from box_widget.emulator import BoxEmulator

pytestmark = pytest.mark.sdk

#: Per-attempt socket timeouts (ms): generous for a 21 MiB part on loopback, short on connect.
TIMEOUTS = TimeoutConfig(connection_timeout_ms=5_000, read_timeout_ms=30_000)
#: A chunked upload needs at least 20 MB; this is two full 8 MiB parts plus a short last one.
BIG_FILE_SIZE = 21 * 1024 * 1024 + 123
#: Box's real hosts, which the SDK's authorize URL hard-codes.
BOX_AUTHORIZE = ("https", "account.box.com", "/api/oauth2/authorize")


# --- SDK wiring -----------------------------------------------------------------------------
class FailFastRetry(BoxRetryStrategy):
    """Retry only a 401 once (the SDK refreshes first) and a 202 that carries ``Retry-After``."""

    def __init__(self) -> None:
        super().__init__(max_attempts=3, retry_base_interval=0.1, max_retries_on_exception=0)

    def should_retry(
        self, fetch_options: FetchOptions, fetch_response: FetchResponse, attempt_number: int
    ) -> bool:
        status = fetch_response.status
        if status == 401 and attempt_number == 1:
            return super().should_retry(fetch_options, fetch_response, attempt_number)
        if status == 202 and "Retry-After" in fetch_response.headers:
            return super().should_retry(fetch_options, fetch_response, attempt_number)
        return False

    def retry_after(
        self, fetch_options: FetchOptions, fetch_response: FetchResponse, attempt_number: int
    ) -> float:
        return min(super().retry_after(fetch_options, fetch_response, attempt_number), 2.0)


class NoRetry(BoxRetryStrategy):
    """Never retry, not even a 401: for looking at the first answer itself."""

    def __init__(self) -> None:
        super().__init__(max_attempts=1, max_retries_on_exception=0)


def network_session(emu: BoxEmulator, retry: BoxRetryStrategy | None = None) -> NetworkSession:
    """An SDK network session aimed at the emulator, with short timeouts and no back-off."""
    return NetworkSession(
        retry_strategy=retry or FailFastRetry(), timeout_config=TIMEOUTS
    ).with_custom_base_urls(base_urls(emu))


def emulator_authorize_url(emu: BoxEmulator, sdk_url: str) -> str:
    """The SDK's authorize URL moved from account.box.com to the emulator, query unchanged."""
    parts = urlsplit(sdk_url)
    assert (parts.scheme, parts.netloc, parts.path) == BOX_AUTHORIZE
    emu_parts = urlsplit(emu.endpoints.authorize_url)
    return urlunsplit((emu_parts.scheme, emu_parts.netloc, emu_parts.path, parts.query, ""))


def query_of(location: str) -> dict[str, str]:
    """The query of a redirect location, each parameter given exactly once."""
    params = parse_qs(urlsplit(location).query, keep_blank_values=True)
    assert all(len(v) == 1 for v in params.values()), location
    return {k: v[0] for k, v in params.items()}


def get_code(emu: BoxEmulator, auth: BoxOAuth, *, state: str = "st-12345", user: Any = None) -> str:
    """Build the authorize URL with the SDK, consent in the emulator, return the code."""
    redirect_uri = emu.app.redirect_uris[0]
    sdk_url = auth.get_authorize_url(
        options=GetAuthorizeUrlOptions(redirect_uri=redirect_uri, state=state)
    )
    url = emulator_authorize_url(emu, sdk_url)
    location = emu.authorize(url) if user is None else emu.authorize(url, user=user)
    assert location.split("?", 1)[0] == redirect_uri.split("?", 1)[0]
    params = query_of(location)
    assert params.get("state") == state
    assert "error" not in params, params
    return params["code"]


@dataclass
class Connection:
    """An SDK client signed in to the emulator through the authorization code flow."""

    auth: BoxOAuth
    session: NetworkSession
    client: BoxClient
    token: AccessToken


def connect(emu: BoxEmulator, user: Any = None) -> Connection:
    """Run the whole authorization code flow with the SDK and return a ready client."""
    auth = BoxOAuth(OAuthConfig(client_id=emu.app.client_id, client_secret=emu.app.client_secret))
    session = network_session(emu)
    code = get_code(emu, auth, user=user)
    token = auth.get_tokens_authorization_code_grant(code, network_session=session)
    return Connection(auth, session, BoxClient(auth, network_session=session), token)


def oauth_error(exc: pytest.ExceptionInfo[BoxAPIError]) -> tuple[int, str, str]:
    """(status, error, error_description) of an OAuth error the SDK raised."""
    info = exc.value.response_info
    body = info.body or {}
    return info.status_code, body.get("error", ""), body.get("error_description", "")


def api_error(exc: pytest.ExceptionInfo[BoxAPIError]) -> tuple[int, str | None]:
    """(status, Box error code) of an API error the SDK raised."""
    return exc.value.response_info.status_code, exc.value.response_info.code


def sha1_hex(data: bytes) -> str:
    """Box's content digest: the hex SHA-1 of the bytes."""
    return hashlib.sha1(data).hexdigest()


def read_all(stream: Any) -> bytes:
    """The bytes of an SDK download stream."""
    assert stream is not None, "the download answered 202 (not ready) instead of the content"
    return stream.read()


def stored_bytes(emu: BoxEmulator, file_id: str) -> bytes:
    """What the emulator itself holds for a file."""
    return emu.state.content.files[file_id].data


def item_named(client: BoxClient, folder_id: str, name: str) -> Any:
    """The entry called ``name`` in a folder, from one big page."""
    entries = client.folders.get_folder_items(folder_id, limit=1000).entries or []
    matches = [e for e in entries if e.name == name]
    assert len(matches) == 1, [e.name for e in entries]
    return matches[0]


def upload(client: BoxClient, folder_id: str, name: str, data: bytes) -> Any:
    """A direct upload through the SDK (no file name on the file part, as the SDK defaults)."""
    files = client.uploads.upload_file(
        UploadFileAttributes(name=name, parent=UploadFileAttributesParentField(id=folder_id)),
        io.BytesIO(data),
    )
    assert files.total_count == 1
    assert files.entries is not None
    assert len(files.entries) == 1
    return files.entries[0]


def marker_listing(client: BoxClient, folder_id: str, usemarker: Any) -> list[tuple[str, str]]:
    """A folder listed in marker pages of 3, checking each page's shape (OAS ``Items``)."""
    seen: list[tuple[str, str]] = []
    marker: str | None = None
    for _ in range(10):
        page = client.folders.get_folder_items(
            folder_id, usemarker=usemarker, marker=marker, limit=3
        )
        assert page.limit == 3
        assert len(page.entries or []) <= 3
        assert "total_count" not in page.raw_data, "marker pages omit total_count"
        assert "offset" not in page.raw_data, "marker pages omit offset"
        seen += [(e.type, e.id) for e in page.entries or []]
        marker = page.next_marker
        if not marker:
            return seen
    pytest.fail("marker pagination did not end within 10 pages")


# --- layout ---------------------------------------------------------------------------------
def test_endpoints_match_the_sdk_layout(emulator: BoxEmulator) -> None:
    """emu.endpoints names the same URLs the SDK builds from the custom base URLs."""
    urls = base_urls(emulator)
    ep = emulator.endpoints
    assert ep.authorize_url == urls.oauth_2_url + "/authorize"
    assert ep.token_url == urls.base_url + "/oauth2/token"
    assert ep.revoke_url == urls.base_url + "/oauth2/revoke"
    assert ep.api_url == urls.base_url + "/2.0"
    assert ep.upload_url == urls.upload_url + "/2.0"


# --- 1. authorization code ------------------------------------------------------------------
def test_authorization_code_exchange(emulator: BoxEmulator) -> None:
    """SDK authorize URL -> consent -> code -> SDK token exchange; the code works once."""
    emu = emulator
    auth = BoxOAuth(OAuthConfig(client_id=emu.app.client_id, client_secret=emu.app.client_secret))
    session = network_session(emu)
    code = get_code(emu, auth, state="csrf-Abc_123")

    token = auth.get_tokens_authorization_code_grant(code, network_session=session)

    assert token.access_token
    assert token.refresh_token
    assert token.access_token != token.refresh_token
    raw = token.raw_data
    assert raw["token_type"] == "bearer"
    assert raw["expires_in"] == emu.settings.access_token_lifetime
    assert raw["restricted_to"] == []
    assert auth.token_storage.get().access_token == token.access_token
    assert emu.counters()["grants"]["authorization_code"] == 1

    # Single use: the same code again is invalid_grant (and the SDK raises, it does not retry).
    again = BoxOAuth(OAuthConfig(client_id=emu.app.client_id, client_secret=emu.app.client_secret))
    with pytest.raises(BoxAPIError) as exc:
        again.get_tokens_authorization_code_grant(code, network_session=session)
    assert oauth_error(exc) == (
        400,
        "invalid_grant",
        "Auth code doesn't exist or is invalid for the client",
    )
    assert emu.counters()["grants"]["authorization_code"] == 1


def test_authorization_code_expires_after_30_seconds(emulator: BoxEmulator) -> None:
    """A code exchanged after code_lifetime (30 s) is refused as expired."""
    emu = emulator
    auth = BoxOAuth(OAuthConfig(client_id=emu.app.client_id, client_secret=emu.app.client_secret))
    code = get_code(emu, auth)
    emu.clock.advance(emu.settings.code_lifetime + 1)
    with pytest.raises(BoxAPIError) as exc:
        auth.get_tokens_authorization_code_grant(code, network_session=network_session(emu))
    assert oauth_error(exc) == (400, "invalid_grant", "The authorization code has expired")


def test_wrong_client_secret_is_invalid_client(emulator: BoxEmulator) -> None:
    """A wrong secret in the SDK's form body is 400 invalid_client."""
    emu = emulator
    good = BoxOAuth(OAuthConfig(client_id=emu.app.client_id, client_secret=emu.app.client_secret))
    code = get_code(emu, good)
    bad = BoxOAuth(OAuthConfig(client_id=emu.app.client_id, client_secret="not-the-secret"))
    with pytest.raises(BoxAPIError) as exc:
        bad.get_tokens_authorization_code_grant(code, network_session=network_session(emu))
    assert oauth_error(exc) == (400, "invalid_client", "The client credentials are invalid")


# --- 2. refresh -----------------------------------------------------------------------------
def test_refresh_rotates_and_old_refresh_token_is_rejected(emulator: BoxEmulator) -> None:
    """A refresh returns a new pair; the used refresh token is then invalid_grant."""
    emu = emulator
    conn = connect(emu)
    old = conn.token

    new = conn.auth.refresh_token(network_session=conn.session)

    assert new.refresh_token
    assert new.refresh_token != old.refresh_token
    assert new.access_token != old.access_token
    assert conn.auth.token_storage.get().refresh_token == new.refresh_token
    assert conn.client.users.get_user_me().id == emu.user.id
    counters = emu.counters()
    assert counters["grants"]["refresh_token"] == 1
    assert counters["refreshes"] == 1

    # Someone still holding the old pair tries to refresh with it.
    stale = BoxOAuth(
        OAuthConfig(
            client_id=emu.app.client_id,
            client_secret=emu.app.client_secret,
            token_storage=InMemoryTokenStorage(token=old),
        )
    )
    with pytest.raises(BoxAPIError) as exc:
        stale.refresh_token(network_session=conn.session)
    assert oauth_error(exc) == (400, "invalid_grant", "Invalid refresh token")
    assert emu.counters()["failed_refreshes"] == 1

    # The new refresh token is still good (the failed attempt did not burn it).
    newer = conn.auth.refresh_token(network_session=conn.session)
    assert newer.refresh_token not in {old.refresh_token, new.refresh_token}


def test_old_access_token_dies_once_the_new_one_is_used(emulator: BoxEmulator) -> None:
    """After a refresh and a call with the new token, the old access token gets a bare 401."""
    emu = emulator
    conn = connect(emu)
    old = conn.token
    conn.auth.refresh_token(network_session=conn.session)
    assert conn.client.users.get_user_me().id == emu.user.id

    stale_auth = BoxOAuth(
        OAuthConfig(
            client_id=emu.app.client_id,
            client_secret=emu.app.client_secret,
            token_storage=InMemoryTokenStorage(token=old),
        )
    )
    stale = BoxClient(stale_auth, network_session=network_session(emu, NoRetry()))
    with pytest.raises(BoxAPIError) as exc:
        stale.users.get_user_me()
    info = exc.value.response_info
    assert info.status_code == 401
    assert info.raw_body == ""
    www = {k.lower(): v for k, v in info.headers.items()}["www-authenticate"]
    assert www.startswith("Bearer ")
    assert 'error="invalid_token"' in www


def test_sdk_refreshes_on_401_and_retries(emulator: BoxEmulator) -> None:
    """An expired access token: the SDK gets 401, refreshes (rotating), and the retry succeeds."""
    emu = emulator
    conn = connect(emu)
    emu.clock.advance(emu.settings.access_token_lifetime + 1)

    me = conn.client.users.get_user_me()

    assert me.id == emu.user.id
    assert emu.counters()["refreshes"] == 1
    assert conn.auth.token_storage.get().refresh_token != conn.token.refresh_token


def test_revoke_kills_the_pair(emulator: BoxEmulator) -> None:
    """BoxOAuth.revoke_token: the access token gets 401 and its refresh token invalid_grant."""
    emu = emulator
    conn = connect(emu)
    conn.auth.revoke_token(network_session=conn.session)
    assert emu.counters()["revocations"] == 1

    no_retry = BoxClient(conn.auth, network_session=network_session(emu, NoRetry()))
    with pytest.raises(BoxAPIError) as exc:
        no_retry.users.get_user_me()
    assert exc.value.response_info.status_code == 401
    with pytest.raises(BoxAPIError) as exc:
        conn.auth.refresh_token(network_session=conn.session)
    assert oauth_error(exc) == (400, "invalid_grant", "Invalid refresh token")


# --- 3. users/me ----------------------------------------------------------------------------
def test_get_user_me_returns_the_seeded_user(emulator: BoxEmulator) -> None:
    """users.get_user_me() is the user who granted access, for both seeded accounts."""
    emu = emulator
    me = connect(emu).client.users.get_user_me()
    assert me.type == "user"
    assert (me.id, me.name, me.login) == (emu.user.id, emu.user.name, emu.user.login)
    assert (me.name, me.login) == ("Ada Lovelace", "ada@example.com")

    other = connect(emu, user=emu.users[1]).client.users.get_user_me()
    assert (other.id, other.name, other.login) == (
        emu.users[1].id,
        emu.users[1].name,
        emu.users[1].login,
    )


# --- Box's error shape and rate limiting, as the SDK reads them -----------------------------
def test_api_error_body_as_the_sdk_parses_it(emulator: BoxEmulator) -> None:
    """A 404 reaches the SDK as Box's ClientError: code, message, request_id = box-request-id."""
    client = connect(emulator).client
    with pytest.raises(BoxAPIError) as exc:
        client.files.get_file_by_id("123456789")
    info = exc.value.response_info
    assert info.status_code == 404
    assert info.code == "not_found"
    assert info.body["type"] == "error"
    assert info.body["status"] == 404
    assert info.body["message"]
    assert info.help_url
    headers = {k.lower(): v for k, v in info.headers.items()}
    assert info.request_id
    assert info.request_id == headers["box-request-id"]


def test_rate_limit_429_with_retry_after(emulator: BoxEmulator) -> None:
    """A 429 carries Retry-After and Box's body; the SDK's own retry honours it and recovers."""
    emu = emulator
    conn = connect(emu)
    emu.inject_fault(status=429, retry_after=1, path="/2.0/users/me", times=1)
    no_retry = BoxClient(conn.auth, network_session=network_session(emu, NoRetry()))
    with pytest.raises(BoxAPIError) as exc:
        no_retry.users.get_user_me()
    info = exc.value.response_info
    assert (info.status_code, info.code) == (429, "rate_limit_exceeded")
    assert {k.lower(): v for k, v in info.headers.items()}["retry-after"] == "1"

    emu.inject_fault(status=429, retry_after=1, path="/2.0/users/me", times=1)
    retrying = network_session(emu, BoxRetryStrategy(max_attempts=2, max_retries_on_exception=0))
    me = BoxClient(conn.auth, network_session=retrying).users.get_user_me()
    assert me.id == emu.user.id


# --- 4. pagination --------------------------------------------------------------------------
def test_folder_items_offset_and_marker_pagination(emulator: BoxEmulator) -> None:
    """Small offset pages and marker pages each add up to the one big page, in the same order."""
    client = connect(emulator).client
    for i in range(8):
        upload(client, "0", f"page-{i:02d}.txt", f"item {i}\n".encode())

    big = client.folders.get_folder_items("0", limit=1000)
    everything = [(e.type, e.id) for e in big.entries or []]
    assert big.total_count == len(everything) == 11  # Reports, Data, Welcome.txt + 8 uploads
    kinds = [kind for kind, _ in everything]
    assert kinds == sorted(kinds, key=lambda k: k != "folder"), "folders come before files"

    default = client.folders.get_folder_items("0")
    assert default.limit == 100
    assert [(e.type, e.id) for e in default.entries or []] == everything

    # Offset pagination: advance by the returned limit until offset >= total_count.
    by_offset: list[tuple[str, str]] = []
    offset, pages = 0, 0
    while True:
        page = client.folders.get_folder_items("0", offset=offset, limit=3)
        pages += 1
        assert page.offset == offset
        assert page.limit == 3
        assert page.total_count == 11
        assert len(page.entries or []) <= 3
        by_offset += [(e.type, e.id) for e in page.entries or []]
        offset += page.limit
        if offset >= page.total_count:
            break
        assert pages < 10
    assert pages == 4
    assert by_offset == everything

    # Marker pagination as Box documents it (usemarker=true): follow next_marker to the end.
    assert marker_listing(client, "0", "true") == everything


def test_folder_items_marker_pagination_as_the_sdk_sends_it(emulator: BoxEmulator) -> None:
    """The SDK's usemarker=True goes on the wire as ``usemarker=True``; Box accepts it as true."""
    client = connect(emulator).client
    for i in range(5):
        upload(client, "0", f"m-{i}.txt", b"m")
    everything = [(e.type, e.id) for e in client.folders.get_folder_items("0").entries or []]
    assert len(everything) == 8
    assert marker_listing(client, "0", True) == everything


def test_folder_items_sort_by_name(emulator: BoxEmulator) -> None:
    """sort=name: folders first, then files, each group by name; DESC reverses within groups."""
    client = connect(emulator).client
    for name in ("b.txt", "A.txt", "c.txt"):
        upload(client, "0", name, b"x")

    def names(direction: str) -> list[tuple[str, str]]:
        page = client.folders.get_folder_items("0", sort="name", direction=direction, limit=1000)
        return [(e.type, e.name) for e in page.entries or []]

    asc = names("ASC")
    folders = [n for t, n in asc if t == "folder"]
    files = [n for t, n in asc if t == "file"]
    assert asc == [("folder", n) for n in folders] + [("file", n) for n in files]
    assert folders == sorted(folders, key=str.casefold)
    assert files == sorted(files, key=str.casefold)
    desc = names("DESC")
    assert [n for t, n in desc if t == "file"] == sorted(files, key=str.casefold, reverse=True)


# --- 5. download ----------------------------------------------------------------------------
def test_download_seeded_csv(emulator: BoxEmulator) -> None:
    """Reports/q1.csv through the SDK equals the stored bytes, its size and its sha1."""
    emu = emulator
    client = connect(emu).client
    reports = item_named(client, "0", "Reports")
    assert reports.type == "folder"
    q1 = item_named(client, reports.id, "q1.csv")
    assert q1.type == "file"

    data = read_all(client.downloads.download_file(q1.id))

    assert data == stored_bytes(emu, q1.id)
    assert data.startswith(b"region,month,revenue\n")
    info = client.files.get_file_by_id(q1.id)
    assert info.size == len(data)
    assert info.sha_1 == sha1_hex(data)
    assert info.name == "q1.csv"
    assert info.parent is not None
    assert info.parent.id == reports.id

    # The 302 target is a pre-authenticated /dl/ URL: no Authorization needed there.
    url = client.downloads.get_download_file_url(q1.id)
    assert url.startswith(emu.url + "/dl/")
    plain = requests.get(url, timeout=10)
    assert plain.status_code == 200
    assert plain.content == data

    # A byte range through the SDK.
    head = read_all(client.downloads.download_file(q1.id, range="bytes=0-9"))
    assert head == data[:10]


# --- 6. direct upload -----------------------------------------------------------------------
def test_direct_upload_then_download(emulator: BoxEmulator) -> None:
    """uploads.upload_file: 201 Files with the right size/sha1; the bytes come back unchanged."""
    emu = emulator
    client = connect(emu).client
    reports = item_named(client, "0", "Reports")
    data = "id,value\n1,alpha\n2,βeta\n".encode() + bytes(range(256))

    entry = upload(client, reports.id, "uploaded.csv", data)

    assert entry.type == "file"
    assert entry.name == "uploaded.csv"
    assert entry.size == len(data)
    assert entry.sha_1 == sha1_hex(data)
    assert entry.parent is not None
    assert entry.parent.id == reports.id
    assert read_all(client.downloads.download_file(entry.id)) == data
    assert stored_bytes(emu, entry.id) == data
    assert item_named(client, reports.id, "uploaded.csv").id == entry.id

    # The optional content-md5 header (carrying the SHA-1) is accepted when it matches.
    checked = client.uploads.upload_file(
        UploadFileAttributes(
            name="checked.csv", parent=UploadFileAttributesParentField(id=reports.id)
        ),
        io.BytesIO(data),
        content_md_5=sha1_hex(data),
    )
    assert checked.entries is not None
    assert checked.entries[0].sha_1 == sha1_hex(data)

    # The same name again is 409 item_name_in_use.
    with pytest.raises(BoxAPIError) as exc:
        upload(client, reports.id, "uploaded.csv", b"other")
    assert api_error(exc) == (409, "item_name_in_use")

    # A new version through POST /files/{id}/content replaces the content.
    v2 = b"id,value\n1,gamma\n"
    files = client.uploads.upload_file_version(
        entry.id, UploadFileVersionAttributes(name="uploaded.csv"), io.BytesIO(v2)
    )
    assert files.entries is not None
    assert files.entries[0].id == entry.id
    assert files.entries[0].sha_1 == sha1_hex(v2)
    assert read_all(client.downloads.download_file(entry.id)) == v2


# --- 7. chunked upload ----------------------------------------------------------------------
def test_chunked_upload_of_a_big_file(emulator: BoxEmulator) -> None:
    """chunked_uploads.upload_big_file for a >20 MB file; size, sha1 and bytes round-trip."""
    emu = emulator
    client = connect(emu).client
    data = random.Random(20240901).randbytes(BIG_FILE_SIZE)
    assert len(data) >= emu.settings.chunked_upload_minimum

    entry = client.chunked_uploads.upload_big_file(io.BytesIO(data), "big.bin", len(data), "0")

    assert entry.name == "big.bin"
    assert entry.size == len(data)
    assert entry.sha_1 == sha1_hex(data)
    assert stored_bytes(emu, entry.id) == data
    assert read_all(client.downloads.download_file(entry.id)) == data
    assert item_named(client, "0", "big.bin").id == entry.id


def test_upload_session_parts_and_small_file_refused(emulator: BoxEmulator) -> None:
    """The session the SDK opens uses 8 MiB parts; a file under 20 MB cannot open one."""
    emu = emulator
    client = connect(emu).client
    session = client.chunked_uploads.create_file_upload_session("0", BIG_FILE_SIZE, "s.bin")
    assert session.part_size == emu.settings.part_size == 8 * 1024 * 1024
    assert session.total_parts == 3
    assert session.num_parts_processed == 0
    endpoints = session.session_endpoints
    assert endpoints is not None
    for url in (endpoints.upload_part, endpoints.commit, endpoints.list_parts, endpoints.abort):
        assert url is not None
        assert url.startswith(emu.url + "/api/2.0/files/upload_sessions/")
    client.chunked_uploads.delete_file_upload_session_by_url(endpoints.abort)

    with pytest.raises(BoxAPIError) as exc:
        client.chunked_uploads.create_file_upload_session("0", 1024, "small.bin")
    assert api_error(exc) == (400, "file_size_too_small")


# --- 8. client credentials ------------------------------------------------------------------
def test_client_credentials_grant_service_account(emulator: BoxEmulator) -> None:
    """BoxCCGAuth with an enterprise subject: users/me is the app's service account."""
    emu = emulator
    app = emu.add_app(name="CCG app", redirect_uris=["http://127.0.0.1:9999/cb"], ccg_enabled=True)
    auth = BoxCCGAuth(
        CCGConfig(
            client_id=app.client_id,
            client_secret=app.client_secret,
            enterprise_id=app.enterprise_id,
        )
    )
    client = BoxClient(auth, network_session=network_session(emu))

    me = client.users.get_user_me()

    assert me.type == "user"
    assert me.id == app.service_account_id
    assert me.login.startswith("AutomationUser_")
    assert me.login.endswith("@boxdevedition.com")
    assert me.id not in {u.id for u in emu.users}
    token = auth.token_storage.get()
    assert token.access_token
    assert token.refresh_token is None, "CCG issues no refresh token"
    assert emu.counters()["grants"]["client_credentials"] == 1


def test_client_credentials_grant_seeded_app(emulator: BoxEmulator) -> None:
    """The seeded app's enterprise subject is emu.service_account."""
    emu = emulator
    assert emu.app.ccg_enabled
    auth = BoxCCGAuth(
        CCGConfig(
            client_id=emu.app.client_id,
            client_secret=emu.app.client_secret,
            enterprise_id=emu.app.enterprise_id,
        )
    )
    me = BoxClient(auth, network_session=network_session(emu)).users.get_user_me()
    sa = emu.service_account
    assert (me.id, me.name, me.login) == (sa.id, sa.name, sa.login)


def test_client_credentials_grant_user_subject(emulator: BoxEmulator) -> None:
    """BoxCCGAuth with user_id: users/me is that user."""
    emu = emulator
    app = emu.add_app(name="CCG user", redirect_uris=["http://127.0.0.1:9999/cb"], ccg_enabled=True)
    auth = BoxCCGAuth(
        CCGConfig(client_id=app.client_id, client_secret=app.client_secret, user_id=emu.user.id)
    )
    me = BoxClient(auth, network_session=network_session(emu)).users.get_user_me()
    assert (me.id, me.name, me.login) == (emu.user.id, emu.user.name, emu.user.login)


def test_client_credentials_refusals(emulator: BoxEmulator) -> None:
    """Wrong enterprise: invalid_grant; an app without CCG: invalid_request (Box's texts)."""
    emu = emulator
    app = emu.add_app(name="CCG bad", redirect_uris=["http://127.0.0.1:9999/cb"], ccg_enabled=True)
    wrong = BoxCCGAuth(
        CCGConfig(client_id=app.client_id, client_secret=app.client_secret, enterprise_id="1")
    )
    with pytest.raises(BoxAPIError) as exc:
        BoxClient(wrong, network_session=network_session(emu)).users.get_user_me()
    assert oauth_error(exc) == (400, "invalid_grant", "Grant credentials are invalid")

    plain = emu.add_app(name="No CCG", redirect_uris=["http://127.0.0.1:9999/cb"])
    assert not plain.ccg_enabled
    refused = BoxCCGAuth(
        CCGConfig(
            client_id=plain.client_id,
            client_secret=plain.client_secret,
            enterprise_id=plain.enterprise_id,
        )
    )
    with pytest.raises(BoxAPIError) as exc:
        BoxClient(refused, network_session=network_session(emu)).users.get_user_me()
    assert oauth_error(exc) == (
        400,
        "invalid_request",
        "The grant type is unauthorized for this client_id",
    )
    assert emu.counters()["grants"]["client_credentials"] == 0
