"""What the vault stores, typed, and the one summary of a connection every caller shows.

The vault keeps JSON; these ``TypedDict`` types describe exactly that JSON, so records stay
plain data on disk while mypy checks every field read or written. ``summarize`` is the one place
that works out "connected, as whom, until when" from a record: the status API, the form, the
command line and ``BoxConnection`` all use it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, cast

from typing_extensions import NotRequired

#: The version written into new connection records.
RECORD_VERSION = 1
#: The Box user fields a connection keeps.
USER_FIELDS = ("id", "name", "login")
#: What every caller says of a connection whose refresh token Box refused (``signed_out_at``).
SIGNED_OUT = "Box refused this connection's sign-in; sign in again (Generate)"


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
    None, and the server refreshes and revokes it with its secret as configured at that time.
    Without ``token`` but with ``signed_out_at``: Box refused its refresh token then (the dead
    tokens are dropped); it must be signed in again."""

    name: str
    kind: Literal["oauth", "client_credentials"]
    client_id: str
    client_secret: str | None
    endpoints: dict[str, str]
    token: NotRequired[Token]
    user: BoxUser | None
    connected_at: float
    version: NotRequired[int]
    redirect_uri: NotRequired[str | None]
    subject_type: NotRequired[str]
    subject_id: NotRequired[str]
    refreshed_at: NotRequired[float]
    refreshing: NotRequired[RefreshMark]
    app: NotRequired[Literal["server"]]
    signed_out_at: NotRequired[float]


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


def signed_out(record: ConnectionRecord, at: float | None = None) -> ConnectionRecord:
    """``record`` after Box refused its refresh token: the dead tokens (and any refresh mark)
    dropped, ``signed_out_at`` set; the rest (the Box user, the app) kept for the summary."""
    kept = {k: v for k, v in record.items() if k not in ("token", "refreshing")}
    return cast("ConnectionRecord", {**kept, "signed_out_at": time.time() if at is None else at})


def signed_out_words(name: str) -> str:
    """The error message of a connection Box signed out (see ``SIGNED_OUT``)."""
    return f"Connection {name!r}: {SIGNED_OUT}."


def not_connected_words(name: str, signed_out: bool) -> str:
    """The error message of using a connection that has no tokens."""
    return signed_out_words(name) if signed_out else f"Connection {name!r} is not connected yet."


def usable(record: ConnectionRecord | None) -> bool:
    """Whether a saved connection can still get an access token (a refresh token, or a live
    client-credentials token)."""
    if not record or "token" not in record:
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
    #: When Box refused the connection's refresh token (it must be signed in again), else None.
    signed_out_at: float | None = None

    @property
    def signed_out(self) -> bool:
        """Whether Box refused the connection's refresh token: it must be signed in again."""
        return self.signed_out_at is not None and not self.connected

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
            "signed_out_at": self.signed_out_at,
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
        signed_out_at = status.get("signed_out_at")
        return cls(
            name=str(status["name"]),
            connected=connected,
            kind=status.get("kind"),
            user=user,
            expires_at=float(expires_at) if expires_at else None,
            refreshable=connected,
            connected_at=float(connected_at) if connected_at else None,
            signed_out_at=float(signed_out_at) if signed_out_at and not connected else None,
        )


def summarize(name: str, record: ConnectionRecord | None) -> ConnectionSummary:
    """The summary of a saved connection (or of none)."""
    if not record or "token" not in record:
        if not record:
            return ConnectionSummary(name=name)
        signed_out_at = record.get("signed_out_at")
        return ConnectionSummary(
            name=name,
            kind=record["kind"],
            user=record.get("user"),
            connected_at=record.get("connected_at"),
            signed_out_at=float(signed_out_at) if signed_out_at else None,
        )
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
