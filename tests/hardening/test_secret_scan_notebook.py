"""The kernel's own log, at DEBUG, while a shipped notebook runs: no secret in it.

``getting-started.ipynb`` runs as ``tests/test_notebooks.py`` runs it (its browser-only cell
replaced by the headless sign-in), with one cell first that turns DEBUG logging on for every
library in the kernel, written to the kernel process's real standard error, one cell last that
refreshes the token (as after a 401), and the kernel started with ``--debug`` (ipykernel's own
DEBUG log). That output is
captured whole, apart from the notebook, and scanned for every secret the emulator issued or
knows: the app's client secret, each authorization code, access and refresh token.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
from support.secret_scan import emulator_secrets, scan
from test_notebooks import kernel_env, outputs, run  # noqa: F401 - kernel_env: a fixture

from box_widget.emulator import BoxEmulator

DEBUG_LOGGING = """\
# Added by the test: every library's DEBUG log to the kernel process's real stderr.
import logging, sys
logging.basicConfig(level=logging.DEBUG, stream=sys.__stderr__, force=True,
                    format="%(asctime)s %(process)d %(name)s %(levelname)s %(message)s")
"""
REFRESH = """\
# Added by the test: a refresh, as after Box refused the access token (a 401).
source = conn.session.source
source.refresh(failed=source.token["access_token"])
print(conn.test_connection()["login"])
"""


def test_the_kernel_log_at_debug_holds_no_secret(
    emulator: BoxEmulator,
    kernel_env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    log_path = tmp_path / "kernel.log"
    with log_path.open("wb") as kernel_log:
        nb = run(
            "getting-started.ipynb",
            kernel_env,
            tmp_path,
            emulator,
            first=DEBUG_LOGGING,
            last=REFRESH,
            kernel_log=kernel_log,
        )
    log = log_path.read_text(encoding="utf-8", errors="replace")
    secrets = emulator_secrets(emulator)

    # Scanned before any of it can reach a failure message (and so the CI log).
    hits = scan(secrets, texts={"notebook": nbformat.writes(nb)}, paths=[log_path])
    assert hits == {}
    assert "Connected to Box as Ada Lovelace" in "".join(outputs(nb))
    assert outputs(nb)[-1].strip() == "ada@example.com"
    # the log saw it all: the kernel's own DEBUG lines, the sign-in, the refresh, HTTP calls
    for words in (
        "[IPKernelApp] Searching path",
        "box_widget.oauth INFO exchanging the authorization code: ok",
        "box_widget.oauth INFO refreshing the access token: ok",
        "urllib3.connectionpool DEBUG",
        "box_widget.audit INFO",
    ):
        assert words in log, f"{words!r} not in the kernel log"
    grants = emulator.counters()["grants"]
    assert (grants["authorization_code"], grants["refresh_token"]) == (1, 1)
    assert len(secrets) >= 6  # the app's secret, a code, two access and two refresh tokens
    print(
        f"\nkernel log (DEBUG): {len(log.splitlines())} lines, {len(log)} characters, "
        f"{len(secrets)} secrets looked for, 0 hits"
    )
