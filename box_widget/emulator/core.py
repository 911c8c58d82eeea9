"""The emulator's clock, settings, counters and fault switches."""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

_ALNUM = string.ascii_letters + string.digits


def random_token(length: int = 32) -> str:
    """A random alphanumeric string, the shape of Box's tokens and client ids."""
    return "".join(secrets.choice(_ALNUM) for _ in range(length))


def request_id() -> str:
    """A fresh request id, as Box puts in error bodies and the ``box-request-id`` header."""
    return secrets.token_hex(8)


class Clock:
    """Wall-clock time plus an offset that tests move forward."""

    def __init__(self) -> None:
        self._offset = 0.0
        self._lock = threading.Lock()

    def now(self) -> float:
        """Seconds since the epoch, as the emulator sees it."""
        return time.time() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the clock forward (codes and tokens age instantly)."""
        with self._lock:
            self._offset += seconds

    @property
    def offset(self) -> float:
        """How far the clock has been moved forward, in seconds."""
        return self._offset


@dataclass
class Settings:
    """Lifetimes and limits; Box's values by default, changeable by tests."""

    access_token_lifetime: int = 3600
    refresh_token_lifetime: int = 60 * 24 * 3600
    code_lifetime: int = 30
    download_url_lifetime: int = 15 * 60
    direct_upload_limit: int = 50 * 1024 * 1024
    chunked_upload_minimum: int = 20 * 1024 * 1024
    part_size: int = 8 * 1024 * 1024
    upload_session_lifetime: int = 7 * 24 * 3600
    #: Seconds after its first use during which a reused refresh token gets the same pair again
    #: (0: strictly single use, as Box documents). Box has been seen answering a reused refresh
    #: token with the same access token and a shorter ``expires_in`` (docs/box-platform.md,
    #: section 5).
    refresh_reuse_grace: int = 0
    #: The base URL upload sessions name in their ``session_endpoints`` ("": the upload host the
    #: client used, as Box does). A test switch: another host, to which no token may go.
    upload_session_url: str = ""

    #: The settings that may be 0 (a switch that is off); every other one must be positive.
    MAY_BE_ZERO: ClassVar[frozenset[str]] = frozenset({"refresh_reuse_grace"})
    #: The settings that are URLs ("" or http(s)://...), not integers.
    URLS: ClassVar[frozenset[str]] = frozenset({"upload_session_url"})

    def update(self, values: dict[str, Any]) -> None:
        """Set known settings from a dict of positive integers (0 allowed for switches, a URL
        or "" for ``URLS``); reject anything else."""
        known = {f.name for f in fields(self)}
        for name, value in values.items():
            if name not in known:
                msg = f"unknown setting {name!r}"
                raise ValueError(msg)
            if name in self.URLS:
                if not isinstance(value, str) or not (
                    value == "" or value.startswith(("http://", "https://"))
                ):
                    msg = f"setting {name!r} must be an http(s) URL or empty"
                    raise ValueError(msg)
                continue
            least = 0 if name in self.MAY_BE_ZERO else 1
            if not isinstance(value, int) or isinstance(value, bool) or value < least:
                kind = "an integer >= 0" if least == 0 else "a positive integer"
                msg = f"setting {name!r} must be {kind}"
                raise ValueError(msg)
        for name, value in values.items():
            setattr(self, name, value)

    def to_dict(self) -> dict[str, int | str]:
        """The settings as a plain dict."""
        return asdict(self)


@dataclass
class Counters:
    """What the emulator has done, for tests to read."""

    grants: Counter[str] = field(default_factory=Counter)
    refreshes: int = 0
    failed_refreshes: int = 0
    #: Refresh tokens reused within ``Settings.refresh_reuse_grace`` (answered, not rotated).
    reused_refreshes: int = 0
    api_calls: int = 0
    revocations: int = 0
    #: API calls answered 401 because their access token was unknown, expired or revoked.
    rejected_tokens: int = 0
    #: Chunked-upload sessions created (a transfer that restarted would create a second one).
    upload_sessions: int = 0
    #: For each refresh, how many seconds the replaced access token still had to live
    #: (a refresh long before expiry is a wasted one; below zero, the token had expired).
    refresh_margins: list[float] = field(default_factory=list)

    def snapshot(self) -> dict[str, Any]:
        """A copy of the counters as plain data."""
        return {
            "grants": {
                "authorization_code": self.grants["authorization_code"],
                "refresh_token": self.grants["refresh_token"],
                "client_credentials": self.grants["client_credentials"],
                "token_exchange": self.grants["token_exchange"],
            },
            "refreshes": self.refreshes,
            "failed_refreshes": self.failed_refreshes,
            "reused_refreshes": self.reused_refreshes,
            "api_calls": self.api_calls,
            "revocations": self.revocations,
            "rejected_tokens": self.rejected_tokens,
            "upload_sessions": self.upload_sessions,
        }


