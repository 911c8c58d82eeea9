"""Keep secrets out of what is logged or printed: the form's secret message in log records
(whoever logs widget messages), and the values of URLs' query strings (``redact_urls``).

The form's ``secret`` message is logged at DEBUG by the ``comm`` package (logger ``Comm``:
``handle_msg[%s](%s)`` with the whole message) and by ipykernel for every shell message (the
kernel application's logger, ``IPKernelApp``: ``   Content: %s`` with the message's content,
then ``%s: %s`` with its type and the whole message). A filter on those loggers puts ``***`` in
place of the secret in the record's arguments, whether an argument is a whole message or its
content (found by the secret scan, ``tests/hardening/test_secret_scan_kernel.py``).
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from .protocol import SECRET

#: A URL in a line of text: up to white space, a quote or a closing bracket.
URL = re.compile(r"""[a-zA-Z][a-zA-Z0-9+.-]*://[^\s"'<>)\]]+""")
#: What stands for a hidden query value or fragment.
HIDDEN = "***"

#: The loggers that log widget messages' content: the comm package's and ipykernel's (its
#: application's logger; ``install`` also adds the running kernel's own, whatever its name).
LOGGERS = ("Comm", "IPKernelApp")


class RedactSecretMessages(logging.Filter):
    """Replace the value of the form's secret message in a record's arguments."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(without_secret(arg) for arg in record.args)
        elif isinstance(record.args, dict):
            record.args = without_secret(record.args)
        return True


def without_secret(message: Any) -> Any:
    """``message`` (a Jupyter message, or a message's ``content``), with the form's secret
    replaced by ``***``; anything else as it is."""
    if isinstance(message, dict) and "content" in message:
        content = without_secret(message["content"])
        return message if content is message["content"] else {**message, "content": content}
    try:
        data = message["data"]
        inner = data["content"]
    except (KeyError, TypeError, IndexError):
        return message
    if not isinstance(inner, dict) or inner.get("type") != SECRET:
        return message
    return {**message, "data": {**data, "content": {**inner, "value": "***"}}}


def install() -> None:
    """Add the filter to every logger that logs widget messages (once)."""
    for logger in [logging.getLogger(name) for name in LOGGERS] + _kernel_logger():
        if not any(isinstance(f, RedactSecretMessages) for f in logger.filters):
            logger.addFilter(RedactSecretMessages())


def _kernel_logger() -> list[logging.Logger]:
    """The running kernel's logger (a kernel application may have another name), if any."""
    try:
        from IPython import get_ipython
    except ImportError:
        return []
    log = getattr(getattr(get_ipython(), "kernel", None), "log", None)
    return [log] if isinstance(log, logging.Logger) else []


def without_query(url: str) -> str:
    """``url`` with every query value and the fragment hidden (``?code=***&state=***``): Box's
    redirect carries its code and state there, and so do other sign-in hops."""
    parts = urlsplit(url)
    if not parts.query and not parts.fragment:
        return url
    names = [name for name, _value in parse_qsl(parts.query, keep_blank_values=True)]
    query = (
        "&".join(f"{name}={HIDDEN}" for name in names) if names else (HIDDEN * bool(parts.query))
    )
    return urlunsplit(parts._replace(query=query, fragment=HIDDEN if parts.fragment else ""))


def redact_urls(text: str) -> str:
    """``text`` with every URL in it passed through ``without_query``."""
    return URL.sub(lambda match: without_query(match.group(0)), text)
