"""A flood of OAuth callbacks with unknown states, and a status poller beside it, against a running
Jupyter server. Each is a process of its own, as an attacker and a browser tab would be.

Used by ``tests/hardening/test_callback_attacks.py`` (what must hold) and ``bench/flood.py``
(how long the status API takes meanwhile).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

FLOOD = r"""
import asyncio, json, sys, time
port, target, header, count = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])

async def flood():
    # Open every connection first, then send a callback on each at once: all held together.
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(count)]
    sending = time.time()
    for n, (_, writer) in enumerate(streams):
        state = f"unknown-{n}-" + "s" * 40
        writer.write(f"GET {target}?code=c{n}&state={state} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     f"{header}Connection: close\r\n\r\n".encode())
    statuses = []
    for reader, writer in streams:
        line = await asyncio.wait_for(reader.readline(), 60)
        statuses.append(int(line.split()[1]))
        await reader.read()
        writer.close()
    return {"sending": sending, "done": time.time(), "statuses": statuses}

print(json.dumps(asyncio.run(flood())))
"""
WATCH = r"""
import http.client, json, sys, time
from pathlib import Path
port, target, token, pending, stop = sys.argv[1:6]
polls, counts = [], []  # (wall-clock start, wall-clock end, status) of each poll
# One kept-alive connection, as a browser tab polls: it never waits in the listen queue that
# the flood fills (a new connection would, and the kernel retries a dropped SYN after 1 s).
conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=10)
print("watching", flush=True)
while not Path(stop).exists():
    started = time.time()
    conn.request("GET", target, headers={"Authorization": token})
    answer = conn.getresponse()
    answer.read()
    polls.append((started, time.time(), answer.status))
    counts.append(len(list(Path(pending).glob("*.box"))))
    time.sleep(0.005)
print(json.dumps({"polls": polls, "counts": counts}))
"""


def python(script: str, *args: str) -> subprocess.Popen[str]:
    """``script`` in a new interpreter (this one's), its stdout piped."""
    return subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ),
    )


def start_watcher(
    port: int, status_path: str, authorization: str, pending: Path, stop: Path
) -> subprocess.Popen[str]:
    """The poller, once it is about to send its first poll of ``status_path``; it counts the
    records in ``pending`` after each poll and stops when the file ``stop`` exists."""
    watcher = python(WATCH, str(port), status_path, authorization, str(pending), str(stop))
    assert watcher.stdout is not None
    line = watcher.stdout.readline().strip()
    if line != "watching":
        end([watcher])
        msg = f"the status poller did not start: {line!r}"
        raise RuntimeError(msg)
    return watcher


def start_flood(
    port: int, callback_path: str, headers: dict[str, str], count: int
) -> subprocess.Popen[str]:
    """``count`` callbacks with unknown states sent at once; ``finish`` gives its outcome."""
    header = "".join(f"{key}: {value}\r\n" for key, value in headers.items())
    return python(FLOOD, str(port), callback_path, header, str(count))


def finish(child: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    """What a flood or a stopped watcher printed, once it has exited with 0."""
    out, _ = child.communicate(timeout=timeout)
    if child.returncode != 0:
        msg = f"exited with {child.returncode}: {out[-500:]}"
        raise RuntimeError(msg)
    result: dict[str, Any] = json.loads(out)
    return result


def stop_watcher(watcher: subprocess.Popen[str], stop: Path) -> dict[str, Any]:
    """Stop the poller: its polls (start, end, status) and the pending counts it saw."""
    stop.touch()
    return finish(watcher, timeout=30)


def polls_during(polls: Iterable[list[Any]], attack: dict[str, Any]) -> list[float]:
    """The seconds taken by each poll that overlaps the flood (from the attacker's first byte
    sent to its last answer read), sorted."""
    return sorted(
        end - begin
        for begin, end, _ in polls
        if end >= attack["sending"] and begin <= attack["done"]
    )


def end(children: Iterable[subprocess.Popen[str]]) -> None:
    """Kill each child that is still running, by its pid, and reap it."""
    for child in children:
        if child.poll() is None:
            child.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(10)