@dataclass
class Fault:
    """One injected fault: which requests it hits and what it does to them."""

    status: int | None = None
    retry_after: int | None = None
    delay: float = 0.0
    drop: bool = False
    after: bool = False
    path: str = ""
    method: str | None = None
    times: int | None = 1
    #: Hold matching requests unanswered until ``Faults.clear()`` (``clear_faults()``, or
    #: ``DELETE /_emulator/faults``) lets them go on: "while this request is still held".
    hold: bool = False
    #: With a ``status`` below 300: this text as the body (``text/html``), e.g. a proxy's page
    #: where Box's JSON should be; without it, such a status answers an empty body.
    body: str = ""
    released: threading.Event = field(
        default_factory=threading.Event, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.status is not None and not 200 <= self.status <= 599:
            msg = "status must be an HTTP status code"
            raise ValueError(msg)
        if self.delay < 0 or (self.times is not None and self.times < 1):
            msg = "delay must be >= 0 and times >= 1 (or None for always)"
            raise ValueError(msg)
        if self.body and (self.status is None or self.status >= 300 or self.after):
            msg = "body only goes with a status below 300 (and not after=True)"
            raise ValueError(msg)
        if self.after and not (self.drop or self.status):
            msg = "after=True only goes with drop=True or a status"
            raise ValueError(msg)

    def matches(self, method: str, path: str) -> bool:
        """Whether this fault applies to a request."""
        return path.startswith(self.path) and self.method in (None, method.upper())


@dataclass
class PartFault:
    """A failure of one chunked-upload part, answered after its body was read: ``part`` is
    the part's index (None: any part), ``status`` 412 (as if corrupted in transit) or 5xx."""

    status: int = 500
    part: int | None = None
    times: int = 1

    def __post_init__(self) -> None:
        if self.status != 412 and not 500 <= self.status <= 599:
            msg = "a part fault's status must be 412 or 5xx"
            raise ValueError(msg)
        if self.times < 1 or (self.part is not None and self.part < 0):
            msg = "times must be >= 1 and part >= 0"
            raise ValueError(msg)


@dataclass
class TokenExpiry:
    """Expire every live access token once ``after_calls`` more API calls whose path starts with
    ``path`` have come in, just before the next such call is authenticated: the token dies in
    the middle of a transfer, as one issued an hour before a long upload does (refresh tokens
    still work)."""

    after_calls: int = 0
    path: str = ""

    def __post_init__(self) -> None:
        if (
            not isinstance(self.after_calls, int)
            or isinstance(self.after_calls, bool)
            or self.after_calls < 0
        ):
            msg = "after_calls must be an integer >= 0"
            raise ValueError(msg)
        if not isinstance(self.path, str):
            msg = "path must be a string"
            raise ValueError(msg)


class Faults:
    """The list of injected faults; each request takes the first that matches."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._held: list[Fault] = []
        self._parts: list[PartFault] = []
        self._expiries: list[TokenExpiry] = []
        self._lock = threading.Lock()

    def expire_tokens_later(self, expiry: TokenExpiry) -> TokenExpiry:
        """Schedule a ``TokenExpiry`` (``after_calls`` > 0; 0 is done at once by the caller)."""
        with self._lock:
            self._expiries.append(expiry)
        return expiry

    def expiry_due(self, path: str) -> bool:
        """Count an API call to ``path``; True when a scheduled expiry falls due before it (each
        fires once)."""
        due = False
        with self._lock:
            for expiry in list(self._expiries):
                if not path.startswith(expiry.path):
                    continue
                if expiry.after_calls == 0:
                    self._expiries.remove(expiry)
                    due = True
                else:
                    expiry.after_calls -= 1
        return due

    def inject_part(self, fault: PartFault) -> PartFault:
        """Make an upload part fail (see ``PartFault``)."""
        with self._lock:
            self._parts.append(fault)
        return fault

    def take_part(self, index: int) -> int | None:
        """The status a part fault answers for part ``index``, if one matches (used once)."""
        with self._lock:
            for fault in self._parts:
                if fault.part in (None, index):
                    fault.times -= 1
                    if fault.times == 0:
                        self._parts.remove(fault)
                    return fault.status
        return None

    def inject(self, fault: Fault) -> Fault:
        """Add a fault; it applies from the next request on."""
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        """Remove every fault, and let every held request go on."""
        with self._lock:
            for fault in self._faults + self._held:
                fault.released.set()
            self._faults.clear()
            self._held.clear()
            self._parts.clear()
            self._expiries.clear()

    def take(self, method: str, path: str) -> Fault | None:
        """The first fault matching this request, counting it as used once."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times == 0:
                            self._faults.remove(fault)
                    if fault.hold:
                        self._held.append(fault)
                    return fault
        return None
