"""The form's backup to the callback page's message: watch the vault for a sign-in's tokens.

The callback page tells the form over a ``BroadcastChannel``; where that message is lost (an old
browser, a closed tab) the kernel still notices the new tokens in the vault. And where nothing
comes at all (Box refused the Redirect URL and showed its own page, or the user gave up), the
watch says so: when the form reports Box's window closed, and after ``WATCH_SECONDS``. It keeps
watching after a closed window until its time is up, since a browser may report a window it can
no longer see (a cross-origin opener policy) as closed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .connection import BoxConnection

#: How long a sign-in is watched: as long as a pending sign-in lives.
WATCH_SECONDS = 600.0
#: How often the vault is read while watching.
POLL_SECONDS = 0.5


class SignInWatch:
    """Watches one connection's vault record for a sign-in in progress."""

    def __init__(
        self,
        connection: BoxConnection,
        on_connected: Callable[[], None],
        on_nothing: Callable[[str], None],
    ) -> None:
        self._conn = connection
        self._on_connected = on_connected
        self._on_nothing = on_nothing
        self._thread: threading.Thread | None = None
        self._active = False
        self._since: float | None = None  # the saved connection's connected_at at the start

    def start(self) -> None:
        """Watch from now on (a sign-in was started: Generate)."""
        self._since = self._conn.summary().connected_at
        self._active = True
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(
                target=self._run, name=f"box-widget-watch-{self._conn.name}", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Stop watching: the callback page's outcome arrived."""
        self._active = False

    def window_closed(self) -> None:
        """Box's window closed: connected if the tokens came, else say nothing came (and keep
        watching, in case the tokens still arrive)."""
        if not self._active:
            return
        if self._connected():
            self._active = False
            self._on_connected()
        else:
            self._on_nothing("closed")

    def _connected(self) -> bool:
        summary = self._conn.summary()
        return summary.connected_at not in (None, self._since) and summary.user is not None

    def _run(self) -> None:
        deadline = time.monotonic() + WATCH_SECONDS
        while self._active and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            if self._active and self._connected():
                self._active = False
                self._on_connected()
                return
        if self._active:
            self._active = False
            self._on_nothing("timeout")
