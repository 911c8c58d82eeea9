"""A Box emulator (in this process) and real Jupyter servers (subprocesses) for a benchmark."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from box_widget.emulator import BoxEmulator

from . import use_test_helpers

use_test_helpers()
from browser.harness import Jupyter  # noqa: E402


@contextlib.contextmanager
def emulator_and_jupyter() -> Iterator[tuple[BoxEmulator, Jupyter]]:
    """The emulator, and ``jupyter(app, ...)`` as in the browser tests; every server started
    is stopped and every folder removed at the end."""
    with tempfile.TemporaryDirectory(prefix="box-widget-bench-") as tmp, BoxEmulator() as emu:
        servers = Jupyter(lambda name: Path(tempfile.mkdtemp(prefix=f"{name}-", dir=tmp)), emu)
        try:
            yield emu, servers
        finally:
            servers.stop_all()
