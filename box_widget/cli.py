"""The ``box-widget`` command line."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._version import __version__

DEFAULT_EMULATOR_PORT = 8765

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


def _emulator(args: argparse.Namespace) -> int:
    from .emulator import BoxEmulator

    emulator = BoxEmulator(
        host=args.host,
        port=args.port,
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_uris=args.redirect_uri or None,
    )
    if args.token_lifetime:
        emulator.settings.access_token_lifetime = args.token_lifetime
    try:
        emulator.listen()
    except OSError as exc:
        print(
            f"box-widget: cannot listen on {args.host}:{args.port}: {exc.strerror}. "
            "Pass --port 0 to use any free port.",
            file=sys.stderr,
        )
        return 2
    app = emulator.app
    lines = [
        f"Box emulator {__version__} listening on {emulator.url} (Ctrl-C to stop)",
        "",
        "Endpoints (export these to point box-widget at the emulator):",
        *(f"  {name}={value}" for name, value in emulator.endpoints.to_env().items()),
        "",
        f"Demo app {app.name!r}:",
        f"  BOX_CLIENT_ID={app.client_id}",
        f"  BOX_CLIENT_SECRET={app.client_secret}",
        f"  redirect URIs: {', '.join(app.redirect_uris)} (loopback: any port)",
        f"  client credentials: box_subject_type=enterprise box_subject_id={app.enterprise_id}",
        "",
        "Users: " + ", ".join(f"{u.name} <{u.login}> (id {u.id})" for u in emulator.users),
    ]
    print("\n".join(lines), flush=True)
    emulator.serve_forever()
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import Demo, DemoOptions

    options = DemoOptions(
        folder=Path(args.dir),
        port=args.port,
        emulator_port=args.emulator_port,
        open_browser=not args.no_browser,
    )
    return Demo(options).run()


def _add_demo(commands: Any) -> None:
    demo = commands.add_parser(
        "demo",
        help="try it all: the Box emulator and JupyterLab with a getting-started notebook",
        description="Start a local Box emulator and JupyterLab on 127.0.0.1, with new "
        "connections pointed at the emulator (its demo app's Client ID and Secret "
        "pre-filled, its Redirect URL registered: nothing to set up), open "
        "getting-started.ipynb in the browser, and print its address. Ctrl-C stops "
        "JupyterLab, its kernels and the emulator. Needs the demo extras: pip "
        "install 'box-widget[demo]'.",
    )
    demo.add_argument(
        "--port",
        type=int,
        metavar="N",
        help="JupyterLab's port (default 8888, or any free port when 8888 is "
        "taken; 0 for any free port)",
    )
    demo.add_argument(
        "--emulator-port",
        type=int,
        default=0,
        metavar="N",
        help="the emulator's port (default: any free port)",
    )
    demo.add_argument(
        "--dir",
        default="box-widget-demo",
        metavar="FOLDER",
        help="where the notebooks are copied and JupyterLab starts; copies "
        "already there are kept (default: ./box-widget-demo)",
    )
    demo.add_argument(
        "--no-browser",
        action="store_true",
        help="do not open a browser; just print the address (remote machines)",
    )
    demo.set_defaults(run=_demo)


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
    _add_demo(commands)
    emulator = commands.add_parser(
        "emulator",
        help="run a local Box (OAuth pages, token endpoint, API) on loopback",
        description="Run the Box emulator in the foreground and print its endpoints.",
    )
    emulator.add_argument("--host", default="127.0.0.1", help="address to listen on")
    emulator.add_argument(
        "--port",
        type=int,
        default=DEFAULT_EMULATOR_PORT,
        help=f"port (default {DEFAULT_EMULATOR_PORT}; 0 for any free port)",
    )
    emulator.add_argument("--client-id", help="the demo app's client id (default: random)")
    emulator.add_argument("--client-secret", help="the demo app's secret (default: random)")
    emulator.add_argument(
        "--redirect-uri",
        action="append",
        metavar="URI",
        help="a redirect URI to register for the demo app (repeatable)",
    )
    emulator.add_argument(
        "--token-lifetime",
        type=int,
        metavar="SECONDS",
        help="access-token lifetime (expires_in); default 3600",
    )
    emulator.set_defaults(run=_emulator)
    from .cli_connections import add_commands

    add_commands(commands)
    from .cli_audit import add_command as add_audit_command

    add_audit_command(commands)
    for command in commands.choices.values():
        command.epilog = EXIT_CODES
        command.formatter_class = HelpFormatter
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``box-widget`` command."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from .errors import BoxWidgetError, ConfigurationError

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


if __name__ == "__main__":
    sys.exit(main())
