"""``box-widget hub-service`` (run the JupyterHub service) and ``box-widget hub list|revoke``
(its administrators' view of every hub user's connections)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any
from urllib.parse import quote

#: The service's address as users' servers and admins reach it (through the hub's proxy).
URL_ENV = "BOX_WIDGET_HUB_URL"
TOKEN_ENV = "JUPYTERHUB_API_TOKEN"  # noqa: S105 - a variable's name


def serve(args: argparse.Namespace) -> int:
    """Run the service in the foreground (JupyterHub starts it; see docs/jupyterhub.md)."""
    from ..hub.app import main

    main(args.options)
    return 0


def _call(args: argparse.Namespace, method: str, path: str) -> dict[str, Any]:
    import requests

    from ..errors import BoxWidgetError, ConfigurationError

    url = (args.url or os.environ.get(URL_ENV, "")).strip()
    token = (args.token or os.environ.get(TOKEN_ENV, "")).strip()
    if not url or not token:
        msg = (
            f"Give the service's address (--url or ${URL_ENV}, e.g. "
            "https://hub.example.org/services/box-widget/) and a Hub API token with the "
            f"custom:box-widget:admin scope (--token or ${TOKEN_ENV})."
        )
        raise ConfigurationError(msg)
    try:
        response = requests.request(
            method,
            url.rstrip("/") + "/" + path,
            headers={"Authorization": f"token {token}"},
            timeout=(10, 60),
        )
    except requests.RequestException as exc:
        msg = f"Could not reach the hub's box-widget service at {url} ({type(exc).__name__})."
        raise BoxWidgetError(msg) from None
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {}
    if response.status_code == 403:
        msg = "The hub refused this token: it needs the custom:box-widget:admin scope."
        raise BoxWidgetError(msg)
    if response.status_code != 200:
        said = body.get("message") or f"HTTP {response.status_code}"
        msg = f"The hub's box-widget service refused: {said}"
        raise BoxWidgetError(msg)
    return body


def listing(args: argparse.Namespace) -> int:
    """Print every hub user's connections (names, Box logins, access-token state; never
    tokens), in the words of ``box-widget list``."""
    from ..records import ConnectionSummary
    from .connections import COLUMNS, summary_row, table

    rows = _call(args, "GET", "api/admin/connections")["connections"]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("No saved connections.")
        return 0
    lines = [["HUB USER", *COLUMNS]]
    lines += [[row["hub_user"], *summary_row(ConnectionSummary.from_status(row))] for row in rows]
    print(table(lines))
    return 0


def revoke(args: argparse.Namespace) -> int:
    """Revoke one hub user's connection at Box and delete it from the service."""
    path = f"api/admin/connections/{quote(args.user, safe='')}/{quote(args.name, safe='')}"
    if _call(args, "DELETE", path).get("revoked"):
        print(f"revoked connection {args.name!r} of hub user {args.user!r}")
        return 0
    print(f"hub user {args.user!r} has no connection {args.name!r}", file=sys.stderr)
    return 1


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``hub-service`` and ``hub`` to the top-level subparsers."""
    service = commands.add_parser(
        "hub-service",
        help="run box-widget's JupyterHub service (JupyterHub starts it)",
        description="Run box-widget's JupyterHub managed service: it alone holds the Box "
        "app's secret and every hub user's connections. Options are BoxWidgetHub's "
        "traitlets (--BoxWidgetHub.keepalive_days=30, --config=FILE; --help-all lists them).",
        # Every option goes to the service's traitlets, --help included.
        prefix_chars="+",
        add_help=False,
    )
    service.add_argument("options", nargs=argparse.REMAINDER, help="traitlets options")
    service.set_defaults(run=serve)
    hub = commands.add_parser(
        "hub",
        help="list or revoke every hub user's connections (hub administrators)",
        description="The hub service's administrators: list every hub user's connections, "
        "or revoke one. Needs a Hub API token with the custom:box-widget:admin scope.",
    )
    hub.add_argument("--url", help=f"the service's address (default: ${URL_ENV})")
    hub.add_argument("--token", help=f"a Hub API token (default: ${TOKEN_ENV})")
    actions = hub.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("list", help="every hub user's connections")
    show.add_argument("--json", action="store_true", help="as JSON")
    show.set_defaults(run=listing)
    drop = actions.add_parser("revoke", help="revoke USER's connection NAME at Box")
    drop.add_argument("user", metavar="USER", help="the hub user")
    drop.add_argument("name", metavar="NAME", help="the connection")
    drop.set_defaults(run=revoke)
