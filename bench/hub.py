"""The hub service: token pulls by many simulated kernels, and 1,000 users' connections.

A real JupyterHub with its proxy and box-widget's service (``tests/support/hub.py``), the
emulator as Box with short-lived access tokens. ``kernels`` simulated kernels (threads, spread
over several processes so that the client's own GIL does not make the service look slow) pull
access tokens through the proxy for ``seconds``, each for one of ``users`` hub users'
connection, ``pause`` seconds apart (a real kernel asks again only when its token nears expiry:
this is far more often). Each pull's wall time is a sample (p95: goal < 20 ms on loopback).
Refreshes per expiry: Box's (the emulator's) refreshes divided by the token generations the
kernels were handed (new access tokens seen, per connection): 1.00 means every refresh was
needed and none was repeated.
Then ``connections`` connections of as many hub users are written into the service's vault, the
admin listing reads them all, and the service's resident memory and the CPU time of that one
listing are read from the OS.

``python -m bench --only hub`` (or alone: ``python -m bench.hub``). Needs
``configurable-http-proxy`` on PATH (``.ci/run`` installs it).
"""

from __future__ import annotations

import multiprocessing
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

from box_widget.emulator import BoxEmulator
from box_widget.keys import load_key
from box_widget.records import RECORD_VERSION
from box_widget.vault import Vault

from . import Unavailable, use_test_helpers

use_test_helpers()
from support.hub import (  # noqa: E402
    ADMIN_USER,
    box_for_hub,
    free_port,
    service_box_env,
    start_hub,
)
from support.hub_flow import connect  # noqa: E402

PROCESSES = 8


