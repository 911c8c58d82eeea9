"""box-widget: connect Jupyter notebooks to Box over OAuth 2.0.

Importing this package stays light: it never imports jupyter_server (the server extension is
loaded by the Jupyter server, not by kernels).
"""

from __future__ import annotations

from typing import Any

from ._version import __version__
from .endpoints import BoxEndpoints
from .errors import (
    AuthorizationError,
    BoxAPIError,
    BoxWidgetError,
    ConfigurationError,
    ReauthorizationRequired,
)

__all__ = [
    "AuthorizationError",
    "BoxAPIError",
    "BoxEndpoints",
    "BoxWidgetError",
    "ConfigurationError",
    "ReauthorizationRequired",
    "__version__",
]


def _jupyter_server_extension_points() -> list[dict[str, Any]]:
    """Tell the Jupyter server where the extension app lives (imported only by the server)."""
    from .server.app import BoxWidgetApp

    return [{"module": "box_widget.server.app", "app": BoxWidgetApp}]
