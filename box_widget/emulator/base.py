"""Request handling shared by every emulator route: faults, request ids, Box's error shapes."""

from __future__ import annotations

import json
import logging
from asyncio import Future, sleep
from collections.abc import Mapping
from http.client import responses
from typing import Any

from tornado.http1connection import HTTP1Connection
from tornado.web import HTTPError, RequestHandler

from .core import request_id
from .errors import STATUS_CODES, BoxError, OAuthError, PageError, Unauthorized
from .pages import error_page, index_page
from .state import EmulatorState

log = logging.getLogger(__name__)
KNOWN_ERRORS = (BoxError, OAuthError, PageError, Unauthorized)
HOLD_POLL = 0.01  # seconds between looks at a held request's release


class BaseHandler(RequestHandler):
    """Applies injected faults and turns every failure into Box's answer, never a traceback."""

    state: EmulatorState
    #: Streamed uploads get an injected error status after their body is read, as an HTTP server
    #: that reads the request first does: answering early and closing with unread bytes makes
    #: the client's kernel reset the connection, and the client may never see the status.
    read_body_first = False
    _drop_after = False
    _status_after: int | None = None
    _fault_headers: dict[str, str] = {}  # noqa: RUF012 - replaced per request, never mutated

    def initialize(self, state: EmulatorState) -> None:
        self.state = state

    @property
    def rid(self) -> str:
        """This request's id (also sent as the ``box-request-id`` header)."""
        if not hasattr(self, "_rid"):
            self._rid = request_id()
        return self._rid

    def set_default_headers(self) -> None:
        self.set_header("box-request-id", self.rid)
        for name, value in self._fault_headers.items():
            self.set_header(name, value)

    async def prepare(self) -> None:
        fault = self.state.faults.take(self.request.method or "GET", self.request.path)
        if fault is None:
            return
        if fault.delay:
            await sleep(fault.delay)
        while fault.hold and not fault.released.is_set():
            await sleep(HOLD_POLL)
        if fault.drop and not fault.after:
            self.drop()
        elif fault.drop:
            self._drop_after = True
        elif fault.status is not None and fault.after:  # do the work, then fail
            self._status_after = fault.status
        elif fault.status is not None:
            if fault.retry_after is not None:
                self._fault_headers = {"Retry-After": str(fault.retry_after)}
            if fault.status < 300:
                self.clear()
                self.set_status(fault.status)
                self.finish()
            elif self.read_body_first:  # answer once the body is in (see read_body_first)
                status = fault.status
                setattr(
                    self,
                    (self.request.method or "GET").lower(),
                    lambda *_args, **_kwargs: self.send_fault(status),
                )
            else:
                self.send_fault(fault.status)

    def send_fault(self, status: int) -> None:
        """Answer an injected error status in this route's error shape."""
        self.fail(BoxError(status))

    def drop(self) -> None:
        """Close the connection without answering (a network fault)."""
        connection = self.request.connection
        assert isinstance(connection, HTTP1Connection)
        connection.detach().close()
        self._finished = True  # tornado's own flag: nothing more is written

    def finish(self, chunk: str | bytes | dict[str, Any] | None = None) -> Future[None]:
        status = self._status_after
        if self._drop_after or status is not None:
            if status is not None:  # the work is done: its answer is replaced by the error
                self._status_after = None
                self.send_fault(status)
            else:
                self.drop()
            done: Future[None] = Future()
            done.set_result(None)
            return done
        return super().finish(chunk)

    def write_json(
        self, body: Any, status: int = 200, headers: Mapping[str, str] | None = None
    ) -> None:
        """Send a JSON body."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            self.set_header(name, value)
        self.finish(json.dumps(body))

    def single_args(self, arguments: dict[str, list[bytes]], what: str) -> dict[str, str]:
        """Arguments as single strings; a repeated or non-UTF-8 one is an error."""
        single: dict[str, str] = {}
        for name, values in arguments.items():
            if len(values) > 1:
                raise self.bad_argument(name, f"The {what} parameter '{name}' is repeated")
            try:
                single[name] = values[0].decode("utf-8")
            except UnicodeDecodeError:
                message = f"The {what} parameter '{name}' is not UTF-8"
                raise self.bad_argument(name, message) from None
        return single

    def bad_argument(self, name: str, message: str) -> Exception:
        """The error for a malformed argument, in this route's shape."""
        return BoxError(
            400,
            "bad_request",
            message,
            context_info={
                "errors": [{"reason": "invalid_parameter", "name": name, "message": message}]
            },
        )

    def fail(self, exc: BaseException) -> None:
        """Answer a known error (used by write_error and by fault injection)."""
        self.clear()
        if isinstance(exc, BoxError):
            for name, value in exc.headers.items():
                self.set_header(name, value)
            self.write_json(exc.body(self.rid), exc.status)
        elif isinstance(exc, OAuthError):
            self.write_json(exc.body(), exc.status, {"Cache-Control": "no-store"})
        elif isinstance(exc, Unauthorized):
            self.set_status(401)
            self.set_header("WWW-Authenticate", exc.header())
            self.finish()
        elif isinstance(exc, PageError):
            self.set_status(exc.status)
            self.finish(error_page(exc.error, exc.description))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, KNOWN_ERRORS):
            self.fail(exc)
            return
        if not isinstance(exc, HTTPError):
            status_code = 500
        self.fail(self.status_error(status_code))

    def status_error(self, status: int) -> Exception:
        """A bare HTTP status in this route's error shape."""
        return BoxError(status)

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if isinstance(value, (*KNOWN_ERRORS, HTTPError)):
            return
        log.error("emulator error on %s %s", self.request.method, self.request.path, exc_info=value)


