"""Start a command with the signal dispositions a terminal gives a command typed at its prompt.

A child inherits ignored signals: under a shell's background job (``cmd &`` in a script, where
SIGINT is ignored) or ``nohup`` (SIGHUP), a test that stops its command with Ctrl-C's SIGINT
would otherwise test the runner's shell, not the command. Pass ``preexec_fn=as_typed()``.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

#: What a terminal delivers: Ctrl-C, a polite kill, the terminal closing.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def as_typed(ignore: tuple[int, ...] = ()) -> Callable[[], None]:
    """A ``preexec_fn``: the stop signals at their defaults, then ``ignore`` ignored (as under
    ``nohup``)."""

    def reset() -> None:
        for sig in {*STOP_SIGNALS, *ignore}:
            signal.signal(sig, signal.SIG_IGN if sig in ignore else signal.SIG_DFL)

    return reset
