"""The form's secret message through a real kernel at DEBUG: not in its log at any level.

ipykernel logs every shell message's content at DEBUG (``*** MESSAGE TYPE:comm_msg***`` then
``Content: {...}``, and ``comm_msg: {whole message}``), ``comm_msg`` included, and the ``comm``
package logs it again. Here a real kernel runs with ``--debug`` (its stderr captured whole), a
connection form is shown in it, and the test sends the form's ``secret`` message through the
form's real comm, exactly as the browser does (``model.send``: a ``comm_msg`` whose data is
``{"method": "custom", "content": {...}}``). The kernel must take the secret (it says so) and its
log must not hold it, while showing that it did log the message (``'value': '***'``).
"""

from __future__ import annotations

import os
from pathlib import Path
from queue import Empty
from typing import Any

from jupyter_client.manager import KernelManager

from box_widget import protocol

SECRET = "Kernel-debug-secret-" + "k" * 24
SHOW_FORM = """
from box_widget import BoxConnection
conn = BoxConnection("work", client_id="the-client-id", home={home!r})
form = conn.form
print("comm", form.comm.comm_id)
"""


def execute(client: Any, code: str) -> str:
    """Run ``code`` in the kernel; what it printed."""
    msg_id = client.execute(code)
    printed = []
    while True:
        try:
            msg = client.get_iopub_msg(timeout=30)
        except Empty:
            raise AssertionError("the kernel did not finish the cell in 30 s") from None
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            raise AssertionError("\n".join(msg["content"]["traceback"]))
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(printed)


def test_the_secret_message_is_not_in_the_kernel_debug_log(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOX_")}
    env["BOX_WIDGET_KEYRING"] = "0"
    log_path = tmp_path / "kernel.log"
    manager = KernelManager(kernel_name="python3")
    with log_path.open("wb") as log:
        manager.start_kernel(extra_arguments=["--debug"], stdout=log, stderr=log, env=env)
        client = manager.client()
        client.start_channels()
        try:
            client.wait_for_ready(timeout=60)
            printed = execute(client, SHOW_FORM.format(home=str(tmp_path / "vault")))
            comm_id = printed.split("comm ", 1)[1].split()[0]
            content = {"type": protocol.SECRET, "value": SECRET}
            message = client.session.msg(
                "comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": content}}
            )
            client.shell_channel.send(message)
            taken = execute(client, "print(conn.has_client_secret, form.secret_set)")
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=False)
    text = log_path.read_text(encoding="utf-8", errors="replace")
    # Checked before anything of the log can reach a failure message (and so the CI log).
    leaked = SECRET in text
    assert not leaked, "the client secret is in the kernel's DEBUG log"
    assert taken.split() == ["True", "True"]  # the message reached the form and was handled
    assert "*** MESSAGE TYPE:comm_msg***" in text  # ipykernel's DEBUG lines were on ...
    assert text.count("'value': '***'") >= 2  # ... and logged this message, redacted
    print(f"\nkernel log (--debug): {len(text.splitlines())} lines, the secret: 0 hits")
