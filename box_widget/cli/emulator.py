"""``box-widget emulator``: the Box emulator in the foreground, its endpoints printed."""

from __future__ import annotations

import argparse
import shlex
import sys

from .._version import __version__

DEFAULT_EMULATOR_PORT = 8765


def redirect_uri(registered: list[str]) -> str:
    """The redirect URI to print for ``login``: the first registered on 127.0.0.1, else the
    first (the emulator takes a loopback one on any port)."""
    return next((uri for uri in registered if uri.startswith("http://127.0.0.1:")), registered[0])


def run(args: argparse.Namespace) -> int:
    """Start the emulator, print its endpoints, demo app and users, serve until Ctrl-C."""
    from ..emulator import BoxEmulator

    emulator = BoxEmulator(
        host=args.host,
        port=args.port,
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_uris=args.redirect_uri or None,
    )
    if args.token_lifetime:
        emulator.settings.access_token_lifetime = args.token_lifetime
    try:
        emulator.listen()
    except OSError as exc:
        print(
            f"box-widget: cannot listen on {args.host}:{args.port}: {exc.strerror}. "
            "Pass --port 0 to use any free port.",
            file=sys.stderr,
        )
        return 2
    app = emulator.app
    settings = {
        **emulator.endpoints.to_env(),
        "BOX_CLIENT_ID": app.client_id,
        "BOX_CLIENT_SECRET": app.client_secret,
        "BOX_REDIRECT_URI": redirect_uri(app.redirect_uris),
        "BOX_ENTERPRISE_ID": app.enterprise_id,
    }
    lines = [
        f"Box emulator {__version__} listening on {emulator.url} (Ctrl-C to stop)",
        "",
        "To point box-widget at the emulator, paste these lines into a shell (then, for",
        "example: box-widget login work):",
        "",
        *(f"  export {name}={shlex.quote(value)}" for name, value in settings.items()),
        "",
        f"Demo app {app.name!r}:",
        f"  redirect URIs: {', '.join(app.redirect_uris)} (loopback: any port)",
        f"  client credentials: box_subject_type=enterprise box_subject_id={app.enterprise_id}",
        "",
        "Users: " + ", ".join(f"{u.name} <{u.login}> (id {u.id})" for u in emulator.users),
    ]
    print("\n".join(lines), flush=True)
    emulator.serve_forever()
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``emulator`` to the top-level subparsers."""
    parser = commands.add_parser(
        "emulator",
        help="run a local Box (OAuth pages, token endpoint, API) on loopback",
        description="Run the Box emulator in the foreground and print its endpoints.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_EMULATOR_PORT,
        help=f"port (default {DEFAULT_EMULATOR_PORT}; 0 for any free port)",
    )
    parser.add_argument("--client-id", help="the demo app's client id (default: random)")
    parser.add_argument("--client-secret", help="the demo app's secret (default: random)")
    parser.add_argument(
        "--redirect-uri",
        action="append",
        metavar="URI",
        help="a redirect URI to register for the demo app (repeatable)",
    )
    parser.add_argument(
        "--token-lifetime",
        type=int,
        metavar="SECONDS",
        help="access-token lifetime (expires_in); default 3600",
    )
    parser.set_defaults(run=run)
