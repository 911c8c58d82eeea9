"""Helpers of the vault tests (``test_vault``, ``test_keys``, and the hardening suite's): file
modes and contents, and child processes that use a vault, killed and reaped on the way out."""

from __future__ import annotations

import os
import select
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` and its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def child_env(key: str | None = None) -> dict[str, str]:
    """The environment of a child process using the vault: the key in BOX_WIDGET_KEY, or the
    key file when ``key`` is None; never the OS keyring."""
    env = {k: v for k, v in os.environ.items() if k not in {"BOX_WIDGET_KEY", "BOX_WIDGET_HOME"}}
    env["BOX_WIDGET_KEYRING"] = "0"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    if key is not None:
        env["BOX_WIDGET_KEY"] = key
    return env


@contextmanager
def child(code: str, *args: str, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A Python child process running ``code``; killed and reaped on the way out, always."""
    with child_command([sys.executable, "-c", code, *args], env=env) as process:
        yield process


@contextmanager
def child_command(command: list[str], *, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """A child process running ``command``, its stdin, stdout and stderr piped; killed and
    reaped on the way out, always."""
    process = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=REPO,
        bufsize=0,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        for stream in (process.stdin, process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def read_line(process: subprocess.Popen[bytes], timeout: float) -> str:
    """The child's next line of output, waiting at most ``timeout`` seconds for it."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        ready, _, _ = select.select([process.stdout], [], [], max(0.0, left))
        if not ready:
            pytest.fail(f"the child printed nothing within {timeout} s (got {line!r})")
        byte = process.stdout.read(1)
        if not byte:
            err = process.stderr.read().decode() if process.stderr else ""
            pytest.fail(f"the child ended before printing a line (got {line!r}):\n{err}")
        line += byte
    return line.decode().strip()


def finish(process: subprocess.Popen[bytes], timeout: float) -> None:
    """Wait for a child to end by itself, successfully."""
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail(f"a child process did not finish within {timeout} s")
    err = process.stderr.read().decode() if process.stderr else ""
    assert process.returncode == 0, err
