"""``box-widget login | list | revoke``: saved connections from a terminal (no browser needed
on this machine: open the printed address anywhere, paste back where it landed)."""

from __future__ import annotations

import argparse
import sys
import time

from ..connection import BoxConnection, connections
from ..errors import AuthorizationError, VaultUnreadable
from ..records import ConnectionSummary, summarize
from ..vault import Vault

CODE_LIFETIME = 30  # seconds: how long Box's authorization codes live


def _connection(args: argparse.Namespace) -> BoxConnection:
    return BoxConnection(
        args.name, redirect_uri=getattr(args, "redirect_uri", None), home=args.home
    )


def login(args: argparse.Namespace) -> int:
    """Print the authorize address, read the address Box redirected to, finish the sign-in."""
    conn = _connection(args)
    url = conn.authorization_url()
    print(f"1. Open this address in a browser and grant access:\n\n   {url}\n", flush=True)
    print(
        "2. Box then sends the browser to the redirect URI; that page may fail to load.\n"
        "   Copy the whole address from the address bar and paste it here within 30 seconds"
        " (Box's authorization codes expire after 30 seconds):",
        flush=True,
    )
    printed_at = time.monotonic()
    line = sys.stdin.readline()
    if not line.strip():
        print("box-widget: no address was pasted; nothing changed.", file=sys.stderr)
        return 1
    try:
        user = conn.complete(line)
    except AuthorizationError as exc:
        if exc.error != "invalid_grant":
            raise
        raise code_refused(exc, args.name, time.monotonic() - printed_at) from None
    print(f"Connected {args.name!r} to Box as {user.get('name')} ({user.get('login')}).")
    return 0


def code_refused(exc: AuthorizationError, name: str, waited: float) -> AuthorizationError:
    """Box's ``invalid_grant`` for the pasted code, in plain words: most often, too late."""
    expired = "expired" in exc.description.lower() or waited > CODE_LIFETIME
    what = (
        "The authorization code expired" if expired else "Box did not accept the authorization code"
    )
    msg = (
        f"{what} ({exc.error}: {exc.description}); nothing was saved. Box's codes work once, "
        f"for {CODE_LIFETIME} seconds after you grant access. Run `box-widget login {name}` "
        "again and paste the address as soon as the browser lands on it."
    )
    return AuthorizationError(msg, error=exc.error, description=exc.description)


KEY_SOURCES = {
    "env": "BOX_WIDGET_KEY",
    "keyring": "the OS keyring",
    "file": "vault.key in the vault folder",
}


def _expiry(summary: ConnectionSummary) -> str:
    if not summary.expires_at:
        return "-"
    left = summary.expires_at - time.time()
    if left > 0:
        return f"expires in {int(left // 60)} min"
    if summary.refreshable:
        return "expired, refreshed on next use"
    return (
        "expired, renewed on next use"
        if summary.kind == "client_credentials"
        else "expired: log in again"
    )


def table(rows: list[list[str]]) -> str:
    """Rows as left-aligned columns, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def list_connections(args: argparse.Namespace) -> int:
    """The saved connections: name, Box login, access-token expiry, kind; and where the vault
    and its key are."""
    vault = Vault(args.home)
    names = connections(args.home)
    print(
        f"Vault: {vault.home} (key: {vault.key_source}, "
        f"{KEY_SOURCES.get(vault.key_source, 'unknown')})"
    )
    if not names:
        print("No saved connections.")
        return 0
    rows = [["NAME", "BOX LOGIN", "ACCESS TOKEN", "KIND"]]
    unreadable = []
    for name in names:
        try:
            summary = summarize(name, vault.load(name))
        except VaultUnreadable as exc:
            rows.append([name, "-", "unreadable (see below)", "-"])
            unreadable.append(exc.what)
            continue
        rows.append([name, summary.login or "-", _expiry(summary), summary.kind or "oauth"])
    print(table(rows))
    for problem in unreadable:
        print(f"box-widget: {problem}", file=sys.stderr)
    return 1 if unreadable else 0


def revoke(args: argparse.Namespace) -> int:
    """Revoke a connection's tokens at Box and delete it from the vault."""
    conn = _connection(args)
    if not conn.connected and args.name not in connections(args.home):
        print(
            f"box-widget: there is no saved connection {args.name!r}; `box-widget list` "
            "shows the saved ones.",
            file=sys.stderr,
        )
        return 1
    conn.revoke()
    print(f"Revoked and deleted connection {args.name!r}.")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``login``, ``list`` and ``revoke`` to the top-level subparsers."""
    home_help = "the vault folder (default: $BOX_WIDGET_HOME, else <jupyter data dir>/box_widget)"
    login_parser = commands.add_parser(
        "login",
        help="connect a named connection without a browser on this machine",
        description="Sign a connection in: open the printed address in any browser, grant "
        "access, paste back the address Box redirected to. Uses the saved "
        "connection's app, else BOX_CLIENT_ID, BOX_CLIENT_SECRET and "
        "BOX_REDIRECT_URI.",
    )
    login_parser.add_argument("name", help="the connection's name")
    login_parser.add_argument("--redirect-uri", help="the redirect URI registered for the app")
    login_parser.add_argument("--home", help=home_help)
    login_parser.set_defaults(run=login)
    list_parser = commands.add_parser(
        "list",
        help="list the saved connections",
        description="List the saved connections (no secrets).",
    )
    list_parser.add_argument("--home", help=home_help)
    list_parser.set_defaults(run=list_connections)
    revoke_parser = commands.add_parser(
        "revoke",
        help="revoke a connection and delete it",
        description="Revoke a connection's tokens at Box and delete it from the vault.",
    )
    revoke_parser.add_argument("name", help="the connection's name")
    revoke_parser.add_argument("--home", help=home_help)
    revoke_parser.set_defaults(run=revoke)
