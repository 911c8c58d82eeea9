"""``box-widget grants``: the worker grants of the vault (Dask and other workers), and revoking
one. Read from the vault directly (the same folder and key as the Jupyter server's); in hub
mode (``BOX_WIDGET_HUB_URL``, unless ``--home`` is given) through the hub's box-widget service,
which keeps the hub user's grants. A grant revoked here is refused at its workers' next token
request."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from .. import audit, grants
from ..hub_client import HubService, hub_url
from ..vault import Vault, default_home


def _vault(args: argparse.Namespace, *, create: bool) -> Vault:
    home = Path(args.home).expanduser() if args.home else default_home()
    return Vault(home, create=create)


def _when(at: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at)) if at else "-"


def _hub() -> HubService | None:
    """The hub's service when this process is in hub mode (it keeps the grants), else None."""
    return HubService() if hub_url() else None


def show(args: argparse.Namespace) -> int:
    """Print every grant kept, oldest first: id, connection, scope, state, expiry (no secret)."""
    hub = None if args.home else _hub()
    if hub is not None:
        views, where = hub.grants(), f"the hub's box-widget service at {hub.url}"
    else:
        vault = _vault(args, create=False)
        views, where = [grants.public(r) for r in grants.listing(vault)], str(vault.home)
    if not views:
        print(f"no worker grants in {where}")
        return 0
    print(f"{'id':<18}  {'connection':<12}  {'scope':<10}  {'state':<8}  expires / revoked")
    for view in views:
        print(
            f"{view['id']:<18}  {view['connection']:<12}  {view['scope']:<10}  "
            f"{view['state']:<8}  {_when(view['expires_at'])} / {_when(view['revoked_at'])}"
        )
    return 0


def revoke(args: argparse.Namespace) -> int:
    """Revoke grants by id (``all``: every live one); their workers' next request is refused."""
    hub = None if args.home else _hub()
    if hub is not None:
        return _revoke_at_hub(hub, args.ids)
    vault = _vault(args, create=False)
    records = {r["id"]: r for r in grants.listing(vault)}
    wanted = (
        [i for i, r in records.items() if grants.state(r) == "live"]
        if args.ids == ["all"]
        else args.ids
    )
    status = 0
    for grant_id in wanted:
        record = records.get(grant_id)
        if record is None:
            print(f"no worker grant {grant_id} in {vault.home}")
            status = 1
        elif grants.revoke(vault, grant_id):
            audit.record(vault.home, record["connection"], "grant-revoked", grant=grant_id)
            print(f"revoked worker grant {grant_id} (connection {record['connection']!r})")
        else:
            print(f"worker grant {grant_id} was already {grants.state(record)}")
    return status


def _revoke_at_hub(hub: HubService, ids: list[str]) -> int:
    """``revoke`` in hub mode: through the service, which keeps this hub user's grants."""
    views = {v["id"]: v for v in hub.grants()}
    wanted = [i for i, v in views.items() if v["state"] == "live"] if ids == ["all"] else ids
    status = 0
    for grant_id in wanted:
        view = views.get(grant_id)
        if view is None:
            print(f"no worker grant {grant_id} at the hub's box-widget service")
            status = 1
        elif hub.revoke_grant(grant_id):
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
