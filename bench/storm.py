"""4. Refresh storm: 8 processes x 4 threads share one connection whose access token lives 2 s.

The same storm as ``tests/test_refresh_storm.py`` (``tests/support/storm_flow.py``,
``tests/support/storm_worker.py``), run once for box-widget (one connection in one vault) and once
for each of the official SDK's file token storages (``FileTokenStorage``: the file is read on every
call; ``FileWithInMemoryCacheTokenStorage``: read once, then cached in each process), every
process pointed at the same file, the SDK's default network session. Each run has a fresh
emulator; the clients take turns run by run. Refreshes, refresh tokens refused
(``invalid_grant``: spent twice) and API calls are the emulator's counters; an expiry is a token
of the chain whose refresh point (expiry minus the client's margin: 0.2 s for box-widget, none
for the SDK, which waits for a 401) passed while calls ran.

Every run is made twice over: with refresh tokens strictly single use (``strict``, Box's
documented rule and the emulator's default) and with the emulator's ``refresh_reuse_grace``
(``grace``: a reused refresh token answered with the same pair for 30 s after its first use, as
Box has been reported to do). Refresh attempts count the reuses the grace answered too.
"""

from __future__ import annotations

import importlib
import os
import statistics
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from box_sdk_gen import BoxOAuth, FileTokenStorage, NetworkSession, OAuthConfig

from box_widget.emulator import BoxEmulator
from box_widget.oauth import expiry_margin

from . import REPO, use_test_helpers
from .results import Figure, Row, Section, method

use_test_helpers()
from browser.harness import environment  # noqa: E402
from support.emulator_flow import base_urls, code_for  # noqa: E402
from support.storm_flow import NAME, connect, figures, storm, vault_env  # noqa: E402

PROCESSES, THREADS, LIFETIME = 8, 4, 2
SDK_GRACE = 90  # seconds a call started before the end may go on (the SDK's back-off)
#: The emulator's refresh-token reuse grace per mode (seconds; 0: strictly single use).
MODES = {"strict": 0, "grace": 30}
MODE_NAMES = {"strict": "strict refresh tokens", "grace": "30 s refresh-token reuse grace"}
CLIENTS = {
    "box-widget": "box-widget",
    "sdk-file": "SDK, FileTokenStorage",
    "sdk-cached": "SDK, FileWithInMemoryCacheTokenStorage",
}


def dbm_backend() -> str:
    """The ``dbm`` module ``shelve`` uses in this Python (the SDK's file token storage)."""
    for name in ("dbm.gnu", "dbm.ndbm", "dbm.dumb"):
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        return name
    return "none"


def run(client: str, seconds: float, grace: int = 0) -> dict[str, Any]:
    """One storm of ``client`` on a fresh emulator (``grace``: its refresh-token reuse grace,
    in seconds); the figures."""
    with tempfile.TemporaryDirectory() as tmp, BoxEmulator() as emu:
        emu.settings.access_token_lifetime = LIFETIME
        emu.settings.refresh_reuse_grace = grace
        home = Path(tmp) / "home"
        variables = vault_env(home)
        config: dict[str, Any] = {"client": client, "threads": THREADS, "name": NAME}
        if client == "box-widget":

            def prepare() -> object:
                return connect(emu, home)
        else:
            storage = str(Path(tmp) / "sdk-token")
            # The SDK sleeps 2^attempt s (+-50 %) between retries: up to ~30 s for one call.
            config.update(
                storage=storage,
                url=emu.url,
                client_id=emu.app.client_id,
                client_secret=emu.app.client_secret,
                grace=SDK_GRACE,
            )

            def prepare() -> object:
                auth = BoxOAuth(
                    OAuthConfig(
                        client_id=emu.app.client_id,
                        client_secret=emu.app.client_secret,
                        token_storage=FileTokenStorage(storage),
                    )
                )
                session = NetworkSession().with_custom_base_urls(base_urls(emu))
                return auth.get_tokens_authorization_code_grant(
                    code_for(emu), network_session=session
                )

        with environment(**variables):
            env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONUNBUFFERED": "1"}
            tally, start, end = storm(config, PROCESSES, env, seconds, prepare)
        margin = expiry_margin(LIFETIME) if client == "box-widget" else 0.0
        result = figures(
            emu,
            tally,
            margin=margin,
            start=start,
            end=end,
            processes=PROCESSES,
            threads=THREADS,
            setup_calls=1 if client == "box-widget" else 0,
        )
        result["reused_refreshes"] = emu.counters()["reused_refreshes"]
    result["grace"] = grace
    attempts = result["refreshes"] + result["failed_refreshes"] + result["reused_refreshes"]
    result["refresh_attempts_per_expiry"] = attempts / max(result["expiries_at_most"], 1)
    result["one_refresh_per_expiry"] = (
        result["failed_refreshes"] == 0
        and result["expiries"] <= result["refreshes"] <= result["expiries_at_most"]
    )
    print(
        f"   {client} (grace {grace} s): {result['ok']} ok, {result['failures']} failed, "
        f"{result['refreshes']} refreshes (+{result['failed_refreshes']} refused) for "
        f"{result['expiries']}..{result['expiries_at_most']} expiries",
        flush=True,
    )
    return result


