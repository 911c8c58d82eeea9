"""Secret configuration values kept out of the Jupyter server's log.

With DEBUG logging (``jupyter server --debug``), traitlets logs an application's whole
configuration each time it changes ("Config changed: {...}"), and every application in the
server does: ``ServerApp``, ``BoxWidgetApp`` and the other extensions' apps (``LabApp``,
``JupyterNotebookApp``...), each on a logger of its own (named after its class, not propagating)
and each with the server's whole configuration, ``c.BoxWidgetApp.client_secret`` included
("Loaded config file: ..." lines name only the file).

A filter on a logger only sees the records made on that very logger, and most of those loggers
do not exist yet when the extension is imported; a filter on the root logger sees none of them.
So the mask is applied where every record is made: the log record factory, wrapped once, when
the server imports the extension (``_jupyter_server_extension_points`` imports
``box_widget.server.app``), before any extension app is made or logs its configuration.

What it cannot mask: a record made before the extension is imported. ``jupyter server`` makes
none that holds the secret, whether it comes from a config file or the command line
(``tests/hardening/test_server_log.py`` checks both); but an application that builds
``ServerApp(config=...)`` in its own process logs that config at once, unless it imports
``box_widget.server`` first.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

MASK = "***"


class RedactSecretConfig(logging.Filter):
    """Puts ``***`` in place of the value of every secret-named key in a record's mapping
    arguments (at any depth: a configuration is sections of settings)."""

    def __init__(self, keys: Iterable[str]) -> None:
        super().__init__()
        self.keys = frozenset(keys)

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, Mapping):  # one mapping argument: LogRecord keeps it bare
            record.args = self.masked(args)
        elif isinstance(args, tuple) and any(isinstance(arg, Mapping) for arg in args):
            record.args = tuple(self.masked(arg) for arg in args)
        return True

    def masked(self, value: Any) -> Any:
        """``value`` with every secret-named key's value masked (mappings become dicts)."""
        if not isinstance(value, Mapping):
            return value
        return {
            key: MASK if key in self.keys and value[key] else self.masked(value[key])
            for key in value
        }


_installed: set[str] = set()


def mask_secret_config(keys: Iterable[str]) -> None:
    """Mask these configuration keys in every log record of this process from now on (once
    per key: the record factory is wrapped again only for keys not masked yet)."""
    new = set(keys) - _installed
    if not new:
        return
    redact = RedactSecretConfig(new)
    make_record = logging.getLogRecordFactory()

    def masking_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        redact.filter(record)
        return record

    logging.setLogRecordFactory(masking_factory)
    _installed.update(new)
