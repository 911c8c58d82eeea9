"""Raw OAuth 2.0 requests to the emulator, as a client of Box's endpoints would send them (for
``test_emulator_oauth``): apps, the authorize page and its redirect, token, refresh, client
credentials and revoke requests, checked against Box's OpenAPI description; Box's error
descriptions; and a small parser of the emulator's HTML pages."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

from box_widget.emulator import BoxEmulator
from support.openapi_check import check_request, check_response

TIMEOUT = 5
URN_ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
TOKEN_FIELDS = {
    "access_token",
    "expires_in",
    "token_type",
    "restricted_to",
    "refresh_token",
    "issued_token_type",
}
DAY = 24 * 3600
#: Box's error descriptions (docs/box-platform.md sections 4, 5, 6, 8; docs/emulator.md "Token").
INVALID_CLIENT = "The client credentials are invalid"
INVALID_GRANT_TYPE = "Invalid grant_type parameter or parameter missing"
INVALID_CODE = "Auth code doesn't exist or is invalid for the client"
EXPIRED_CODE = "The authorization code has expired"
INVALID_REFRESH = "Invalid refresh token"
EXPIRED_REFRESH = "Refresh token has expired"
INVALID_CCG = "Grant credentials are invalid"
GRANT_NOT_ALLOWED = "The grant type is unauthorized for this client_id"

Params = list[tuple[str, str]]


@dataclass
class Client:
    """An app's credentials and the redirect URI it uses."""

    client_id: str
    client_secret: str
    redirect_uri: str


def demo_client(emu: BoxEmulator) -> Client:
    """The seeded app, with its first registered redirect URI."""
    return Client(emu.app.client_id, emu.app.client_secret, emu.app.redirect_uris[0])


def new_client(emu: BoxEmulator, redirect_uris: list[str], **options: Any) -> Client:
    """Register another app; it uses its first redirect URI."""
    app = emu.add_app(name="Test App", redirect_uris=redirect_uris, **options)
    return Client(app.client_id, app.client_secret, redirect_uris[0])


def authorize_url(emu: BoxEmulator, params: Params | dict[str, str]) -> str:
    """The authorize address with exactly these query parameters (repeats kept)."""
    pairs = list(params.items()) if isinstance(params, dict) else params
    return f"{emu.endpoints.authorize_url}?{urlencode(pairs)}"


def code_params(client: Client, **extra: str) -> dict[str, str]:
    """A well-formed authorize request for ``client``."""
    return {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": client.redirect_uri,
        **extra,
    }


def open_authorize(emu: BoxEmulator, params: Params | dict[str, str]) -> requests.Response:
    """GET the authorize page like a browser's first hop (redirects not followed)."""
    r = requests.get(authorize_url(emu, params), allow_redirects=False, timeout=TIMEOUT)
    check_response(r)
    return r


def split_redirect(location: str) -> tuple[str, dict[str, str]]:
    """A redirect's address without its query, and its query parameters (each exactly once)."""
    parts = urlsplit(location)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    names = [name for name, _ in pairs]
    assert len(names) == len(set(names)), f"repeated parameters in {location}"
    return urlunsplit(parts._replace(query="")), dict(pairs)


def get_code(
    emu: BoxEmulator,
    client: Client | None = None,
    *,
    user: Any = None,
    redirect_uri: str | None = None,
    state: str = "s1",
) -> str:
    """Grant ``client`` through the consent page; the authorization code Box redirects with."""
    client = client or demo_client(emu)
    params = code_params(client, state=state)
    if redirect_uri is not None:
        params["redirect_uri"] = redirect_uri
    location = emu.authorize(authorize_url(emu, params), user=user or emu.user, grant=True)
    _, query = split_redirect(location)
    assert query.get("state") == state
    return query["code"]


def post_form(
    url: str, data: Params | dict[str, str] | None = None, **kwargs: Any
) -> requests.Response:
    """POST a form to the emulator and check the answer against Box's OpenAPI description."""
    r = requests.post(url, data=data, timeout=TIMEOUT, **kwargs)
    check_response(r)
    return r


def token_request(
    emu: BoxEmulator, data: Params | dict[str, str] | None = None, **kwargs: Any
) -> requests.Response:
    """POST to ``/oauth2/token``."""
    return post_form(emu.endpoints.token_url, data, **kwargs)


