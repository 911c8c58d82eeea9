"""The ``box-widget`` command line.

Each command lives in a module of this package that defines ``register(commands)``: it adds
its subparser to ``commands`` (argparse's subparsers) and sets ``run`` to the function that
carries the command out. ``COMMANDS`` below lists those modules, in the order ``--help`` shows
them; adding a command is a new module and one name there. Registering imports only what the
parser needs: a command imports its heavy parts (the emulator, JupyterLab) when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from .._version import __version__

#: The command modules of this package, in the order ``box-widget --help`` lists their
#: commands (imported by ``build_parser``, so that ``import box_widget.cli`` stays light).
COMMANDS = ("demo", "emulator", "connections", "audit", "grants", "hub")

EXIT_CODES = """exit codes:
  0    done (demo and emulator: stopped with Ctrl-C)
  1    it did not work: Box refused, a code expired, JupyterLab stopped, ... (the message
       says what happened and what to do)
  2    wrong usage or configuration: an unknown option, a missing setting, a busy port
  130  interrupted with Ctrl-C before it finished"""


class HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, except that the exit-code table keeps its lines."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text == EXIT_CODES:
            return text
        return super()._fill_text(text, width, indent)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="box-widget",
        description="Connect Jupyter notebooks to Box over OAuth 2.0.",
        epilog=EXIT_CODES,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"box-widget {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(commands)
    for command in commands.choices.values():
        command.epilog = EXIT_CODES
        command.formatter_class = HelpFormatter
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``box-widget`` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from ..errors import BoxWidgetError, ConfigurationError

    try:
        return int(args.run(args))
    except (ConfigurationError, ValueError) as exc:
        print(f"box-widget: {exc}", file=sys.stderr)
        return 2
    except BoxWidgetError as exc:
        print(f"box-widget: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nbox-widget: interrupted.", file=sys.stderr)
        return 130