class OAuthHandler(BaseHandler):
    """Token and revoke endpoints: errors as ``{error, error_description}``."""

    def bad_argument(self, name: str, message: str) -> Exception:
        return OAuthError("invalid_request", message)

    def status_error(self, status: int) -> Exception:
        if status >= 500:
            error = "temporarily_unavailable" if status == 503 else "server_error"
            return OAuthError(error, "The server is unable to handle the request", status)
        if status == 429:
            return OAuthError("rate_limit_exceeded", "Request rate limit exceeded", 429)
        return OAuthError("invalid_request", responses.get(status, "Bad Request"), status)

    def send_fault(self, status: int) -> None:
        self.fail(self.status_error(status))

    def form(self) -> dict[str, str]:
        """The form body as single values (JSON or other bodies parse to nothing)."""
        if len(self.request.body) > 16 * 1024:
            raise OAuthError("invalid_request", "The request body is too large")
        return self.single_args(self.request.body_arguments, "body")


class PageHandler(BaseHandler):
    """Browser pages: errors as an HTML page."""

    def bad_argument(self, name: str, message: str) -> Exception:
        return PageError("invalid_request", message)

    def status_error(self, status: int) -> Exception:
        return PageError(STATUS_CODES.get(status, "error"), responses.get(status, "Error"), status)

    def send_fault(self, status: int) -> None:
        self.fail(self.status_error(status))


class FaviconHandler(RequestHandler):
    """``/favicon.ico``: no icon, and no 404 in the browser's console on every emulator page."""

    def get(self) -> None:
        self.set_status(204)
        self.finish()


class IndexHandler(RequestHandler):
    """``/``: a page that says what this server is, its apps and its users."""

    def initialize(self, state: EmulatorState) -> None:
        self.state = state

    def get(self) -> None:
        apps = [app.name for app in self.state.oauth.apps.values()]
        users = [(user.name, user.login) for user in self.state.people()]
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(index_page(apps, users))


class NotFoundHandler(BaseHandler):
    """Any route the emulator does not serve: Box's 404 body."""

    def prepare(self) -> None:  # type: ignore[override]
        raise BoxError(404, "not_found", "Not Found")
