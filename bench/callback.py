"""1. Callback to tokens saved: Box's redirect reaching the Jupyter server, on loopback.

A real ``jupyter server`` (a subprocess, box-widget's extension loaded, the emulator's endpoints
in its environment) and the emulator. Per flow, this process plays the kernel (``conn.
authorization_url()`` leaves a pending sign-in in the vault the server shares) and the browser
(consent on the emulator's page, not timed); then the timer runs from sending the callback
request (``GET box-widget/oauth2/callback?code=...&state=...`` with the Jupyter token, a new
connection as a popup opens) until its answer. The handler answers only after
``exchange_code_and_save`` has exchanged the code and saved the tokens in the vault (and asked Box
who the user is, to show it), so the answer marks "tokens saved"; each flow's tokens are
checked in the vault afterwards. The server's own log line for each sign-in ("connected in N
ms", timed inside the handler) splits the server's work from the HTTP hop and Jupyter's
request handling.

The peer, in the same loop: the official SDK doing the same work in-process on a code of its
own (no HTTP hop to a server, no encryption): ``get_tokens_authorization_code_grant`` into its
``FileTokenStorage``, then ``users.get_user_me()``.
"""

from __future__ import annotations

import re
import tempfile
import time
from pathlib import Path

import requests
from box_sdk_gen import BoxClient, BoxOAuth, FileTokenStorage, NetworkSession, OAuthConfig

from box_widget.connection import BoxConnection
from box_widget.files import atomic_write

from . import use_test_helpers
from .results import Figure, Row, Section, method
from .servers import emulator_and_jupyter

use_test_helpers()
from browser.harness import environment  # noqa: E402
from support.emulator_flow import base_urls, code_for  # noqa: E402

GOAL_P95 = 100.0  # ms
#: The extension's log line for each sign-in (``CallbackHandler.get``), whole milliseconds.
SERVER_TIME = re.compile(r"box-widget: connection '[^']*' connected in (\d+) ms")
NAME = "work"


def vault_write_ms(folder: Path, times: int = 20) -> list[float]:
    """How long one of the vault's atomic writes of a small record takes here (ms)."""
    samples = []
    for index in range(times):
        started = time.perf_counter()
        atomic_write(folder / f"record-{index % 2}.box", b"x" * 600)
        samples.append(1000 * (time.perf_counter() - started))
    return samples


def measure(flows: int) -> Section:
    ours: list[float] = []
    peer: list[float] = []
    with (
        emulator_and_jupyter() as (emu, jupyter),
        environment(BOX_WIDGET_KEYRING="0", BOX_WIDGET_KEY=None),
        tempfile.TemporaryDirectory() as tmp,
    ):
        server = jupyter("server")
        conn = BoxConnection(
            NAME,
            client_id=emu.app.client_id,
            client_secret=emu.app.client_secret,
            redirect_uri=server.callback,
            endpoints=emu.endpoints,
            home=server.home,
        )
        vault = server.vault()
        auth_header = {"Authorization": f"token {server.token}"}
        network = NetworkSession().with_custom_base_urls(base_urls(emu))
        storage = str(Path(tmp) / "sdk-token")
        saved: set[str] = set()
        for flow in range(flows + 1):  # flow 0 warms both paths up, not counted
            location = emu.authorize(conn.authorization_url())
            started = time.perf_counter()
            response = requests.get(
                location, headers=auth_header, timeout=30, allow_redirects=False
            )
            elapsed = 1000 * (time.perf_counter() - started)
            if response.status_code != 200:
                msg = f"callback answered {response.status_code}: {response.text[:300]}"
                raise RuntimeError(msg)
            record = vault.load(NAME) or {}
            saved.add(record["token"]["access_token"])

            code = code_for(emu)
            auth = BoxOAuth(
                OAuthConfig(
                    client_id=emu.app.client_id,
                    client_secret=emu.app.client_secret,
                    token_storage=FileTokenStorage(storage),
                )
            )
            started = time.perf_counter()
            auth.get_tokens_authorization_code_grant(code, network_session=network)
            BoxClient(auth, network_session=network).users.get_user_me()
            sdk_elapsed = 1000 * (time.perf_counter() - started)
            if flow:
                ours.append(elapsed)
                peer.append(sdk_elapsed)
        grants = emu.counters()["grants"]["authorization_code"]
        inside = [float(ms) for ms in SERVER_TIME.findall(server.log.read_text())][1:]
        write = Figure(vault_write_ms(Path(tmp) / "writes"), "ms")
    mine = Figure(ours, "ms")
    row = Row(
        "Callback → tokens saved (p95 is the goal)",
        mine,
        Figure(peer, "ms"),
        "official SDK, in-process exchange + users/me (context)",
        goal=f"p95 < {GOAL_P95:.0f} ms",
        met=mine.p95 < GOAL_P95,
        ours_text=f", p95 {mine.p95:.1f} ms",
        compare=False,
    )
    rows = [row]
    if len(inside) == flows:  # the server logs each sign-in's time in its handler
        rows.append(
            Row(
                "… of which: inside the server's handler (exchange, vault, users/me)",
                Figure(inside, "ms"),
            )
        )
    notes = [
        f"{flows} flows (+1 warm-up); {len(saved)} distinct token pairs found in the "
        f"vault; the emulator granted {grants} authorization codes (both clients).",
        "The official SDK's figure is context, not a like-for-like peer (so no ratio): it "
        "is the floor of the same exchange and users/me done in-process, with no HTTP hop "
        "to a server, no Jupyter request handling, no encryption and no fsynced vault "
        "writes. Our figure includes all of these; the row below it shows how much of it "
        "is the server's handler.",
        f"Box's codes die 30 s after they are issued: the p95 uses "
        f"{mine.p95 / 30_000:.2%} of that time.",
    ]
    notes.append(
        f"One atomic vault write (temp file, fsync, rename, fsync of the folder) "
        f"takes {write.median:.1f} ms here (median of {len(write.samples)}, p95 "
        f"{write.p95:.1f}); the callback makes two (the tokens, then the user) and "
        "removes the pending sign-in, besides the code exchange and users/me."
    )
    if not row.met:
        notes.append(
            f"p95 {mine.p95:.0f} ms is over the {GOAL_P95:.0f} ms goal. Inside the "
            "handler go the exchange, the vault's file locks, encryption, the "
            "fsynced writes and users/me; the rest is the HTTP hop and Jupyter's "
            "request handling, and on a loaded machine the server waits for a core. "
            "What would close it: one vault write instead of two (save the user with "
            "the tokens when users/me answers at once) and a quiet machine."
        )
    return Section(
        "callback",
        "1. Callback to tokens saved",
        method=method(__doc__),
        rows=rows,
        notes=notes,
        raw={"ours_ms": ours, "sdk_ms": peer, "server_ms": inside, "vault_write_ms": write.samples},
    )
