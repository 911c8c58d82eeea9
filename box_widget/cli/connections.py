"""``box-widget login | list | revoke``: saved connections from a terminal (no browser needed
on this machine: open the printed address anywhere, paste back where it landed)."""

from __future__ import annotations

import argparse
import getpass
import sys
import time

from ..connection import BoxConnection, connections
from ..errors import AuthorizationError, ConfigurationError, VaultUnreadable
from ..hub_client import HubService, hub_url
from ..records import SIGNED_OUT, ConnectionSummary, summarize
from ..vault import Vault

CODE_LIFETIME = 30  # seconds: how long Box's authorization codes live


#: Where ``login`` takes each sign-in setting from, as the command line names them.
SETTINGS = {
    "client_id": "its Client ID (--client-id, or BOX_CLIENT_ID)",
    "client_secret": "its Client Secret (BOX_CLIENT_SECRET, typed at the prompt when run in "
    "a terminal, or --client-secret)",
    "redirect_uri": "its Redirect URI (--redirect-uri, or BOX_REDIRECT_URI)",
}


def _connection(args: argparse.Namespace) -> BoxConnection:
    return BoxConnection(
        args.name,
        client_id=getattr(args, "client_id", None),
        client_secret=getattr(args, "client_secret", None),
        redirect_uri=getattr(args, "redirect_uri", None),
        home=args.home,
    )


def missing_settings(exc: ConfigurationError, name: str) -> ConfigurationError:
    """A missing app setting, worded for the command line: which options or variables."""
    needs = "; ".join(SETTINGS[setting] for setting in exc.missing if setting in SETTINGS)
    msg = (
        f"connection {name!r} has no Box app to sign in with: give {needs}. "
        "`box-widget emulator` prints them for the emulator (export lines to paste); for real "
        "Box, they are on your app's Configuration page in the Box Developer Console, and the "
        "Redirect URI must be one registered there."
    )
    return ConfigurationError(msg, connection=name, missing=exc.missing)


def login(args: argparse.Namespace) -> int:
    """Print the authorize address, read the address Box redirected to, finish the sign-in."""
    conn = _connection(args)
    if (
        conn.client_id
        and not conn.has_client_secret
        and not conn.kept_by_hub
        and sys.stdin.isatty()
    ):
        conn.set_client_secret(getpass.getpass("Client Secret of the Box app (not shown): "))
    try:
        url = conn.authorization_url()
    except ConfigurationError as exc:
        if not exc.missing:
            raise
        raise missing_settings(exc, args.name) from None
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
    "none": "none yet, made when a first connection is saved",
}


def access_token_words(summary: ConnectionSummary) -> str:
    """The ACCESS TOKEN column: how long the token lasts, or what to do."""
    if summary.signed_out:
        return SIGNED_OUT
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


#: The columns of ``summary_row``.
COLUMNS = ["NAME", "BOX LOGIN", "ACCESS TOKEN", "KIND"]


def summary_row(summary: ConnectionSummary) -> list[str]:
    """A connection as the listings show it (``COLUMNS``)."""
    state = "unreadable" if summary.error else access_token_words(summary)
    return [summary.name, summary.login or "-", state, summary.kind or "oauth"]


def table(rows: list[list[str]]) -> str:
    """Rows as left-aligned columns, two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def list_connections(args: argparse.Namespace) -> int:
    """The saved connections: name, Box login, access-token expiry, kind; and where the vault
    and its key are (in hub mode: the hub's service)."""
    if hub_url():
        return _list_hub()
    vault = Vault(args.home, create=False)  # only reads: makes no folder and no key
    names = vault.names()
    print(
        f"Vault: {vault.home} (key: {vault.key_source}, "
        f"{KEY_SOURCES.get(vault.key_source, 'unknown')})"
    )
    if not names:
        print("No saved connections.")
        return 0
    rows = [COLUMNS]
    unreadable = []
    for name in names:
        try:
            summary = summarize(name, vault.load(name))
        except VaultUnreadable as exc:
            rows.append([name, "-", "unreadable (see below)", "-"])
            unreadable.append(exc.what)
            continue
        rows.append(summary_row(summary))
    print(table(rows))
    for problem in unreadable:
        print(f"box-widget: {problem}", file=sys.stderr)
    return 1 if unreadable else 0


def _list_hub() -> int:
    """``list`` in hub mode: the connections the hub's service keeps for this hub user."""
    hub = HubService()
    summaries = hub.summaries()
    print(f"Connections kept by your hub's box-widget service at {hub.url}")
    if not summaries:
        print("No saved connections.")
        return 0
    print(table([COLUMNS, *(summary_row(summary) for summary in summaries)]))
    return 0


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
        "access, paste back the address Box redirected to. The Box app's settings come "
        "from the options below, else the saved connection, else BOX_CLIENT_ID, "
        "BOX_CLIENT_SECRET and BOX_REDIRECT_URI; with no Client Secret there, it asks for "
        "it (not shown) when run in a terminal. `box-widget emulator` prints these "
        "variables for the emulator.",
    )
    login_parser.add_argument("name", help="the connection's name")
    login_parser.add_argument("--client-id", metavar="ID", help="the Box app's Client ID")
    login_parser.add_argument(
        "--client-secret",
        metavar="SECRET",
        help="the Box app's Client Secret. Avoid it: a secret on the command line is saved "
        "in your shell's history and shown to other users of this machine in the process "
        "list; set BOX_CLIENT_SECRET, or let login ask for it",
    )
    login_parser.add_argument(
        "--redirect-uri", metavar="URI", help="the Redirect URI registered for the Box app"
    )
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
