"""``box-widget login | list | revoke``: saved connections from a terminal (no browser needed
on this machine: open the printed address anywhere, paste back where it landed)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from .connection import BoxConnection, connections
from .vault import Vault


def _connection(args: argparse.Namespace) -> BoxConnection:
    return BoxConnection(args.name, redirect_uri=getattr(args, "redirect_uri", None),
                         home=args.home)


def login(args: argparse.Namespace) -> int:
    """Print the authorize address, read the address Box redirected to, finish the sign-in."""
    conn = _connection(args)
    url = conn.authorization_url()
    print(f"1. Open this address in a browser and grant access:\n\n   {url}\n", flush=True)
    print("2. Box then sends the browser to the redirect URI; that page may fail to load.\n"
          "   Copy the whole address from the address bar and paste it here within 30 seconds"
          " (Box's authorization codes expire after 30 seconds):", flush=True)
    line = sys.stdin.readline()
    if not line.strip():
        print("box-widget: no address was pasted; nothing changed.", file=sys.stderr)
        return 1
    user = conn.complete(line)
    print(f"Connected {args.name!r} to Box as {user.get('name')} ({user.get('login')}).")
    return 0


def _expiry(token: dict[str, Any]) -> str:
    expires_at = token.get("expires_at")
    if not expires_at:
        return "-"
    left = float(expires_at) - time.time()
    return "expired" if left <= 0 else f"in {int(left // 60)} min"


def list_connections(args: argparse.Namespace) -> int:
    """One line per saved connection: name, Box login, token expiry, and where the key is."""
    vault = Vault(args.home)
    names = connections(args.home)
    print(f"vault: {vault.home} (key: {vault.key_source})")
    if not names:
        print("no saved connections")
        return 0
    for name in names:
        record = vault.load(name) or {}
        user = record.get("user") or {}
        token = record.get("token") or {}
        print(f"{name}\t{user.get('login') or '-'}\taccess token expires "
              f"{_expiry(token)}\t{record.get('kind', 'oauth')}")
    return 0


def revoke(args: argparse.Namespace) -> int:
    """Revoke a connection's tokens at Box and delete it from the vault."""
    conn = _connection(args)
    if not conn.connected and args.name not in connections(args.home):
        print(f"box-widget: there is no saved connection {args.name!r}.", file=sys.stderr)
        return 1
    conn.revoke()
    print(f"Revoked and deleted connection {args.name!r}.")
    return 0


def add_commands(commands: Any) -> None:
    """Register ``login``, ``list`` and ``revoke`` on the top-level subparsers."""
    home_help = "the vault folder (default: $BOX_WIDGET_HOME, else <jupyter data dir>/box_widget)"
    login_parser = commands.add_parser(
        "login", help="connect a named connection without a browser on this machine",
        description="Sign a connection in: open the printed address in any browser, grant "
                    "access, paste back the address Box redirected to. Uses the saved "
                    "connection's app, else BOX_CLIENT_ID, BOX_CLIENT_SECRET and "
                    "BOX_REDIRECT_URI.")
    login_parser.add_argument("name", help="the connection's name")
    login_parser.add_argument("--redirect-uri", help="the redirect URI registered for the app")
    login_parser.add_argument("--home", help=home_help)
    login_parser.set_defaults(run=login)
    list_parser = commands.add_parser("list", help="list the saved connections",
                                      description="List the saved connections (no secrets).")
    list_parser.add_argument("--home", help=home_help)
    list_parser.set_defaults(run=list_connections)
    revoke_parser = commands.add_parser("revoke", help="revoke a connection and delete it",
                                        description="Revoke a connection's tokens at Box and "
                                                    "delete it from the vault.")
    revoke_parser.add_argument("name", help="the connection's name")
    revoke_parser.add_argument("--home", help=home_help)
    revoke_parser.set_defaults(run=revoke)
