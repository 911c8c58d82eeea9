"""The hub's box-widget service, seen from a user's server, kernel or terminal (hub mode).

On a JupyterHub where the box-widget service runs, the service alone holds the Box app's
secret and every refresh token; this process asks its JSON API (``docs/jupyterhub.md``) with
the hub API token JupyterHub gave the user's server (``JUPYTERHUB_API_TOKEN``, which its kernels
and terminals inherit), as ``Authorization: token ...``, and keeps nothing secret: summaries,
authorize addresses and short-lived access tokens only.

Hub mode is on when ``HUB_URL_ENV`` names the service's base URL (the server extension sets it
for its kernels from ``c.BoxWidgetApp.hub_service_url``, or from the hub's services API).
"""

from __future__ import annotations

import os
from typing import Any

from . import grant_source
from .authority import Authority, AuthorityTokenSource
from .errors import AuthorityUnreachable
from .grant_source import WorkerGrant
from .records import BoxUser, ConnectionSummary, box_user

#: The service's base URL as this process reaches it (ending in ``/``).
HUB_URL_ENV = "BOX_WIDGET_HUB_URL"
#: The hub API token of the user's server (inherited by its kernels and terminals).
HUB_TOKEN_ENV = "JUPYTERHUB_API_TOKEN"  # noqa: S105 - a variable's name
#: The service's JSON API, relative to its base URL.
API = "api"
CONNECTIONS = f"{API}/connections"
GRANTS = f"{API}/grants"
#: What to do when the service cannot be reached or refuses this process.
HOW_TO = (
    "Your hub's box-widget service keeps your Box connections: check that it runs (ask your "
    f"hub's administrator) and that {HUB_URL_ENV} names it; {HUB_TOKEN_ENV} must be a hub "
    "token allowed to use the service (scope access:services!service=box-widget)."
)


def hub_url() -> str | None:
    """The service's base URL when this process is in hub mode, else None."""
    url = os.environ.get(HUB_URL_ENV, "").strip()
    if not url:
        return None
    return url if url.endswith("/") else url + "/"


def service(url: str | None = None, token: str | None = None) -> Authority:
    """The hub's box-widget service as a token authority (``url``, ``token``: else from the
    environment)."""
    url = url or hub_url()
    token = token if token is not None else os.environ.get(HUB_TOKEN_ENV, "")
    if not url:
        msg = f"No box-widget hub service is configured ({HUB_URL_ENV} is not set)."
        raise AuthorityUnreachable(msg, tried=(f"${HUB_URL_ENV}",))
    if not token:
        msg = (
            f"{HUB_TOKEN_ENV} is not set in this process, so the hub's box-widget service at "
            f"{url} cannot know who you are. {HOW_TO}"
        )
        raise AuthorityUnreachable(msg, tried=(url,))
    # Plain http is allowed to any host here, as for JUPYTERHUB_API_URL: on a hub the service
    # is reached on the hub's own network (e.g. http://hub:8081 in Kubernetes).
    url = url if url.endswith("/") else url + "/"
    return Authority(
        url=url,
        token=token,
        label=f"The hub's box-widget service at {url}",
        how_to=HOW_TO,
        refused=f"refused this process's hub token ({HUB_TOKEN_ENV})",
        missing="has no box-widget API there (is that the service's URL?)",
    )


class HubTokenSource(AuthorityTokenSource):
    """A token source that asks the hub's service for access tokens (the service refreshes,
    single-flight, with the secret only it holds)."""

    prefix = CONNECTIONS

    def find(self) -> Authority:
        """The service named by this process's environment."""
        return service()


class HubService:
    """The service's JSON API for the hub user whose token this process holds."""

    def __init__(self, authority: Authority | None = None) -> None:
        self.authority = authority or service()

    def __repr__(self) -> str:
        return f"HubService(url={self.authority.url!r})"

    @property
    def url(self) -> str:
        """The service's base URL."""
        return self.authority.url

    def status(self) -> dict[str, Any]:
        """The service's status for this hub user (``api/status``: app, endpoints, callback
        path, connections; no secret)."""
        return self.authority.ask("GET", f"{API}/status")

    def summaries(self) -> list[ConnectionSummary]:
        """This hub user's connections, as the service keeps them."""
        found = self.status().get("connections") or []
        return [ConnectionSummary.from_status(item) for item in found if isinstance(item, dict)]

    def summary(self, name: str) -> ConnectionSummary:
        """One connection's summary (not connected when the service has none of that name)."""
        path = f"{CONNECTIONS}/{name}"
        answer = self.authority.answer("GET", path, connection=name, missing_ok=True)
        if answer is None:
            return ConnectionSummary(name=name)
        return ConnectionSummary.from_status({**answer, "name": name})

    def sign_in(self, name: str) -> str:
        """A new single-use authorize address at Box for ``name`` (the service's app and its
        one redirect URI; the pending sign-in is the service's, bound to this hub user)."""
        answer = self.authority.ask("POST", f"{CONNECTIONS}/{name}/sign-in", {}, connection=name)
        return str(answer["authorization_url"])

    def complete(self, name: str, redirected_url: str) -> BoxUser:
        """Finish a sign-in from the address Box redirected to (the headless paste path): the
        service exchanges the code; the Box user."""
        answer = self.authority.ask(
            "POST",
            f"{CONNECTIONS}/{name}/complete",
            {"redirected_url": redirected_url},
            connection=name,
        )
        return box_user(answer.get("user") or {})

    def revoke(self, name: str) -> bool:
        """Have the service revoke ``name`` at Box and delete it; whether there was one."""
        return HubTokenSource(name, authority=self.authority).revoke()

    def audit(self, name: str) -> list[dict[str, Any]]:
        """``name``'s audit trail as the service keeps it (no token material)."""
        answer = self.authority.ask("GET", f"{CONNECTIONS}/{name}/audit", connection=name)
        events = answer.get("events") or []
        return [event for event in events if isinstance(event, dict)]

    def mint_grant(self, name: str, **options: Any) -> WorkerGrant:
        """A new worker grant for ``name`` from the service (``options``: ``scope``,
        ``expires_in``, ``downscope``): its workers ask the service for access tokens."""
        path = f"{CONNECTIONS}/{name}/grants"
        return grant_source.mint(name, server=self.authority, path=path, **options)

    def grants(self) -> list[dict[str, Any]]:
        """This hub user's worker grants (no secret)."""
        found = self.authority.ask("GET", GRANTS).get("grants") or []
        return [grant for grant in found if isinstance(grant, dict)]

    def revoke_grant(self, grant_id: str) -> bool:
        """Revoke one of this hub user's grants; whether it was live (another user's or an
        unknown one: ``not_found``)."""
        return bool(self.authority.ask("DELETE", f"{GRANTS}/{grant_id}").get("revoked"))

    def token_source(self, name: str) -> HubTokenSource:
        """The token source of a session for ``name``."""
        return HubTokenSource(name, authority=self.authority)
