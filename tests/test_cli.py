"""The ``box-widget`` command: help, and the emulator in a process of its own."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

COMMAND = [sys.executable, "-m", "box_widget.cli"]


def test_help_lists_the_commands() -> None:
    result = subprocess.run([*COMMAND, "--help"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0
    assert "emulator" in result.stdout
    result = subprocess.run(
        [*COMMAND, "emulator", "--help"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    assert "--port" in result.stdout


@pytest.mark.parametrize("command", ["demo", "emulator", "login", "list", "revoke"])
def test_every_command_has_help_with_the_exit_codes(command: str) -> None:
    result = subprocess.run(
        [*COMMAND, command, "--help"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    assert result.stdout.startswith(f"usage: box-widget {command}")
    assert "exit codes:" in result.stdout
    assert "130  interrupted" in result.stdout


def test_unknown_command_fails_with_usage() -> None:
    result = subprocess.run([*COMMAND, "nonsense"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "usage:" in result.stderr


def ignore_sigint() -> None:
    """Start the child as a shell's background job is started: with SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def read_endpoints(process: subprocess.Popen[str], deadline: float) -> dict[str, str]:
    """The ``export NAME=value`` lines the emulator prints, once the Users line shows it is
    ready."""
    assert process.stdout is not None
    found: dict[str, str] = {}
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        name, sep, value = line.strip().removeprefix("export ").partition("=")
        if sep and name.startswith("BOX_"):
            found[name] = value
        if line.startswith("Users:"):
            return found
    pytest.fail(f"the emulator printed no endpoints; got {found}")


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_emulator_command_serves_until_stopped(signum: signal.Signals) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [*COMMAND, "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        preexec_fn=ignore_sigint,
    )
    try:
        found = read_endpoints(process, time.monotonic() + 30)
        assert set(found) >= {
            "BOX_AUTHORIZE_URL",
            "BOX_TOKEN_URL",
            "BOX_REVOKE_URL",
            "BOX_API_URL",
            "BOX_UPLOAD_URL",
            "BOX_CLIENT_ID",
            "BOX_CLIENT_SECRET",
        }
        me = requests.get(f"{found['BOX_API_URL']}/users/me", timeout=10)
        assert me.status_code == 401
        token = requests.post(
            found["BOX_TOKEN_URL"],
            timeout=10,
            data={
                "grant_type": "client_credentials",
                "client_id": found["BOX_CLIENT_ID"],
                "client_secret": found["BOX_CLIENT_SECRET"],
                "box_subject_type": "enterprise",
                "box_subject_id": "900001",
            },
        )
        assert token.status_code == 200, token.text
        process.send_signal(signum)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


@pytest.mark.parametrize("command", ["emulator", "demo"])
def test_a_busy_port_is_a_usage_error_that_says_what_to_do(command: str, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*COMMAND, command, "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
            cwd=tmp_path,
        )
    assert result.returncode == 2
    assert "--port 0" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # the demo gave up before copying anything
