"""Refresh at scale through the hub service: many kernels pulling one connection's tokens
while they expire, one refresh per expiry; the keep-alive of old refresh tokens; a refresh
Box refuses marks the connection "sign in again"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest
from support.hub import Hub
from support.hub_flow import api, connect, vault_of

from box_widget import audit, form_words
from box_widget.emulator import BoxEmulator
from box_widget.records import SIGNED_OUT

#: What a kernel in hub mode shows of connection "gone".
SAYS = """
import json
from box_widget import BoxConnection, BoxWidgetError
conn = BoxConnection("gone")
try:
    conn.test_connection()
    error = ""
except BoxWidgetError as exc:
    error = str(exc)
form = conn.form
print(json.dumps({"signed_out": conn.summary().signed_out, "error": error,
                  "form": [form.message, form.signed_out, form.state]}))
"""
LIFETIME = 2  # seconds: the emulator's access tokens in the storm
THREADS = 50
ROUNDS = 12  # pulls per thread, spread over a few token generations


@pytest.fixture
def short_tokens(emu: BoxEmulator) -> Iterator[None]:
    """Access tokens that live ``LIFETIME`` seconds, for this test only."""
    emu.settings.update({"access_token_lifetime": LIFETIME})
    try:
        yield
    finally:
        emu.settings.update({"access_token_lifetime": 3600})


@pytest.mark.usefixtures("short_tokens")
def test_fifty_kernels_pull_while_tokens_expire(hub: Hub, emu: BoxEmulator) -> None:
    token = connect(hub, emu, "storm-user", "storm")
    before = emu.counters()
    first = vault_of(hub, "storm-user").load("storm")
    assert first is not None
    # The sign-in's token may expire before any kernel asks: count it as handed out.
    seen: set[str] = {first["token"]["access_token"]}
    failures: list[str] = []
    stale: list[float] = []
    guard = threading.Lock()
    go = threading.Barrier(THREADS)

    def kernel() -> None:
        session = hub.service(token)
        go.wait()
        for _ in range(ROUNDS):
            sent = time.time()
            try:
                answer = session.post(
                    hub.service_url + "api/connections/storm/token", json={}, timeout=60
                )
            except Exception as exc:
                with guard:
                    failures.append(type(exc).__name__)
                continue
            with guard:
                if answer.status_code != 200:
                    failures.append(f"{answer.status_code} {answer.text[:200]}")
                    continue
                body = answer.json()
                seen.add(body["access_token"])
                if body["expires_at"] <= sent:  # expired before it was even asked for
                    stale.append(body["expires_at"] - sent)
            time.sleep(0.25)

    threads = [threading.Thread(target=kernel) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(100)
    assert not any(t.is_alive() for t in threads)
    after = emu.counters()
    refreshes = after["refreshes"] - before["refreshes"]
    assert failures == []
    assert stale == []
    assert after["failed_refreshes"] == before["failed_refreshes"]  # no refresh token reused
    assert after["reused_refreshes"] == before["reused_refreshes"]
    assert refreshes >= 1  # the tokens did expire during the pulls
    # One refresh per expiry: every refresh made a token that was handed out, none wasted.
    assert refreshes == len(seen) - 1, (refreshes, len(seen))
    events = api(hub, token, "GET", "api/connections/storm/audit").json()["events"]
    assert [e["event"] for e in events].count("refresh") == refreshes


def test_keep_alive_refreshes_an_old_refresh_token(hub: Hub, emu: BoxEmulator) -> None:
    connect(hub, emu, "summer", "old")
    connect(hub, emu, "summer", "young")
    vault = vault_of(hub, "summer")
    long_ago = time.time() - 46 * 86400  # older than keepalive_days (45)
    with vault.lock("old"):
        record = vault.load("old")
        assert record is not None
        vault.save("old", {**record, "connected_at": long_ago})
    young = vault.load("young")
    assert young is not None
    deadline = time.monotonic() + 60  # the service looks every second
    while True:
        record = vault.load("old")
        assert record is not None
        if record.get("refreshed_at"):
            break
        assert time.monotonic() < deadline, "the keep-alive never refreshed the old connection"
        time.sleep(0.2)
    assert record["refreshed_at"] > long_ago + 45 * 86400
    assert record["token"]["refresh_token"] != young["token"]["refresh_token"]
    # The young one is left alone, round after round.
    assert vault.load("young") == young
    kinds = [e["event"] for e in audit.read(vault.home, "old")]
    assert kinds == ["connect", "refresh"]


def as_user_side(hub: Hub, token: str, *args: str) -> str:
    """``python ARGS`` (``-c`` code, or ``-m`` module) as in a user's kernel or terminal on
    the hub: hub mode from ``BOX_WIDGET_HUB_URL`` and the user's hub API token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BOX_", "JUPYTERHUB_"))}
    env.update(BOX_WIDGET_HUB_URL=hub.service_url, JUPYTERHUB_API_TOKEN=token)
    command = [sys.executable, *(("-c", args[0]) if len(args) == 1 else args)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_refused_refresh_says_sign_in_again(hub: Hub, emu: BoxEmulator) -> None:
    token = connect(hub, emu, "lapsed", "gone")
    vault = vault_of(hub, "lapsed")
    record = vault.load("gone")
    assert record is not None
    refresh_token = record["token"]["refresh_token"]
    with emu.state.oauth.lock:  # Box forgets it (60 days unused, or revoked in Box's settings)
        emu.state.oauth.refresh_tokens[refresh_token].revoked = True
    with vault.lock("gone"):
        vault.save("gone", {**record, "token": {**record["token"], "expires_at": 0.0}})
    answer = api(hub, token, "POST", "api/connections/gone/token", json={})
    assert answer.status_code == 409
    assert answer.json()["error"] == "reauthorization_required"
    summary = api(hub, token, "GET", "api/connections/gone").json()
    assert summary["connected"] is False and summary["signed_out_at"] > 0
    assert summary["user"]["login"]  # which Box account to sign in as again
    # A kernel and a terminal of that user (hub mode: the service's summary) say so.
    said = json.loads(as_user_side(hub, token, SAYS))
    assert said["signed_out"] and said["form"] == [form_words.SIGNED_OUT, True, "new"]
    assert SIGNED_OUT in said["error"]
    assert SIGNED_OUT in as_user_side(hub, token, "-m", "box_widget.cli", "list")
    again = api(hub, token, "POST", "api/connections/gone/token", json={})
    assert again.status_code == 409 and again.json()["error"] == "reauthorization_required"
    kinds = [
        e["event"] for e in api(hub, token, "GET", "api/connections/gone/audit").json()["events"]
    ]
    assert kinds[-1] == "reauthorization-required"
