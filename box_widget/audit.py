"""The audit trail: who connected, refreshed, revoked or broke a connection, and when.

One JSON line per event in ``<home>/audit.log`` (0600), appended under a cross-process lock and
rotated to ``audit.log.1`` past ``MAX_BYTES``: the time, the process id, the connection's name,
the event, and plain-words details. Never token material: callers pass only names, events and
short texts such as an OAuth error code. The same line also goes to the ``box_widget.audit``
logger, so that a Jupyter server or kernel log tells the same story.

Events: ``connect``, ``connect-failed``, ``refresh``, ``refresh-failed``, ``refresh-unanswered``,
``reauthorization-required``, ``revoke``, ``save-failed``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from .files import FILE_MODE, private_folder

log = logging.getLogger(__name__)

FILE_NAME = "audit.log"
MAX_BYTES = 1024 * 1024
LOCK_TIMEOUT = 5.0
#: An error code longer than this is cut (Box's are short; a forged redirect's may not be).
ERROR_LENGTH = 64
_HOST = socket.gethostname()
#: Fields added to every event of a vault folder (the hub service: each vault's hub user).
_labels: dict[Path, dict[str, str]] = {}


def label(home: Path, **fields: str) -> None:
    """Add ``fields`` to every event recorded for vault folder ``home`` from now on."""
    _labels[home] = dict(fields)


def audit_path(home: Path) -> Path:
    """Where a vault folder's audit trail lives."""
    return home / FILE_NAME


def record(home: Path, name: str, event: str, **details: Any) -> None:
    """Append one event; a failure to write it is logged, never raised (auditing must not break
    the operation it describes)."""
    path = audit_path(home)
    details = {**_labels.get(home, {}), **details}
    try:
        with FileLock(
            private_folder(home / "locks") / "~audit.lock", timeout=LOCK_TIMEOUT, mode=FILE_MODE
        ):
            line = _line(name, event, details)  # stamped under the lock: the file is in order
            _rotate(path)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
            try:
                os.write(fd, (line + "\n").encode())
            finally:
                os.close(fd)
    except (OSError, Timeout) as exc:
        line = _line(name, event, details)
        log.warning("box-widget could not write its audit trail %s (%s)", path, exc)
    log.info("box-widget audit: %s", line)


def failure(home: Path, name: str, event: str, exc: BaseException, **details: Any) -> None:
    """Append a failure: its OAuth error code (cut short: it may come from a request), else the
    kind of error; never the message (it may quote a request)."""
    error = getattr(exc, "error", None)
    record(
        home,
        name,
        event,
        error=str(error)[:ERROR_LENGTH] if error else type(exc).__name__,
        **details,
    )


def _line(name: str, event: str, details: dict[str, Any]) -> str:
    return json.dumps(
        {
            "time": round(time.time(), 3),
            "pid": os.getpid(),
            "host": _HOST,
            "name": name,
            "event": event,
            **details,
        }
    )


def _rotate(path: Path) -> None:
    try:
        if path.stat().st_size >= MAX_BYTES:
            os.replace(path, path.with_name(path.name + ".1"))
    except FileNotFoundError:
        pass


def read(home: Path, name: str | None = None) -> list[dict[str, Any]]:
    """The events (oldest first, the rotated file included), for one connection or all."""
    events = []
    for path in (audit_path(home).with_name(FILE_NAME + ".1"), audit_path(home)):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:  # none yet, or not a readable file: no events to show
            continue
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut by a crash: skip it
            if isinstance(entry, dict) and (name is None or entry.get("name") == name):
                events.append(entry)
    return events
