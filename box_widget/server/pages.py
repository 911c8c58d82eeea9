"""The page Box's redirect lands on: the outcome in words, and a message for the notebook.

The page tells the connection form over a ``BroadcastChannel`` (same origin, no token material:
connection name, ok or not, the Box user or the error) and closes itself when it was opened as a
popup. Every value is HTML-escaped, and the JSON it embeds cannot close its script element.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any

from ..errors import AuthorizationError, BoxWidgetError, ConfigurationError, VaultWriteError
from ..protocol import BROADCAST_TYPE, CHANNEL

#: What to do next, as the callback page says it (see ``errors``): the sign-in is used up.
ADVICE = {
    "reconnect": "Click Generate again in the notebook.",
    "retry": "Then click Generate again: this sign-in is used up.",
}


def explain(exc: BoxWidgetError) -> str:
    """An error as the callback page says it: what happened, then what to do."""
    return f"{exc.what} {ADVICE.get(exc.action or '', '')}".strip()


#: The title of a sign-in whose state is unknown, spent or expired.
STALE = "This sign-in link is no longer valid."

STYLE = """
body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f9;color:#1f2328}
main{max-width:32rem;margin:4rem auto;background:#fff;border-radius:8px;padding:2rem;
box-shadow:0 2px 8px #0002}h1{font-size:1.25rem;margin-top:0}.ok{color:#116329}
.error{color:#b00020}@media (prefers-color-scheme:dark){body{background:#16181d;color:#e6e6e6}
main{background:#22262e}.ok{color:#5fd38d}.error{color:#ff7b8a}}
"""

SCRIPT = """
(function () {
  var result = JSON.parse(document.getElementById("box-widget-result").textContent);
  try {
    var channel = new BroadcastChannel(result.channel);
    channel.postMessage(result);
    channel.close();
  } catch (e) { /* an old browser: the form's vault watch still sees the outcome */ }
  if (window.opener) { setTimeout(function () { window.close(); }, 1500); }
})();
"""


def _json_for_script(data: dict[str, Any]) -> str:
    # Nothing from the request reaches the page unescaped, not even a quote in inert JSON.
    text = json.dumps(data)
    for char in "<>&'":
        text = text.replace(char, f"\\u{ord(char):04x}")
    return text


def callback_page(
    *,
    ok: bool,
    title: str,
    detail: str,
    name: str | None,
    user: dict[str, Any] | None = None,
    error: str | None = None,
) -> str:
    """The whole HTML page for one callback outcome."""
    result = {
        "type": BROADCAST_TYPE,
        "channel": CHANNEL,
        "name": name,
        "ok": ok,
        "user": {k: (user or {}).get(k) for k in ("id", "name", "login")} if ok else None,
        "error": error,
        "message": None if ok else f"{title} {detail}",
    }
    css_class = "ok" if ok else "error"
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        f"<meta name=viewport content='width=device-width'><title>{escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><main>"
        f"<h1 id=outcome class={css_class}>{escape(title)}</h1><p id=detail>{escape(detail)}</p>"
        f"</main><script type=application/json id=box-widget-result>{_json_for_script(result)}"
        f"</script><script>{SCRIPT}</script></body></html>"
    )


def failure(exc: BoxWidgetError, configuration: str) -> tuple[int, str, str]:
    """The callback page's status, error code and title for a failed sign-in
    (``configuration``: the title when the receiving side is misconfigured)."""
    if isinstance(exc, AuthorizationError):
        titles = {"access_denied": "You declined access to Box.", "invalid_state": STALE}
        return 400, exc.error or "failed", titles.get(exc.error or "", "Box did not connect.")
    if isinstance(exc, ConfigurationError):
        return 400, "configuration", configuration
    if isinstance(exc, VaultWriteError):
        return 503, "vault_unwritable", "box-widget could not save the connection."
    return 502, "box_unavailable", "Box could not finish the sign-in."
