"""A local Box for the demo and the tests: OAuth 2.0 and the API subset box-widget uses.

See ``docs/emulator.md`` for its routes and switches.
"""

from __future__ import annotations

from .consent import ConsentPageError
from .core import Fault
from .server import BoxEmulator

__all__ = ["BoxEmulator", "ConsentPageError", "Fault"]
