"""Keep the form's secret message out of log records, whoever logs widget messages.

The ``comm`` package logs every widget message at DEBUG, the form's ``secret`` message
included; a filter on those loggers puts ``***`` in place of the secret (found by the secret
scan).
"""

from __future__ import annotations

import logging
from typing import Any

from .protocol import SECRET

#: The loggers that log widget messages' content.
LOGGERS = ("Comm",)


class RedactSecretMessages(logging.Filter):
    """Replace the value of the form's secret message in a record's arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(without_secret(arg) for arg in record.args)
        return True


def without_secret(message: Any) -> Any:
    """``message`` (a Jupyter message), with the form's secret replaced by ``***``."""
    try:
        content = message["content"]
        data = content["data"]
        inner = data["content"]
    except (KeyError, TypeError, IndexError):
        return message
    if not isinstance(inner, dict) or inner.get("type") != SECRET:
        return message
    redacted = {**inner, "value": "***"}
    return {**message, "content": {**content, "data": {**data, "content": redacted}}}


def install() -> None:
    """Add the filter to every logger that logs widget messages (once)."""
    for name in LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactSecretMessages) for f in logger.filters):
            logger.addFilter(RedactSecretMessages())
