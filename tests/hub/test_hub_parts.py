"""The service's parts that need no hub: hub users' folder names, the keep-alive's rule."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from box_widget.hub.keepalive import due, issued_at
from box_widget.hub.users import HubVaults, folder_name

DAY = 86400.0


@pytest.mark.parametrize(
    ("hub_user", "folder"),
    [
        ("alice", "alice"),
        ("ana.maria@uni.edu", "ana.maria%40uni.edu"),
        ("..", "%2E."),
        (".hidden", "%2Ehidden"),
        ("a/b", "a%2Fb"),
        ("ünï", "%C3%BCn%C3%AF"),
    ],
)
def test_a_hub_user_folder_stays_inside_users(hub_user: str, folder: str) -> None:
    assert folder_name(hub_user) == folder


def test_every_hub_user_gets_a_vault_of_their_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BOX_WIDGET_KEY", raising=False)
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    vaults = HubVaults(tmp_path / "service")
    for hub_user in ("ana.maria@uni.edu", "..", "bob"):
        vaults.for_user(hub_user).add_pending(
            f"state-of-{hub_user}",
            {
                "name": "work",
                "client_id": "app",
                "client_secret": None,
                "redirect_uri": "https://hub/services/box-widget/oauth2/callback",
                "endpoints": {},
                "hub_user": hub_user,
            },
        )
    assert vaults.users() == ["..", "ana.maria@uni.edu", "bob"]
    assert sorted(p.name for p in (tmp_path / "service" / "users").iterdir()) == [
        "%2E.",
        "ana.maria%40uni.edu",
        "bob",
    ]
    assert vaults.pending_elsewhere("bob", "state-of-..")
    assert not vaults.pending_elsewhere("..", "state-of-..")
    assert not vaults.pending_elsewhere("bob", "state-of-nobody")
    # One key for all: the service's (a file in its home, as BOX_WIDGET_KEY is unset).
    assert (tmp_path / "service" / "vault.key").is_file()
    assert not (tmp_path / "service" / "users" / "bob" / "vault.key").exists()


def _record(**fields: Any) -> dict[str, Any]:
    token = {"access_token": "a" * 20, "refresh_token": "r" * 20, "expires_in": 3600.0}
    return {"kind": "oauth", "token": {**token, "expires_at": 0.0}, **fields}


def test_keep_alive_counts_a_refresh_tokens_age_from_its_issue() -> None:
    now = time.time()
    signed_in_long_ago = _record(connected_at=now - 50 * DAY)
    refreshed_lately = _record(connected_at=now - 50 * DAY, refreshed_at=now - 2 * DAY)
    assert issued_at(refreshed_lately) == now - 2 * DAY  # type: ignore[arg-type]
    assert due(signed_in_long_ago, 45 * DAY, now)  # type: ignore[arg-type]
    assert not due(refreshed_lately, 45 * DAY, now)  # type: ignore[arg-type]
    assert not due(_record(connected_at=now - 44 * DAY), 45 * DAY, now)  # type: ignore[arg-type]
    no_refresh_token = _record(connected_at=now - 50 * DAY)
    del no_refresh_token["token"]["refresh_token"]
    assert not due(no_refresh_token, 45 * DAY, now)  # type: ignore[arg-type]
    signed_out = {"kind": "oauth", "connected_at": now - 50 * DAY}
    assert not due(signed_out, 45 * DAY, now)  # type: ignore[arg-type]
    assert not due(None, 45 * DAY, now)
