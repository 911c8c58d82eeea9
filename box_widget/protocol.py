"""The routes and messages that join the kernel, the Jupyter server and the browser.

Dependency-free: the kernel, the server extension, the emulator, the demo and the tests import
it, and the form's JavaScript gets the same values from ``javascript()`` (prepended to
``labextension/form.js`` as ``PROTOCOL``), so no name is written twice.

Routes, under the Jupyter server's ``base_url``:

========================  ============================================================
``CALLBACK_PATH``         Box's redirect lands here (``?code=&state=`` or ``?error=``):
                          the server extension completes the sign-in and shows a page
``STATUS_PATH``           JSON: is the extension here, the vault, the app, the endpoints
``CONNECTIONS_PATH``      ``POST <name>/token``: a fresh access token for a connection made
                          with the server's Box app (the server refreshes it, single-flight,
                          with its secret as configured now); ``DELETE <name>``: revoke such
                          a connection at Box and delete it. For kernels (a Jupyter token),
                          ``write`` permission on ``box_widget``
========================  ============================================================

Form (browser) → kernel, as widget messages (``model.send``):

==============  ==========================  ==============================================
type            carries                     the kernel
==============  ==========================  ==============================================
``hello``       nothing                     sends the current authorize address
``secret``      ``value``                   keeps the Client Secret in memory (never a trait)
``generate``    ``opened`` (bool)           waits for Box; watches the vault as a backup
``outcome``     ``ok``, ``error``,          shows the callback page's outcome
                ``message``
``test``        nothing                     calls ``users/me``; shows the user
``disconnect``  nothing                     revokes at Box, deletes from the vault
``complete``    ``address``                 the headless path: completes from the address
``closed``      nothing                     the window Generate opened closed with no
                                            outcome heard: says Box refused the Redirect
                                            URL, or the sign-in was abandoned
==============  ==========================  ==============================================

Kernel → form: ``authorize_url`` with ``url`` (a single-use address: a message, so a saved
notebook's widget state never holds its ``state``).

Callback page → form, over the ``BroadcastChannel`` named ``CHANNEL`` (same origin; no token
material): ``{"type": BROADCAST_TYPE, "channel", "name", "ok", "user": {"id", "name", "login"} or
null, "error", "message"}``.

Status API answer (``STATUS_PATH``, JSON): ``version``, ``mode`` (``"single-user"``),
``vault`` (``home``, ``encrypted``, ``key_source``), ``callback_path`` (with the base URL),
``client_id`` (the server's app, or null), ``endpoints`` (Box's five URLs as the server is
configured), ``client_secret_configured`` (bool), ``connections``: a list of ``{"name",
"connected", "kind", "user": {"name", "login"}, "expires_at", "connected_at"}`` (or ``{"name",
"connected": false, "error": "unreadable"}``). In hub mode (``server.hub_mode``), ``mode`` is
``"hub"`` and the answer is the hub service's: its ``callback_path``, ``client_id``,
``endpoints`` and this user's ``connections``, ``vault: {"key_source": "hub"}``,
``client_secret_configured: true``, ``hub_service_url`` (and ``error``, in words, when the
service did not answer).

Token API (``CONNECTIONS_PATH``, JSON, ``Cache-Control: no-store``): ``POST <name>/token`` takes
``{}`` or ``{"failed": FINGERPRINT}`` (the SHA-256, in hex, of the access token Box refused: the
token itself is never sent back) and answers ``{"access_token", "expires_at", "expires_in"}``,
nothing else (no refresh token, no secret). ``DELETE <name>`` answers ``{"revoked": bool}``
(false: there was no such connection). Failures answer ``{"error": KIND, "message", "action"}``,
``KIND`` one of ``ERROR_KINDS``; a connection made with its own Client ID and Secret, or one
made with an app the server no longer holds (another client id, other Box addresses, no
secret) is refused (``not_server_app``, ``server_app_changed``): its secret goes nowhere.

Worker grants (``docs/dask.md``): ``POST CONNECTIONS_PATH/<name>/grants`` (a kernel, Jupyter
login, ``write``) takes ``{"scope": "read_write"|"read", "expires_in": SECONDS}`` and answers
``{"id", "secret", "connection", "scope", "downscope", "expires_at", "authority_url", "prefix"}``
(the secret this once); ``GET GRANTS_PATH`` lists ``{"grants": [...]}`` (no secrets);
``DELETE GRANTS_PATH/<id>`` revokes (``{"revoked": bool}``); ``POST GRANTS_PATH/<name>/token``
with ``Authorization: Bearer <secret>`` and no Jupyter login takes the token API's body and gives
its answer, for the grant's connection only (another name: refused);
a revoked, expired or unknown grant is refused (``grant_refused``, HTTP 403).

Whoever starts the kernel may set the variable ``REDIRECT_HINT_ENV`` to the line the form shows
under the Redirect URL (``box-widget demo``: its emulator has that URL registered already);
unset, the form says to register exactly that URL.
"""

from __future__ import annotations

import json

CALLBACK_PATH = "box-widget/oauth2/callback"
STATUS_PATH = "box-widget/api/status"
CONNECTIONS_PATH = "box-widget/api/connections"
GRANTS_PATH = "box-widget/api/grants"
#: The token API's answer when it fails: ``error`` is one of these kinds.
ERROR_KINDS = (
    "not_found",
    "not_server_app",
    "server_app_changed",
    "reauthorization_required",
    "authorization",
    "answer_lost",
    "box_unavailable",
    "vault",
    "configuration",
    "grant_refused",
    "error",
)


def token_path(name: str) -> str:
    """``POST`` here: a fresh access token for connection ``name`` (see the token API)."""
    return f"{CONNECTIONS_PATH}/{name}/token"


def connection_path(name: str) -> str:
    """``DELETE`` here: revoke connection ``name`` and delete it (see the token API)."""
    return f"{CONNECTIONS_PATH}/{name}"


def grants_path(name: str) -> str:
    """``POST`` here (a kernel, with its Jupyter login): a new worker grant for ``name``."""
    return f"{CONNECTIONS_PATH}/{name}/grants"


def grant_token_path(name: str) -> str:
    """Workers ``POST`` here with ``Authorization: Bearer <grant secret>`` (no Jupyter login):
    an access token for connection ``name``, the one their grant names."""
    return f"{GRANTS_PATH}/{name}/token"


REDIRECT_HINT_ENV = "BOX_WIDGET_REDIRECT_HINT"
CHANNEL = "box-widget"
BROADCAST_TYPE = "box-widget:oauth"

#: Message types the form sends the kernel.
HELLO = "hello"
SECRET = "secret"  # noqa: S105 - a message type, not a secret
GENERATE = "generate"
OUTCOME = "outcome"
TEST = "test"
DISCONNECT = "disconnect"
COMPLETE = "complete"
WINDOW_CLOSED = "closed"
#: The message type the kernel sends the form.
AUTHORIZE_URL = "authorize_url"

TO_KERNEL = (HELLO, SECRET, GENERATE, OUTCOME, TEST, DISCONNECT, COMPLETE, WINDOW_CLOSED)


def javascript() -> str:
    """``const PROTOCOL = {...};``: these values for the form's JavaScript."""
    values = {
        "callbackPath": CALLBACK_PATH,
        "statusPath": STATUS_PATH,
        "channel": CHANNEL,
        "broadcastType": BROADCAST_TYPE,
        "toKernel": {name: name for name in TO_KERNEL},
        "authorizeUrl": AUTHORIZE_URL,
    }
    return f"const PROTOCOL = Object.freeze({json.dumps(values)});\n"
