"""From ``box-widget emulator`` to ``box-widget login``, as a person at a shell goes: the lines
the emulator prints, pasted into bash as they are, then ``login`` with its options, and the
Client Secret typed at a prompt that does not echo it (in a real pseudo-terminal)."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import shutil
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from box_widget import BoxConnection
from box_widget.emulator import BoxEmulator
from box_widget.emulator.consent import consent

PYTHON = sys.executable
BASH = shutil.which("bash") or "/bin/bash"
CALLBACK = "http://127.0.0.1:8888/box-widget/oauth2/callback"


def plain_env(tmp_path: Path) -> dict[str, str]:
    """This environment without any BOX_* setting, with a vault in tmp_path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOX_")}
    return {
        **env,
        "PYTHONUNBUFFERED": "1",
        "BOX_WIDGET_HOME": str(tmp_path / "vault"),
        "BOX_WIDGET_KEYRING": "0",
    }


def printed_by_the_emulator(env: dict[str, str]) -> tuple[subprocess.Popen[str], list[str]]:
    """``box-widget emulator --port 0`` running, and what it printed up to its Users line."""
    process = subprocess.Popen(
        [PYTHON, "-m", "box_widget.cli", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("Users:"):
            return process, lines
    process.kill()
    process.wait(10)
    pytest.fail(f"the emulator stopped before it was ready; it printed {lines}")


def paste_the_address(process: subprocess.Popen[str], user_id: str) -> tuple[str, str]:
    """Read the authorize address ``login`` prints, consent as ``user_id`` over HTTP, paste
    the address Box redirected to; what ``login`` then printed (stdout, stderr)."""
    assert process.stdout is not None
    url = ""
    while not url.startswith("http"):
        line = process.stdout.readline()
        assert line, f"login printed no address; stderr: {process.communicate()[1]}"
        url = line.strip()
    location = consent(url, user_id=user_id)
    return process.communicate(location + "\n", timeout=60)


def test_the_emulators_lines_pasted_into_bash_let_login_complete(tmp_path: Path) -> None:
    env = plain_env(tmp_path)
    emulator, printed = printed_by_the_emulator(env)
    try:
        pasted = [line for line in printed if "export " in line]
        names = {line.split()[1].partition("=")[0] for line in pasted}
        assert names >= {"BOX_CLIENT_ID", "BOX_CLIENT_SECRET", "BOX_REDIRECT_URI", "BOX_API_URL"}
        script = "".join(pasted) + f"exec {PYTHON} -m box_widget.cli login work\n"
        login = subprocess.Popen(
            [BASH, "-c", script],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        out, err = paste_the_address(login, "20000002")
        assert login.returncode == 0, err
        assert "Connected 'work' to Box as Grace Hopper (grace@example.com)." in out
    finally:
        emulator.terminate()
        emulator.wait(15)


def test_login_takes_the_app_from_its_options(emulator: BoxEmulator, tmp_path: Path) -> None:
    env = {**plain_env(tmp_path), **emulator.endpoints.to_env()}
    env["BOX_CLIENT_SECRET"] = emulator.app.client_secret
    login = subprocess.Popen(
        [
            *(PYTHON, "-m", "box_widget.cli", "login", "work"),
            *("--client-id", emulator.app.client_id, "--redirect-uri", CALLBACK),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    out, err = paste_the_address(login, emulator.user.id)
    assert login.returncode == 0, err
    assert "Connected 'work' to Box as Ada Lovelace" in out
    saved = BoxConnection("work", home=tmp_path / "vault")
    assert (saved.client_id, saved.redirect_uri) == (emulator.app.client_id, CALLBACK)


def read_until(fd: int, wanted: str, seen: list[str], timeout: float = 30) -> None:
    """Read the pseudo-terminal into ``seen`` until ``wanted`` appears."""
    deadline = time.monotonic() + timeout
    while wanted not in "".join(seen):
        assert time.monotonic() < deadline, f"never printed {wanted!r}: {''.join(seen)!r}"
        if select.select([fd], [], [], 0.5)[0]:
            with contextlib.suppress(OSError):
                seen.append(os.read(fd, 4096).decode(errors="replace"))


def make_controlling_terminal() -> None:
    """In the child, after its new session: its standard input becomes its terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_login_in_a_terminal_asks_for_the_secret_without_echoing_it(
    emulator: BoxEmulator, tmp_path: Path
) -> None:
    env = {**plain_env(tmp_path), **emulator.endpoints.to_env()}
    env.update(BOX_CLIENT_ID=emulator.app.client_id, BOX_REDIRECT_URI=CALLBACK)
    main, child = pty.openpty()
    login = subprocess.Popen(
        [PYTHON, "-m", "box_widget.cli", "login", "work"],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
        start_new_session=True,
        preexec_fn=make_controlling_terminal,
    )
    os.close(child)
    seen: list[str] = []
    try:
        read_until(main, "Client Secret of the Box app (not shown): ", seen)
        os.write(main, emulator.app.client_secret.encode() + b"\n")
        read_until(main, "paste it here", seen)
        url = next(w for w in "".join(seen).split() if w.startswith(emulator.url))
        os.write(main, consent(url, user_id=emulator.user.id).encode() + b"\n")
        read_until(main, "Connected 'work'", seen)
        assert login.wait(30) == 0
    finally:
        if login.poll() is None:
            login.kill()
            login.wait(10)
        os.close(main)
    assert emulator.app.client_secret not in "".join(seen)  # typed, never echoed
    assert "Connected 'work' to Box as Ada Lovelace" in "".join(seen)
