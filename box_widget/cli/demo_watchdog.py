"""Ends what ``box-widget demo`` started when the demo itself dies without ending it.

The demo runs this in a process of its own with a pipe on its standard input, which only the
demo holds open. When the demo exits in any way (its own clean stop, a crash, SIGKILL, the
out-of-memory killer), the operating system closes that pipe and the read below returns. A
demo that stopped cleanly has left nothing; after a hard kill, JupyterLab, its kernels and the
demo's scratch folder (the throwaway vault) would otherwise stay behind, holding the port and
the demo tokens.

Usage: ``python -m box_widget.cli.demo_watchdog LAB_PID LAB_CREATE_TIME SCRATCH``.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
from pathlib import Path

import psutil

#: Seconds each process gets to exit on SIGTERM before SIGKILL.
GRACE = 10.0


def end_processes(processes: list[psutil.Process], grace: float = GRACE) -> None:
    """SIGTERM each process, then SIGKILL those still running after ``grace`` seconds."""
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=grace)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=5)


def lab_family(pid: int, create_time: float) -> list[psutil.Process]:
    """JupyterLab and everything under it (kernels), if ``pid`` is still that same process."""
    try:
        lab = psutil.Process(pid)
        if abs(lab.create_time() - create_time) > 0.01:  # the pid was reused by another process
            return []
        return [lab, *lab.children(recursive=True)]
    except psutil.Error:
        return []


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    pid, create_time, scratch = int(argv[0]), float(argv[1]), Path(argv[2])
    sys.stdin.buffer.read()  # returns once the demo's end of the pipe is closed: it has exited
    end_processes(lab_family(pid, create_time))
    shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
