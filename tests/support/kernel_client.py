"""Running code in a real kernel a Jupyter server started, as a notebook does: a client on the
kernel's connection file, the code executed, its output read back."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from jupyter_client.blocking import BlockingKernelClient

READY_TIMEOUT = 60.0
RUN_TIMEOUT = 120.0


@contextlib.contextmanager
def kernel_client(connection_file: Path) -> Iterator[BlockingKernelClient]:
    """A client of the kernel ``connection_file`` describes, ready (its kernel_info answered)."""
    client = BlockingKernelClient(connection_file=str(connection_file))
    client.load_connection_file()
    # No heartbeat: a client the kernel manager did not make judges the kernel by heartbeats
    # with a 1 s limit, which a kernel still importing on a loaded machine can miss ("died");
    # the kernel_info reply (waited for up to READY_TIMEOUT) says it is ready.
    client.start_channels(hb=False)
    try:
        client.wait_for_ready(timeout=READY_TIMEOUT)
        yield client
    finally:
        client.stop_channels()


def execute(client: BlockingKernelClient, code: str) -> str:
    """Run ``code``; its standard output (a failure: the traceback, in the assertion)."""
    out: list[str] = []

    def keep(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append("\n".join(msg["content"]["traceback"]))

    reply = client.execute_interactive(code, output_hook=keep, timeout=RUN_TIMEOUT)
    assert reply["content"]["status"] == "ok", "".join(out)
    return "".join(out)
