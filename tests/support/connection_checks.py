"""Helpers of the connection tests (``test_connection``, ``test_authorize``, ``test_tokens``,
``test_session``, ``test_oauth``, ``test_transport``; the hardening suite uses them too): a
connection through the emulator, the vault's view of it, and checks that no secret leaks."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from box_widget import BoxConnection
from box_widget.emulator import BoxEmulator
from box_widget.emulator.content import User
from box_widget.vault import Vault
from support import emulator_flow
from support.emulator_flow import CALLBACK, new_connection
from support.secret_scan import emulator_secrets

REDIRECT_URI = CALLBACK


NAME = "work"


DAY = 24 * 3600


TIMEOUT = 10


STATE = re.compile(r"[A-Za-z0-9_-]{43,}")  # token_urlsafe(32): 43 characters


#: No real keyring, no credentials or endpoints from the environment; and afterwards, no
#: process-wide switch to plain HTTP left behind by the code under test (conftest.py).


def make(emu: BoxEmulator, home: Path, name: str = NAME, **overrides: Any) -> BoxConnection:
    """A connection for the emulator's demo app (not connected yet)."""
    return new_connection(emu, home, name, **overrides)


def connect(emu: BoxEmulator, home: Path, name: str = NAME, **overrides: Any) -> BoxConnection:
    """A connection that went through the headless flow, granted by Ada."""
    return emulator_flow.connect(emu, home, name, **overrides)


def mini(user: dict[str, Any] | User) -> dict[str, Any]:
    """A user's id, name and login."""
    if isinstance(user, User):
        return {"id": user.id, "name": user.name, "login": user.login}
    return {k: user[k] for k in ("id", "name", "login")}


def record(home: Path, name: str = NAME) -> dict[str, Any]:
    """The connection's record as saved in the vault."""
    saved = Vault(home).load(name)
    assert saved is not None, f"connection {name!r} is not in the vault"
    return saved


def stored_token(home: Path, name: str = NAME) -> dict[str, Any]:
    """The connection's token as saved in the vault."""
    token: dict[str, Any] = record(home, name)["token"]
    return token


def age_token(home: Path, remaining: float, name: str = NAME) -> None:
    """Make the saved access token look, to the client, as if it expires in ``remaining`` s.

    The client reads real time; this is how the tests move its clock without sleeping (a new
    ``BoxConnection`` then reads the aged token)."""
    vault = Vault(home)
    with vault.lock(name):
        saved = vault.load(name)
        assert saved is not None
        saved["token"]["expires_at"] = time.time() + remaining
        vault.save(name, saved)


def counters(emu: BoxEmulator) -> dict[str, Any]:
    return emu.counters()


def api_calls(emu: BoxEmulator) -> int:
    return int(emu.counters()["api_calls"])


#: Every secret the emulator knows (app secrets, codes, access and refresh tokens).
issued_secrets = emulator_secrets


def assert_clean(emu: BoxEmulator, *texts: str, extra: tuple[str, ...] = ()) -> None:
    """None of the emulator's secrets (nor ``extra``) appears in ``texts``."""
    secrets = issued_secrets(emu) | set(extra)
    assert secrets, "no secret to look for"
    leaked = sorted({s[:6] + "..." for s in secrets for t in texts if s in t})
    assert not leaked, f"secrets leaked (shown truncated): {leaked}"


@contextmanager
def raises_clean(
    emu: BoxEmulator,
    kind: type[BaseException] | tuple[type[BaseException], ...],
    match: str | None = None,
    extra: tuple[str, ...] = (),
) -> Iterator[Any]:
    """``pytest.raises``, then check that the error, as a user would see it printed (message,
    repr, the whole traceback), holds no secret, token or code."""
    with pytest.raises(kind, match=match) as info:
        yield info
    exc = info.value
    shown = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    assert_clean(emu, str(exc), repr(exc), shown, extra=extra)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def use_refresh_token(emu: BoxEmulator, refresh_token: str) -> requests.Response:
    """Spend a refresh token at the emulator ourselves."""
    return requests.post(
        emu.endpoints.token_url,
        timeout=TIMEOUT,
        data={
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": emu.app.client_id,
            "client_secret": emu.app.client_secret,
        },
    )


def run_child(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    """Run ``script`` in a new Python process; its standard output."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env or dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout
