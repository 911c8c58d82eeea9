"""``box-widget demo``: try it all, the Box emulator and JupyterLab with a getting-started
notebook. The command's options are here; the run is ``demo_run``, JupyterLab ``demo_lab``,
and what ends them if the demo dies ``demo_watchdog`` (those need the demo extras, imported
only when the demo runs).
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class DemoOptions:
    """What ``box-widget demo`` was asked for."""

    folder: Path  # where the notebooks are copied and JupyterLab's root is
    port: int | None = None  # JupyterLab's port: None for 8888 (else any free one), 0 for any
    emulator_port: int = 0  # the emulator's port: 0 for any free one
    open_browser: bool = True


def run(args: argparse.Namespace) -> int:
    """Run the demo until Ctrl-C (or until JupyterLab exits)."""
    from .demo_run import Demo

    options = DemoOptions(
        folder=Path(args.dir),
        port=args.port,
        emulator_port=args.emulator_port,
        open_browser=not args.no_browser,
    )
    return Demo(options).run()


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``demo`` to the top-level subparsers."""
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
    demo.set_defaults(run=run)