def summary(client: str, results: list[dict[str, Any]], mode: str) -> str:
    """One line of medians over the runs, and the commonest failures."""

    def median(key: str) -> float:
        return float(statistics.median(r[key] for r in results))

    kinds: Counter[str] = Counter()
    for result in results:
        kinds.update(result["failure_kinds"])
    share = statistics.median(r["failures"] / max(r["calls"], 1) for r in results)
    line = (
        f"{MODE_NAMES[mode]}, {CLIENTS[client]} (medians over {len(results)} run(s)): "
        f"{median('calls'):.0f} "
        f"calls, {median('ok'):.0f} ok, {median('failures'):.0f} failed ({share:.0%}); "
        f"{median('refreshes'):.0f} refreshes and {median('failed_refreshes'):.0f} "
        f"refresh tokens refused (spent twice) and {median('reused_refreshes'):.0f} reuses "
        f"answered for {median('expiries'):.0f}–"
        f"{median('expiries_at_most'):.0f} expiries; "
        f"{median('api_calls'):.0f} API requests reached the emulator; "
        f"{statistics.median(r['ok'] / r['seconds'] for r in results):.0f} successful "
        "calls per second."
    )
    if kinds:
        top = "; ".join(f"{count}× `{text[:200]}`" for text, count in kinds.most_common(3))
        line += f" Commonest failures over all runs: {top}."
    return line


def measure(runs: int, seconds: float) -> Section:
    results: dict[str, dict[str, list[dict[str, Any]]]] = {
        mode: {client: [] for client in CLIENTS} for mode in MODES
    }
    order = [(mode, client) for mode in MODES for client in CLIENTS]
    for index in range(runs):
        shift = index % len(order)
        for mode, client in order[shift:] + order[:shift]:
            results[mode][client].append(run(client, seconds, MODES[mode]))

    rows: list[Row] = []
    notes: list[str] = []
    missed = False
    least = min(r["expiries"] for mode in MODES for r in results[mode]["box-widget"])
    for mode in MODES:
        by_client = results[mode]

        def figure(client: str, key: str, unit: str) -> Figure:
            return Figure([float(r[key]) for r in by_client[client]], unit)  # noqa: B023

        ours = by_client["box-widget"]
        met_failures = all(r["failures"] == 0 for r in ours)
        met_refreshes = all(r["one_refresh_per_expiry"] for r in ours)
        missed = missed or not (met_failures and met_refreshes)
        for peer in ("sdk-file", "sdk-cached"):
            rows.append(
                Row(
                    f"Refresh storm {PROCESSES}×{THREADS}, {LIFETIME} s tokens, "
                    f"{MODE_NAMES[mode]}: failed calls per run",
                    figure("box-widget", "failures", "calls"),
                    figure(peer, "failures", "calls"),
                    CLIENTS[peer],
                    goal="0",
                    met=met_failures,
                    compare=False,
                )
            )
        for peer in ("sdk-file", "sdk-cached"):
            rows.append(
                Row(
                    f"Refresh storm, {MODE_NAMES[mode]}: refresh attempts per expiry",
                    figure("box-widget", "refresh_attempts_per_expiry", ""),
                    figure(peer, "refresh_attempts_per_expiry", ""),
                    CLIENTS[peer],
                    goal="1",
                    met=met_refreshes,
                    compare=False,
                )
            )
        notes += [summary(client, by_client[client], mode) for client in CLIENTS]
    notes.append(
        "The SDK refreshes only after a 401 and takes no lock (docs/box-platform.md section 10), "
        "so every thread and process that meets the expired token sends the same refresh token: "
        "the refused refresh tokens above are those second spends. With "
        "`FileWithInMemoryCacheTokenStorage` each process keeps its own copy after that. "
        f"`FileTokenStorage` is a `shelve` file (here `{dbm_backend()}`) that every process "
        "rewrites without a lock; its commonest failure is the SDK finding no token in it "
        '("Access and refresh tokens not available"), which sends no request: compare its '
        "calls with the API requests the emulator saw. Why the file reads empty was not "
        "measured here."
    )
    notes.append(
        f"Each run: {seconds:g} s of calls; box-widget went through at least {least} "
        "expiries per run"
        + (
            " (fewer than the issue's 5: a quick run, or a machine "
            "too slow for this length; rerun with a longer "
            "`--storm-seconds`)."
            if least < 5
            else "."
        )
    )
    if missed:
        notes.append(
            "box-widget missed its goal in this run: see the raw figures in "
            "`bench/samples/` (`margins`: how long each replaced token still had to "
            "live); `tests/test_refresh_storm.py` asserts the same guarantees."
        )
    notes.append(
        "Refresh attempts = refreshes the emulator granted + refresh tokens it refused + "
        "reuses the grace answered; per expiry: divided by the expiries the run went through "
        "(the upper count, so a slow machine does not flatter the figure)."
    )
    return Section(
        "storm", "4. Refresh storm", method=method(__doc__), rows=rows, notes=notes, raw=results
    )
