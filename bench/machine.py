"""What the figures were taken on: CPU, cores, memory, OS, Python, package versions, load."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

PACKAGES = (
    "box-widget",
    "boxsdk",
    "requests",
    "requests-oauthlib",
    "urllib3",
    "tornado",
    "jupyter-server",
    "jupyterlab",
    "anywidget",
    "playwright",
)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return 0.0


def versions() -> dict[str, str]:
    found = {}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    chromium = shutil.which("chromium")
    if chromium:
        try:
            out = subprocess.run(
                [chromium, "--version"], capture_output=True, text=True, timeout=20, check=False
            ).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        found["chromium"] = out.removeprefix("Chromium ").split()[0] if out else "unknown"
    return found


def load_average() -> float:
    return os.getloadavg()[0]


def describe() -> dict[str, object]:
    """The machine, as RESULTS.md shows it (load is filled in by the runner)."""
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memory_gib": memory_gib(),
        "os": f"{platform.system()} {platform.release()} ({platform.platform(terse=True)})",
        "python": platform.python_version(),
        "versions": versions(),
    }
