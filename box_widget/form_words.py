"""What the connection form says (``widget``): its status lines and advice, in plain words."""

from __future__ import annotations

from typing import Any

from . import records

#: What the status line says when Box did not answer (refused, timed out, or not JSON).
UNREACHABLE = (
    "Box could not be reached ({what}). Check this machine's network connection, then "
    "try again (nothing saved was lost)."
)
#: What to do next, as the form says it (see ``errors``), by the form's mode.
ADVICE = {
    ("reconnect", "server"): "Click Generate again to connect.",
    ("reconnect", "headless"): "Open Box's sign-in page again (the link above) to connect.",
    ("retry", "server"): "Nothing saved was lost: try again.",
    ("retry", "headless"): "Nothing saved was lost: try again.",
}

DISCONNECTED = (
    "Disconnected: the tokens are revoked at Box and deleted here. Generate to connect again."
)
#: The same, on a hub (its box-widget service kept the tokens).
DISCONNECTED_HUB = (
    "Disconnected: your hub's box-widget service revoked the tokens at Box and deleted them. "
    "Generate to connect again."
)
#: The status line of a connection whose refresh token Box refused (in hub mode and not).
SIGNED_OUT = f"{records.SIGNED_OUT}."
#: The traits that show a connection, when there is none.
NOT_CONNECTED: dict[str, Any] = {
    "user_name": "",
    "user_login": "",
    "token_hint": "",
    "expires_at": 0.0,
}