def exchange(emu: BoxEmulator, client: Client, code: str, **extra: str) -> requests.Response:
    """The authorization-code grant, sent as Box's own samples send it."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
        **extra,
    }
    r = token_request(emu, data)
    check_request(r.request)
    return r


def refresh(emu: BoxEmulator, client: Client, refresh_token: str) -> requests.Response:
    """The refresh-token grant."""
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    r = token_request(emu, data)
    check_request(r.request)
    return r


def ccg(
    emu: BoxEmulator, client: Client, subject_type: str | None, subject_id: str | None
) -> requests.Response:
    """The client-credentials grant."""
    data = {
        "grant_type": "client_credentials",
        "client_id": client.client_id,
        "client_secret": client.client_secret,
    }
    if subject_type is not None:
        data["box_subject_type"] = subject_type
    if subject_id is not None:
        data["box_subject_id"] = subject_id
    r = token_request(emu, data)
    if subject_type in {"enterprise", "user"}:  # else deliberately outside Box's enum
        check_request(r.request)
    return r


def revoke(
    emu: BoxEmulator, client: Client, token: str, secret: str | None = None
) -> requests.Response:
    """``/oauth2/revoke``."""
    data = {
        "client_id": client.client_id,
        "client_secret": secret or client.client_secret,
        "token": token,
    }
    r = post_form(emu.endpoints.revoke_url, data)
    check_request(r.request)
    return r


def tokens(
    r: requests.Response, *, refresh_token: bool = True, expires_in: int = 3600
) -> dict[str, Any]:
    """Assert a successful token answer as Box documents it; its body."""
    assert r.status_code == 200, r.text
    assert "no-store" in r.headers.get("Cache-Control", "")
    assert r.headers["Content-Type"].startswith("application/json")
    body: dict[str, Any] = r.json()
    expected = TOKEN_FIELDS if refresh_token else TOKEN_FIELDS - {"refresh_token"}
    assert set(body) == expected
    assert body["token_type"] == "bearer"
    assert body["restricted_to"] == []
    assert body["expires_in"] == expires_in
    assert isinstance(body["access_token"], str)
    assert body["access_token"]
    if refresh_token:
        assert isinstance(body["refresh_token"], str)
        assert body["refresh_token"]
        assert body["refresh_token"] != body["access_token"]
    return body


def assert_oauth_error(
    r: requests.Response, error: str, description: str | None = None, status: int = 400
) -> None:
    """Assert Box's OAuth error answer (the trailing full stop of Box's texts varies)."""
    assert r.status_code == status, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert body["error"] == error, body
    if description is not None:
        assert body["error_description"].rstrip(".") == description.rstrip("."), body


def me(emu: BoxEmulator, access_token: str | None) -> requests.Response:
    """``GET /2.0/users/me`` with a bearer token (none if ``None``)."""
    headers = {} if access_token is None else {"Authorization": f"Bearer {access_token}"}
    r = requests.get(f"{emu.endpoints.api_url}/users/me", headers=headers, timeout=TIMEOUT)
    check_response(r)
    return r


def assert_unauthorized(r: requests.Response) -> None:
    """Box's answer to a missing, unknown, expired or revoked token: a bare 401."""
    assert r.status_code == 401
    assert r.content == b""
    challenge = r.headers.get("WWW-Authenticate", "")
    assert challenge.startswith("Bearer ")
    assert 'realm="Service"' in challenge


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


class PageParser(HTMLParser):
    """Elements by id, the consent form's fields, its select options and buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, Element] = {}
        self.forms: list[dict[str, str]] = []
        self.inputs: list[Element] = []
        self.options: list[Element] = []
        self.buttons: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        if "id" in element.attrs:
            self.by_id[element.attrs["id"]] = element
        if tag == "form":
            self.forms.append(element.attrs)
        elif tag == "input":
            self.inputs.append(element)
        elif tag == "option":
            self.options.append(element)
        elif tag == "button":
            self.buttons.append(element)
        if tag not in {"input", "meta", "br", "img", "link"}:
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open:
            if self._open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self._open:
            element.text += data


def parse_page(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    parser.close()
    return parser


def assert_error_page(r: requests.Response, error: str, status: int | None = 400) -> None:
    """An error shown to the user on Box's page: no redirect back to the app, no consent form."""
    if status is None:
        assert 400 <= r.status_code < 500, r.status_code
    else:
        assert r.status_code == status, r.status_code
    assert "Location" not in r.headers
    assert r.headers["Content-Type"].startswith("text/html")
    assert error in r.text
    page = parse_page(r.text)
    assert not page.buttons, "an error page must not offer grant/deny"
    assert "code=" not in r.text
