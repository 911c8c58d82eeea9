"""3. Per-request overhead: ``GET users/me`` through ``conn.session``, a plain ``requests.Session``
with a fixed bearer token, and the official SDK's client, in this process, on one emulator.

The emulator runs in a process of its own. Each client signs in once and sends a few warm-up
requests; then the requests are split into rounds, and in every round each client sends its
share back to back, the order rotating from round to round so that drift of the machine hits
the three alike. Per round: wall-clock microseconds per request (the latency a notebook sees)
and this process's CPU microseconds per request (what the client itself costs: the emulator's
work is in the other process, so CPU time is the client's overhead, and it is far less
disturbed by other load on the machine than wall-clock time).
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from typing import Any

import requests
from box_sdk_gen import (
    AccessToken,
    BoxClient,
    BoxOAuth,
    InMemoryTokenStorage,
    NetworkSession,
    OAuthConfig,
)
from cryptography.fernet import Fernet

from . import use_test_helpers
from .emulator_process import EmulatorProcess
from .results import Figure, Row, Section, method

use_test_helpers()
from browser.harness import environment  # noqa: E402
from support.emulator_flow import base_urls, connect, tokens_for  # noqa: E402

WARM_UP = 20
GOAL = 1.05  # within 5 % of plain requests


def clients(emu: EmulatorProcess, home: str) -> dict[str, Callable[[], Any]]:
    """One ``GET users/me`` per client, each signed in on its own grant."""
    conn = connect(emu, home, "bench")  # type: ignore[arg-type]
    ours = conn.session

    plain = requests.Session()
    plain.headers["Authorization"] = f"Bearer {tokens_for(emu)['access_token']}"  # type: ignore[arg-type]
    me = emu.endpoints.api_url + "/users/me"

    token = tokens_for(emu)  # type: ignore[arg-type]
    auth = BoxOAuth(
        OAuthConfig(
            client_id=emu.app.client_id,
            client_secret=emu.app.client_secret,
            token_storage=InMemoryTokenStorage(
                AccessToken(
                    access_token=token["access_token"],
                    refresh_token=token["refresh_token"],
                    expires_in=token["expires_in"],
                )
            ),
        )
    )
    sdk = BoxClient(auth, network_session=NetworkSession().with_custom_base_urls(base_urls(emu)))  # type: ignore[arg-type]

    def with_ours() -> Any:
        return ours.get("users/me").json()["id"]

    def with_plain() -> Any:
        response = plain.get(me, timeout=(10, 60))
        response.raise_for_status()
        return response.json()["id"]

    def with_sdk() -> Any:
        return sdk.users.get_user_me().id

    return {"box-widget": with_ours, "requests": with_plain, "official SDK": with_sdk}


def measure(requests: int, rounds: int) -> Section:
    per_round = max(1, requests // rounds)
    wall: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    with (
        tempfile.TemporaryDirectory() as home,
        EmulatorProcess() as emu,
        environment(BOX_WIDGET_KEY=Fernet.generate_key().decode(), BOX_WIDGET_KEYRING="0"),
    ):
        calls = clients(emu, home)
        users = {name: {call() for _ in range(WARM_UP)} for name, call in calls.items()}
        assert all(u == {emu.user.id} for u in users.values()), users
        names = list(calls)
        for round_ in range(rounds):
            shift = round_ % len(names)
            for name in names[shift:] + names[:shift]:
                call = calls[name]
                started, started_cpu = time.perf_counter(), time.process_time()
                for _ in range(per_round):
                    call()
                wall.setdefault(name, []).append(1e6 * (time.perf_counter() - started) / per_round)
                cpu.setdefault(name, []).append(
                    1e6 * (time.process_time() - started_cpu) / per_round
                )
        counted = emu.counters()["api_calls"]

    expected = len(names) * (WARM_UP + per_round * rounds) + 1  # + the sign-in's users/me
    rows, notes = [], []
    for label, data in (("wall", wall), ("CPU", cpu)):
        ours = Figure(data["box-widget"], "µs")
        for peer in ("requests", "official SDK"):
            row = Row(
                f"`GET users/me`, {label} time per request, vs {peer}",
                ours,
                Figure(data[peer], "µs"),
                peer,
            )
            if peer == "requests":
                row.goal = "within 5 %"
                row.met = row.ratio is not None and row.ratio <= GOAL
                paired = [o / p for o, p in zip(data["box-widget"], data[peer], strict=True)]
                if min(paired) <= GOAL <= max(paired):  # the bound lies inside the noise
                    row.met, row.verdict = None, "within noise"
            else:
                row.goal = "faster than the SDK"
                row.met = row.ratio is not None and row.ratio < 1
            rows.append(row)
    notes.append(
        f"{per_round} requests per client per round, {rounds} rounds "
        f"({per_round * rounds} per client), {WARM_UP} warm-up requests each; the "
        f"emulator counted {counted} API calls ({expected} expected)."
    )
    for label, data in (("wall", wall), ("CPU", cpu)):
        paired = sorted(o / p for o, p in zip(data["box-widget"], data["requests"], strict=True))
        notes.append(
            f"{label} time, box-widget / requests round by round: median "
            f"{statistics.median(paired):.3f}, range {paired[0]:.3f}–{paired[-1]:.3f} "
            "(a difference inside that range is noise: where the 5 % bound lies inside it, "
            'the table says "within noise", not "yes").'
        )
    wall_ratio, plain_ratio = rows[0].ratio, rows[2].ratio  # vs requests: wall, CPU
    if wall_ratio is not None and plain_ratio is not None and wall_ratio > GOAL >= plain_ratio:
        notes.append(
            f"The wall-clock ratio to plain requests ({wall_ratio:.2f}×) misses the "
            f"goal while the CPU ratio ({plain_ratio:.2f}×) meets it: box-widget's own "
            "extra work per request is within 5 %, and the rest of the wall-clock gap "
            "is waiting for a core on a loaded machine (see how widely the "
            "round-by-round ratios range). A quiet machine should close it; if not, "
            "profiling `conn.session.get` (cProfile) shows what to trim."
        )
    if plain_ratio is not None and plain_ratio > GOAL:
        notes.append(
            f"Over the 5 % goal against plain requests (CPU {plain_ratio:.2f}×): per request "
            "`conn.session` also resolves the relative URL, checks the token's expiry, builds "
            "the Authorization header per request, goes through urllib3's Retry (status "
            "retries for 429/5xx) and requests-oauthlib's OAuth2Session.request; profiling "
            "`ours.get` (cProfile) shows which of these to trim."
        )
    return Section(
        "overhead",
        "3. Per-request overhead",
        method=method(__doc__),
        rows=rows,
        notes=notes,
        raw={
            "wall_us": wall,
            "cpu_us": cpu,
            "per_round": per_round,
            "rounds": rounds,
            "api_calls": counted,
            "expected_api_calls": expected,
        },
    )
