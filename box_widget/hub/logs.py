"""The service's access log: method, path, status and time, never a query string.

Box's redirect brings ``?code=...&state=...``, and JupyterHub's OAuth brings its own code and
state to ``oauth_callback``: tornado's own access log line would write them down. This one
writes the path only (tornado's ``log_function`` setting).
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType

from tornado import web

access_log = logging.getLogger("box_widget.hub.access")


def log_request(handler: web.RequestHandler) -> None:
    """One line per request: status, method, path (no query), duration."""
    status = handler.get_status()
    level = logging.INFO if status < 400 else logging.WARNING
    if status >= 500:
        level = logging.ERROR
    request = handler.request
    access_log.log(
        level,
        "%d %s %s (%s) %.1f ms",
        status,
        request.method,
        request.path,
        request.remote_ip,
        1000.0 * request.request_time(),
    )


class QuietRequestLog(web.RequestHandler):
    """tornado's own lines about a failed request (``log_exception``), without the query
    (tornado writes the whole URI, and on an uncaught error the request's repr)."""

    def _request_summary(self) -> str:
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"

    def log_exception(
        self,
        typ: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(value, web.HTTPError):
            if value.log_message:
                access_log.warning(
                    "%d %s: %s", value.status_code, self._request_summary(), value.log_message
                )
            return
        where = traceback.extract_tb(tb)[-1] if tb is not None else None
        access_log.error(
            "uncaught %s in %s at %s",
            typ.__name__ if typ else "error",
            self._request_summary(),
            f"{where.filename}:{where.lineno}" if where else "?",
        )
