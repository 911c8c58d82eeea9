"""What the vault stores, typed, and the one summary of a connection every caller shows.

The vault keeps JSON; these ``TypedDict`` types describe exactly that JSON, so records stay
plain data on disk while mypy checks every field read or written. ``summarize`` is the one place
that works out "connected, as whom, until when" from a record: the status API, the form, the
command line and ``BoxConnection`` all use it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from typing_extensions import NotRequired

#: The version written into new connection records.
RECORD_VERSION = 1
#: The Box user fields a connection keeps.
USER_FIELDS = ("id", "name", "login")


class Token(TypedDict):
    """A token Box issued, as saved (``expires_at``: seconds since the epoch)."""

    access_token: str
    expires_in: float
    expires_at: float
    refresh_token: NotRequired[str]
    token_type: NotRequired[str]


class BoxUser(TypedDict):
    """The Box user a connection signed in as."""

    id: str | None
    name: str | None
    login: str | None


class RefreshMark(TypedDict):
    """A refresh in flight: the process spending the refresh token, and what became of it."""

    pid: int
    at: float
    lost: NotRequired[bool]
    status: NotRequired[int]


class ConnectionRecord(TypedDict):
    """A saved connection. ``app: "server"``: made with the Jupyter server's Box app
    (``c.BoxWidgetApp.client_id``/``client_secret``), kept by reference: ``client_secret`` is
    None, and the server refreshes and revokes it with its secret as configured at that time."""

    name: str
    kind: Literal["oauth", "client_credentials"]
    client_id: str
    client_secret: str | None
    endpoints: dict[str, str]
    token: Token
    user: BoxUser | None
    connected_at: float
    version: NotRequired[int]
    redirect_uri: NotRequired[str | None]
    subject_type: NotRequired[str]
    subject_id: NotRequired[str]
    refreshed_at: NotRequired[float]
    refreshing: NotRequired[RefreshMark]
    app: NotRequired[Literal["server"]]


class PendingSignIn(TypedDict):
    """A sign-in waiting for Box's redirect, keyed in the vault by its ``state``."""

    name: str
    client_id: str
    client_secret: str | None
    redirect_uri: str
    endpoints: dict[str, str]
    created_at: NotRequired[float]
    #: The hub user who started it (the hub service's sign-ins only).
    hub_user: NotRequired[str]


def box_user(body: dict[str, Any]) -> BoxUser:
    """The fields a connection keeps of Box's ``users/me`` answer."""
    return BoxUser(id=body.get("id"), name=body.get("name"), login=body.get("login"))


def uses_server_app(record: ConnectionRecord | None) -> bool:
    """Whether a saved connection was made with the Jupyter server's Box app (see
    ``ConnectionRecord``): its tokens are refreshed and revoked by that server."""
    return record is not None and record.get("app") == "server"


def usable(record: ConnectionRecord | None) -> bool:
    """Whether a saved connection can still get an access token (a refresh token, or a live
    client-credentials token)."""
    if not record or not record.get("token"):
        return False
    token = record["token"]
    return bool(token.get("refresh_token")) or time.time() < float(token.get("expires_at", 0))


@dataclass(frozen=True)
class ConnectionSummary:
    """What may be shown of a connection: never token material beyond the last 4 characters."""

    name: str
    connected: bool = False
    kind: str | None = None
    user: BoxUser | None = None
    #: When the access token expires (seconds since the epoch); None without a token.
    expires_at: float | None = None
    #: The access token's last 4 characters ("" without a token), for the form.
    token_hint: str = ""
    #: Whether a refresh token is saved (so an expired access token renews on next use).
    refreshable: bool = False
    #: When the connection was made (seconds since the epoch): a new sign-in changes it.
    connected_at: float | None = None
    #: Why the record could not be read (``"unreadable"``), else None.
    error: str | None = None
    #: What is wrong with an unreadable record, in words (its file, the reason), else "".
    problem: str = ""

    @property
    def user_name(self) -> str | None:
        """The Box user's name, if known."""
        return self.user["name"] if self.user else None

    @property
    def login(self) -> str | None:
        """The Box user's login (an email address), if known."""
        return self.user["login"] if self.user else None

    def to_status(self) -> dict[str, Any]:
        """The status API's JSON for this connection (no token material at all); another
        process reads it back with ``from_status``."""
        if self.error:
            return {"name": self.name, "connected": False, "error": self.error}
        return {
            "name": self.name,
            "connected": self.connected,
            "kind": self.kind,
            "user": {"name": self.user_name, "login": self.login},
            "expires_at": self.expires_at,
            "connected_at": self.connected_at,
        }

    @classmethod
    def from_status(cls, status: dict[str, Any]) -> ConnectionSummary:
        """The summary another process (the hub's service) gave as ``to_status``: no token
        hint, and ``refreshable`` while connected (that process refreshes)."""
        if status.get("error"):
            what = "its record cannot be read where it is kept; sign in again to replace it"
            return cls(name=str(status["name"]), error=str(status["error"]), problem=what)
        shown = status.get("user") or {}
        user = (
            BoxUser(id=shown.get("id"), name=shown.get("name"), login=shown.get("login"))
            if shown.get("login") or shown.get("name")
            else None
        )
        connected = bool(status.get("connected"))
        expires_at = status.get("expires_at")
        connected_at = status.get("connected_at")
        return cls(
            name=str(status["name"]),
            connected=connected,
            kind=status.get("kind"),
            user=user,
            expires_at=float(expires_at) if expires_at else None,
            refreshable=connected,
            connected_at=float(connected_at) if connected_at else None,
        )


def summarize(name: str, record: ConnectionRecord | None) -> ConnectionSummary:
    """The summary of a saved connection (or of none)."""
    if not record or not record.get("token"):
        return ConnectionSummary(name=name, kind=record["kind"] if record else None)
    token = record["token"]
    expires_at = token.get("expires_at")
    return ConnectionSummary(
        name=name,
        connected=usable(record),
        kind=record.get("kind"),
        user=record.get("user"),
        expires_at=float(expires_at) if expires_at else None,
        token_hint=str(token.get("access_token", ""))[-4:],
        refreshable=bool(token.get("refresh_token")),
        connected_at=record.get("connected_at"),
    )
