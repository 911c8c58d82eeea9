"""``box-widget audit [NAME]``: who connected, refreshed, revoked or failed a connection, and
when."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from .. import audit
from ..vault import default_home

COLUMNS = ("time", "host", "pid", "name", "event")


def show(args: argparse.Namespace) -> int:
    """Print the audit trail, oldest first, one event a line (no token material is in it)."""
    home = Path(args.home).expanduser() if args.home else default_home()
    events = audit.read(home, args.name)
    if args.last:
        events = events[-args.last :]
    if not events:
        what = f"connection {args.name!r}" if args.name else "any connection"
        print(f"no audit events for {what} in {audit.audit_path(home)}")
        return 0
    for event in events:
        print(_line(event))
    return 0


def _line(event: dict[str, Any]) -> str:
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(float(event.get("time", 0))))
    extra = " ".join(f"{k}={v}" for k, v in event.items() if k not in COLUMNS)
    return (
        f"{when}  {event.get('host', '-')}  pid {event.get('pid', '-')}  "
        f"{event.get('name', '-')}  {event.get('event', '-')}  {extra}"
    ).rstrip()


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``audit`` to the top-level subparsers."""
    parser = commands.add_parser(
        "audit",
        help="show who connected, refreshed, revoked or failed a connection, and when",
        description="Show the audit trail of the vault (time, host, process id, connection, "
        "event), oldest first. It never holds tokens or secrets.",
    )
    parser.add_argument("name", nargs="?", help="only this connection (default: all)")
    parser.add_argument("--last", type=int, metavar="N", help="only the last N events")
    parser.add_argument(
        "--home",
        help="the vault folder (default: $BOX_WIDGET_HOME, else <jupyter data dir>/box_widget)",
    )
    parser.set_defaults(run=show)