def _pull(
    args: tuple[str, int, float, float, int],
) -> tuple[list[float], list[tuple[int, str]], int]:
    """One process's kernels: ``threads`` threads pulling until ``deadline`` (epoch seconds),
    ``pause`` seconds apart, kernel ``first + i`` with user ``(first + i) % users``'s (token URL,
    API token) pair; latencies, (user, token) pairs seen, failures."""
    url_tokens, threads, deadline, pause, first = args
    pairs = [tuple(pair.split(" ", 1)) for pair in url_tokens.split("\n")]
    latencies: list[float] = []
    seen: list[tuple[int, str]] = []
    failures = 0
    guard = threading.Lock()

    def kernel(index: int) -> None:
        nonlocal failures
        user = index % len(pairs)
        url, token = pairs[user]
        session = requests.Session()
        session.headers["Authorization"] = f"token {token}"
        while time.time() < deadline:
            started = time.perf_counter()
            try:
                answer = session.post(url, json={}, timeout=60)
                ok = answer.status_code == 200
            except requests.RequestException:
                ok = False
            elapsed = time.perf_counter() - started
            with guard:
                if ok:
                    latencies.append(elapsed * 1000.0)
                    seen.append((user, answer.json()["access_token"]))
                else:
                    failures += 1
            time.sleep(pause)

    workers = [threading.Thread(target=kernel, args=(first + i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return latencies, sorted(set(seen)), failures


def _fill(home: Path, connections: int, emu: BoxEmulator) -> None:
    """``connections`` hub users with one saved connection each, in the service's vault."""
    key, _ = load_key(home, create=False)
    now = time.time()
    for i in range(connections):
        vault = Vault(home / "users" / f"user{i:04d}", key=(key, "hub"))
        vault.save(
            "work",
            {
                "version": RECORD_VERSION,
                "name": "work",
                "kind": "oauth",
                "client_id": emu.app.client_id,
                "client_secret": None,
                "endpoints": emu.endpoints.to_dict(),
                "token": {
                    "access_token": f"access-{i:08d}-not-a-real-token",
                    "refresh_token": f"refresh-{i:08d}-not-a-real-token",
                    "expires_in": 3600.0,
                    "expires_at": now + 3600.0,
                },
                "user": {"id": str(i), "name": f"User {i}", "login": f"u{i}@example.com"},
                "connected_at": now,
                "app": "server",
            },
        )


def measure(
    kernels: int = 200,
    users: int = 4,
    seconds: float = 15.0,
    lifetime: int = 5,
    connections: int = 1000,
    pause: float = 1.0,
) -> dict[str, Any]:
    """The figures, as ``bench.results``' plain-dict shape."""
    if shutil.which("configurable-http-proxy") is None:
        msg = "configurable-http-proxy is not on PATH (npm install -g configurable-http-proxy@5)"
        raise Unavailable(msg)
    hub_port = free_port()
    with (
        tempfile.TemporaryDirectory() as tmp,
        box_for_hub(hub_port) as emu,
        start_hub(Path(tmp), service_box_env(emu), PUBLIC_PORT=str(hub_port)) as hub,
    ):
        emu.settings.update({"access_token_lifetime": lifetime})
        pairs = []
        for i in range(users):
            token = connect(hub, emu, f"kernel-user{i}", "work")
            pairs.append(f"{hub.service_url}api/connections/work/token {token}")
        before = emu.counters()["refreshes"]
        deadline = time.time() + seconds
        per_process = kernels // PROCESSES
        jobs = [
            ("\n".join(pairs), per_process, deadline, pause, n * per_process)
            for n in range(PROCESSES)
        ]
        with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
            results = pool.map(_pull, jobs)
        refreshes = emu.counters()["refreshes"] - before
        inside = [
            float(match.group(1))
            for match in re.finditer(r"200 POST \S+/work/token \(\S+\) ([\d.]+) ms", hub.log())
        ]
        latencies = [ms for result in results for ms in result[0]]
        tokens = {pair for result in results for pair in result[1]}
        failures = sum(result[2] for result in results)
        # new tokens handed out, after each connection's first one
        generations = len(tokens) - len({user for user, _token in tokens})

        _fill(hub.service_home, connections, emu)
        service = hub.service_process()
        admin = hub.service(hub.token(ADMIN_USER))
        cpu = service.cpu_times()
        listing_started = time.perf_counter()
        rows = admin.get(hub.service_url + "api/admin/connections", timeout=300)
        listing_ms = 1000.0 * (time.perf_counter() - listing_started)
        cpu_after = service.cpu_times()
        listed = len(rows.json()["connections"])
        rss = service.memory_info().rss / 2**20
    per_expiry = refreshes / max(generations, 1)
    return {
        "method": __doc__.split("\n\n", 1)[1].strip() if __doc__ else "",
        "rows": [
            {
                "measure": f"token pull through the proxy, {kernels} kernels pulling every "
                f"{pause:g} s, {users} users",
                "ours": {"samples": latencies, "unit": "ms"},
                "goal": "p95 < 20 ms",
                "met": bool(latencies)
                and sorted(latencies)[int(0.95 * (len(latencies) - 1))] < 20.0,
            },
            {
                "measure": "… of which: inside the service (request to answer, its access log)",
                "ours": {"samples": inside, "unit": "ms"},
            },
            {
                "measure": "refreshes at Box per access-token expiry, all kernels pulling",
                "ours": {"samples": [per_expiry], "unit": ""},
                "goal": "1.00",
                "met": generations > 0 and refreshes == generations,
            },
        ],
        "raw": {
            "kernels": kernels,
            "users": users,
            "failures": failures,
            "refreshes": refreshes,
            "generations": generations,
            "connections_listed": listed,
            "listing_ms": listing_ms,
            "service_rss_mib": rss,
        },
        "notes": [
            f"pulls: {len(latencies)} answered, {failures} failed",
            f"refreshes per expiry: {per_expiry:.2f} ({refreshes} refreshes, "
            f"{generations} new tokens handed out, {lifetime} s tokens, {seconds:g} s)",
            f"{listed} connections listed by the admin API in {listing_ms:.0f} ms; the service "
            f"used {cpu_after.user + cpu_after.system - cpu.user - cpu.system:.2f} s CPU for "
            f"it and holds {rss:.0f} MiB resident",
        ],
    }


if __name__ == "__main__":
    figures = measure()
    samples = sorted(figures["rows"][0]["ours"]["samples"])
    if samples:
        p50, p95 = samples[len(samples) // 2], samples[int(0.95 * (len(samples) - 1))]
        print(f"token pull: median {p50:.1f} ms, p95 {p95:.1f} ms, n={len(samples)}")
    inside = sorted(figures["rows"][1]["ours"]["samples"])
    if inside:
        p50, p95 = inside[len(inside) // 2], inside[int(0.95 * (len(inside) - 1))]
        print(f"inside the service: median {p50:.1f} ms, p95 {p95:.1f} ms, n={len(inside)}")
    for note in figures["notes"]:
        print(note)
