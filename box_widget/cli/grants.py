"""``box-widget grants``: the worker grants of the vault (Dask and other workers), and revoking
one. Read from the vault directly (the same folder and key as the Jupyter server's); in hub
mode (``BOX_WIDGET_HUB_URL``, unless ``--home`` is given) through the hub's box-widget service,
which keeps the hub user's grants. A grant revoked here is refused at its workers' next token
request."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import grant_authority
from ..hub_client import HubService, hub_url
from ..vault import Vault, default_home


def _vault(args: argparse.Namespace, *, create: bool) -> Vault:
    home = Path(args.home).expanduser() if args.home else default_home()
    return Vault(home, create=create)


def _when(at: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) if at else "-"


@dataclass
class Kept:
    """Where the grants are kept: their public views, that place in words, and how to revoke
    one there (whether it was live)."""

    views: list[dict[str, Any]]
    where: str
    revoke: Callable[[str], bool]


def _kept(args: argparse.Namespace) -> Kept:
    """The vault's grants; in hub mode (unless ``--home``), the hub service's for this user."""
    if hub_url() and not args.home:
        hub = HubService()
        return Kept(hub.grants(), f"at the hub's box-widget service {hub.url}", hub.revoke_grant)
    vault = _vault(args, create=False)
    return Kept(
        grant_authority.listing(vault),
        f"in {vault.home}",
        lambda grant_id: bool(grant_authority.revoke(vault, grant_id, None)),
    )


def show(args: argparse.Namespace) -> int:
    """Print every grant kept, oldest first: id, connection, scope, state, expiry (no secret)."""
    kept = _kept(args)
    if not kept.views:
        print(f"no worker grants {kept.where}")
        return 0
    print(f"{'id':<18}  {'connection':<12}  {'scope':<10}  {'state':<8}  expires / revoked")
    for view in kept.views:
        print(
            f"{view['id']:<18}  {view['connection']:<12}  {view['scope']:<10}  "
            f"{view['state']:<8}  {_when(view['expires_at'])} / {_when(view['revoked_at'])}"
        )
    return 0


def revoke(args: argparse.Namespace) -> int:
    """Revoke grants by id (``all``: every live one); their workers' next request is refused."""
    kept = _kept(args)
    views = {v["id"]: v for v in kept.views}
    wanted = (
        [i for i, v in views.items() if v["state"] == "live"] if args.ids == ["all"] else args.ids
    )
    status = 0
    for grant_id in wanted:
        view = views.get(grant_id)
        if view is None:
            print(f"no worker grant {grant_id} {kept.where}")
            status = 1
        elif kept.revoke(grant_id):
            print(f"revoked worker grant {grant_id} (connection {view['connection']!r})")
        else:
            print(f"worker grant {grant_id} was already {view['state']}")
    return status


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``grants`` (list) and ``grants revoke ID...`` to the top-level subparsers."""
    parser = commands.add_parser(
        "grants",
        help="list or revoke the worker grants (Dask and other workers)",
        description="List the worker grants kept in the vault (id, connection, scope, state, "
        "expiry; never a secret), or revoke some: their workers' next token request is "
        "refused. See docs/dask.md.",
    )
    parser.add_argument(
        "--home",
        help="the vault folder (default: $BOX_WIDGET_HOME, else <jupyter data dir>/box_widget)",
    )
    parser.set_defaults(run=show)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="list the grants (the default)")
    listing.set_defaults(run=show)
    revoking = actions.add_parser("revoke", help="revoke grants by id ('all': every live one)")
    revoking.add_argument("ids", nargs="+", metavar="ID")
    revoking.set_defaults(run=revoke)
