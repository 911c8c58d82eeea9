"""Signing in through the hub service the way a user does, without a browser: the kernel's
API call, Box's consent page answered by HTTP (the emulator's), and Box's redirect opened
with the user's hub login (a ``requests`` session holding the hub's cookies)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from box_widget.emulator import BoxEmulator
from box_widget.emulator.content import User
from box_widget.hub.users import folder_name
from box_widget.keys import load_key
from box_widget.vault import Vault
from support.hub import Hub


def start(hub: Hub, token: str, name: str) -> str:
    """``POST api/connections/<name>/sign-in`` with ``token``: Box's authorize URL."""
    answer = hub.service(token).post(hub.service_url + f"api/connections/{name}/sign-in", json={})
    assert answer.status_code == 200, answer.text
    url: str = answer.json()["authorization_url"]
    return url


def grant(emu: BoxEmulator, authorize_url: str, user: User | None = None) -> str:
    """Box's consent granted (as ``user``, Ada by default): the address Box redirects to."""
    return emu.authorize(authorize_url, user=user)


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


def code_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["code"][0]


def open_callback(browser: requests.Session, location: str) -> requests.Response:
    """Box's redirect opened in a browser (redirects followed: the hub's OAuth, if needed)."""
    return browser.get(location, timeout=60)


def connect(
    hub: Hub, emu: BoxEmulator, hub_user: str, name: str, box_user: User | None = None
) -> str:
    """A connection made the whole way (sign-in, grant, callback); the user's API token."""
    token = hub.token(hub_user)
    location = grant(emu, start(hub, token, name), box_user)
    page = open_callback(hub.login(hub_user), location)
    assert page.status_code == 200, page.text
    return token


def api(hub: Hub, token: str, method: str, path: str, **kwargs: Any) -> requests.Response:
    """A call to the service's API (``path`` under its prefix) with ``token``."""
    return hub.service(token).request(method, hub.service_url + path, timeout=60, **kwargs)


def vault_of(hub: Hub, hub_user: str) -> Vault:
    """The service's vault of ``hub_user``, opened with the service's key (its key file)."""
    key, _ = load_key(hub.service_home, create=False)
    return Vault(hub.service_home / "users" / folder_name(hub_user), key=(key, "hub"))
