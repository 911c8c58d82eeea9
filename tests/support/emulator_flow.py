"""Getting tokens from the emulator the way an app would: authorize, consent, exchange."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests
from box_sdk_gen import BaseUrls

from box_widget import BoxConnection
from box_widget.emulator import BoxEmulator
from box_widget.emulator.content import User

CALLBACK = "http://127.0.0.1:8888/box-widget/oauth2/callback"


def new_connection(
    emu: BoxEmulator, home: Path | str, name: str = "work", **overrides: Any
) -> BoxConnection:
    """A connection for the emulator's demo app, redirecting to ``CALLBACK`` (not connected
    yet); ``overrides`` go to ``BoxConnection``."""
    options: dict[str, Any] = {
        "client_id": emu.app.client_id,
        "client_secret": emu.app.client_secret,
        "redirect_uri": CALLBACK,
        "endpoints": emu.endpoints,
        "home": home,
        **overrides,
    }
    return BoxConnection(name, **options)


def connect(
    emu: BoxEmulator, home: Path | str, name: str = "work", **overrides: Any
) -> BoxConnection:
    """A saved connection through the headless flow (authorization_url, Box's consent page
    answered as Ada, complete): its first token starts living now."""
    conn = new_connection(emu, home, name, **overrides)
    conn.complete(emu.authorize(conn.authorization_url()))
    return conn


def base_urls(emu: BoxEmulator) -> BaseUrls:
    """The emulator's layout in the official SDK's terms (docs/emulator.md, "Layout")."""
    return BaseUrls(
        base_url=emu.url, upload_url=emu.url + "/api", oauth_2_url=emu.url + "/api/oauth2"
    )


def authorize_url(emu: BoxEmulator, **params: str) -> str:
    """The demo app's authorize URL; ``params`` override or add query parameters."""
    query = {
        "response_type": "code",
        "client_id": emu.app.client_id,
        "redirect_uri": CALLBACK,
        "state": "st4te",
        **params,
    }
    return f"{emu.endpoints.authorize_url}?{urlencode(query)}"


def code_for(emu: BoxEmulator, user: User | None = None, **params: str) -> str:
    """A fresh authorization code granted by ``user`` (Ada by default)."""
    location = emu.authorize(authorize_url(emu, **params), user=user)
    return parse_qs(urlsplit(location).query)["code"][0]


def tokens_for(emu: BoxEmulator, user: User | None = None, **params: str) -> dict[str, Any]:
    """A token response for the demo app, as ``user``."""
    response = requests.post(
        emu.endpoints.token_url,
        timeout=10,
        data={
            "grant_type": "authorization_code",
            "code": code_for(emu, user, **params),
            "client_id": emu.app.client_id,
            "client_secret": emu.app.client_secret,
        },
    )
    response.raise_for_status()
    body: dict[str, Any] = response.json()
    return body


def bearer(emu: BoxEmulator, user: User | None = None, **params: str) -> dict[str, str]:
    """An ``Authorization`` header for ``user``."""
    return {"Authorization": f"Bearer {tokens_for(emu, user, **params)['access_token']}"}
