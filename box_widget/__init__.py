"""box-widget: connect Jupyter notebooks to Box over OAuth 2.0.

Importing this package stays light: it never imports jupyter_server (the server extension is
loaded by the Jupyter server, not by kernels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .endpoints import BoxEndpoints
from .errors import (
    AuthorizationError,
    BoxAPIError,
    BoxUnavailable,
    BoxWidgetError,
    ConfigurationError,
    ReauthorizationRequired,
    VaultError,
    VaultUnreadable,
    VaultWriteError,
)

if TYPE_CHECKING:
    from .connection import BoxConnection, connections
    from .session import BoxSession

#: Loaded on first use, so that ``import box_widget`` stays light in a kernel.
_LAZY = {"BoxConnection": "connection", "connections": "connection", "BoxSession": "session"}

__all__ = [
    "AuthorizationError",
    "BoxAPIError",
    "BoxConnection",
    "BoxEndpoints",
    "BoxSession",
    "BoxUnavailable",
    "BoxWidgetError",
    "ConfigurationError",
    "ReauthorizationRequired",
    "VaultError",
    "VaultUnreadable",
    "VaultWriteError",
    "__version__",
    "connections",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        from importlib import import_module

        value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Tell the Jupyter server where the extension app lives (imported only by the server)."""
    from .server.app import BoxWidgetApp

    return [{"module": "box_widget.server.app", "app": BoxWidgetApp}]
