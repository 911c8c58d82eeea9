"""``box-widget login | list | revoke`` in processes of their own, against the emulator."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support.terminal_signals import as_typed

from box_widget.emulator import BoxEmulator

COMMAND = [sys.executable, "-m", "box_widget.cli"]
CALLBACK = "http://127.0.0.1:8888/box-widget/oauth2/callback"


@pytest.fixture
def cli_env(emulator: BoxEmulator, tmp_path: Path) -> dict[str, str]:
    """A child environment pointing box-widget at the emulator and a vault in tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOX_")}
    return {
        **env,
        **emulator.endpoints.to_env(),
        "PYTHONUNBUFFERED": "1",
        "BOX_WIDGET_HOME": str(tmp_path / "vault"),
        "BOX_WIDGET_KEYRING": "0",
        "BOX_CLIENT_ID": emulator.app.client_id,
        "BOX_CLIENT_SECRET": emulator.app.client_secret,
        "BOX_REDIRECT_URI": CALLBACK,
    }


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, env=env, timeout=60)


def login(
    emu: BoxEmulator, env: dict[str, str], name: str, *, advance: float = 0, grant: bool = True
) -> tuple[int, str, str]:
    """Run ``box-widget login``: read the printed address, consent, paste where Box went."""
    process = subprocess.Popen(
        [*COMMAND, "login", name],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None and process.stdin is not None
        url = ""
        for _ in range(20):
            line = process.stdout.readline()
            if line.strip().startswith("http"):
                url = line.strip()
                break
        assert url.startswith(emu.endpoints.authorize_url), url
        location = emu.authorize(url, grant=grant)
        emu.clock.advance(advance)
        out, err = process.communicate(location + "\n", timeout=60)
        return process.returncode, out, err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_login_list_revoke(emulator: BoxEmulator, cli_env: dict[str, str]) -> None:
    code, out, err = login(emulator, cli_env, "work")
    assert code == 0, err
    assert "Connected 'work' to Box as Ada Lovelace (ada@example.com)." in out
    listing = run(cli_env, "list")
    assert listing.returncode == 0
    lines = listing.stdout.splitlines()
    assert (
        lines[0] == f"Vault: {cli_env['BOX_WIDGET_HOME']} (key: file, vault.key in the "
        "vault folder)"
    )
    assert re.fullmatch(r"NAME\s+BOX LOGIN\s+ACCESS TOKEN\s+KIND", lines[1])
    assert re.fullmatch(r"work\s+ada@example\.com\s+expires in 59 min\s+oauth", lines[2])
    for secret in (emulator.app.client_secret,):
        assert secret not in listing.stdout + out + err
    revoked = run(cli_env, "revoke", "work")
    assert revoked.returncode == 0, revoked.stderr
    assert emulator.counters()["revocations"] >= 1
    assert "No saved connections." in run(cli_env, "list").stdout
    again = run(cli_env, "revoke", "work")
    assert again.returncode == 1
    assert "no saved connection 'work'; `box-widget list` shows the saved ones" in again.stderr


def test_login_too_late_says_the_code_expired(
    emulator: BoxEmulator, cli_env: dict[str, str]
) -> None:
    code, _, err = login(emulator, cli_env, "late", advance=31)
    assert code == 1
    assert "The authorization code expired" in err
    assert "The authorization code has expired" in err  # what Box said
    assert "for 30 seconds" in err
    assert "box-widget login late" in err  # what to do
    assert "Traceback" not in err
    assert "No saved connections." in run(cli_env, "list").stdout


def test_login_interrupted_exits_130(cli_env: dict[str, str]) -> None:
    process = subprocess.Popen(
        [*COMMAND, "login", "work"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli_env,
        preexec_fn=as_typed(),  # Ctrl-C reaches it, however this test was started
    )
    try:
        assert process.stdout is not None
        while "paste it here" not in process.stdout.readline():
            assert process.poll() is None
        process.send_signal(signal.SIGINT)  # while it waits for the pasted address
        _, err = process.communicate(timeout=30)
        assert process.returncode == 130
        assert "interrupted" in err
        assert "Traceback" not in err
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def test_list_says_how_an_expired_token_renews(
    emulator: BoxEmulator, cli_env: dict[str, str]
) -> None:
    emulator.settings.access_token_lifetime = 1
    assert login(emulator, cli_env, "work")[0] == 0
    time.sleep(1.5)
    lines = run(cli_env, "list").stdout.splitlines()
    assert re.fullmatch(
        r"work\s+ada@example\.com\s+expired, refreshed on next use\s+oauth", lines[2]
    ), lines


def test_login_declined(emulator: BoxEmulator, cli_env: dict[str, str]) -> None:
    code, _, err = login(emulator, cli_env, "no", grant=False)
    assert code == 1
    assert "access_denied" in err


def test_login_without_an_app_names_what_is_missing(cli_env: dict[str, str]) -> None:
    env = {k: v for k, v in cli_env.items() if k not in {"BOX_CLIENT_ID", "BOX_CLIENT_SECRET"}}
    result = run(env, "login", "work")
    assert result.returncode == 2
    assert "BOX_CLIENT_ID" in result.stderr and "BOX_CLIENT_SECRET" in result.stderr
    # worded for the command line: its options, not the Python API's arguments
    assert "--client-id" in result.stderr and "box-widget emulator" in result.stderr
    assert "client_id=" not in result.stderr and "Traceback" not in result.stderr


def test_login_with_nothing_pasted(cli_env: dict[str, str]) -> None:
    result = subprocess.run(
        [*COMMAND, "login", "work"],
        input="\n",
        capture_output=True,
        text=True,
        env=cli_env,
        timeout=60,
    )
    assert result.returncode == 1
    assert "nothing changed" in result.stderr


def test_bad_connection_name_is_a_usage_error(cli_env: dict[str, str]) -> None:
    result = run(cli_env, "revoke", "../etc")
    assert result.returncode == 2
    assert "not a valid connection name" in result.stderr


def test_list_shows_an_unreadable_record_and_the_others(
    emulator: BoxEmulator, cli_env: dict[str, str]
) -> None:
    assert login(emulator, cli_env, "work")[0] == 0
    broken = Path(cli_env["BOX_WIDGET_HOME"]) / "connections" / "broken.box"
    broken.write_bytes(b"not a vault record")
    listing = run(cli_env, "list")
    assert listing.returncode == 1
    lines = listing.stdout.splitlines()
    assert re.fullmatch(r"broken\s+-\s+unreadable \(see below\)\s+-", lines[2]), lines
    assert re.fullmatch(r"work\s+ada@example\.com\s+expires in \d+ min\s+oauth", lines[3]), lines
    assert "cannot be read" in listing.stderr and "Traceback" not in listing.stderr
    assert broken.read_bytes() == b"not a vault record"  # left untouched


@pytest.mark.parametrize("before", ["missing", "empty"])
@pytest.mark.parametrize("command", [["list"], ["audit"], ["audit", "work"]])
def test_read_only_commands_create_nothing(
    cli_env: dict[str, str], tmp_path: Path, before: str, command: list[str]
) -> None:
    """``list`` and ``audit`` only read: on a vault folder that is missing or empty they make
    no folder, no key file, no lock."""
    home = Path(cli_env["BOX_WIDGET_HOME"])
    if before == "empty":
        home.mkdir(mode=0o700)
    result = run(cli_env, *command)
    assert result.returncode == 0, result.stderr
    if before == "missing":
        assert not home.exists()
    else:
        assert list(home.iterdir()) == []
    if command == ["list"]:
        assert result.stdout.splitlines() == [
            f"Vault: {home} (key: none, none yet, made when a first connection is saved)",
            "No saved connections.",
        ]
