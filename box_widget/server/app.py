"""The Jupyter server extension application."""

from __future__ import annotations

from jupyter_server.extension.application import ExtensionApp

from .._version import __version__


class BoxWidgetApp(ExtensionApp):
    """The box-widget server extension: the OAuth callback route and the status API."""

    name = "box_widget"
    version = __version__
    load_other_extensions = True

    def initialize_handlers(self) -> None:
        """Register the extension's routes (none until the callback route lands)."""
