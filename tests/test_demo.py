"""``box-widget demo`` without a browser: what it starts, what its kernels see, how it stops.

(The same command in Chromium, through Generate, is ``tests/browser/test_demo.py``.)
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
from pathlib import Path

import pytest
from support.demo_process import (
    check_all_gone,
    command_line,
    demo_command,
    demo_prefix,
    readme_main_command,
    start_demo,
)
from support.secret_scan import scan

from box_widget.cli.demo_lab import copy_notebooks, shipped_notebooks

pytestmark = pytest.mark.timeout(180)


def digests(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.ipynb"))
    }


def test_the_readme_main_command_installs_the_demo_extra_and_runs_the_demo() -> None:
    line = readme_main_command()
    steps = [step.strip() for step in line.split("&&")]
    assert steps[0] == "python3 -m venv .venv"
    assert steps[1] == '.venv/bin/pip install -e ".[demo]"'
    assert demo_command()[1:] == ["demo"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_demo_serves_lab_with_the_emulator_and_stops_on_a_signal(
    signum: signal.Signals, tmp_path: Path
) -> None:
    demo = start_demo(tmp_path, "--no-browser", "--port", "0")
    try:
        work = tmp_path / "box-widget-demo"
        assert digests(work) == digests(shipped_notebooks())
        assert demo.url.endswith(f"/lab/tree/getting-started.ipynb?token={demo.token}")
        status = demo.api("GET", "box-widget/api/status")
        assert status.status_code == 200  # the server extension is loaded
        server = status.json()
        assert server["vault"] == {
            "home": str(demo.vault),
            "encrypted": True,
            "key_source": "file",
        }  # the demo vault, no OS keyring
        assert server["endpoints"]["token_url"] == f"{demo.emulator_url}/oauth2/token"
        assert server["client_secret_configured"] is True
        assert demo.api("GET", "api/contents/getting-started.ipynb").status_code == 200

        kernel = demo.api("POST", "api/kernels").json()
        started = demo.descendants()
        kernels = [p for p in started if "ipykernel_launcher" in command_line(p)]
        assert len(kernels) == 1, [command_line(p) for p in started]
        env = kernels[0].environ()
        apps = demo.api("GET", "api/kernels").json()
        assert [k["id"] for k in apps] == [kernel["id"]]
        assert env["BOX_WIDGET_HOME"] == str(demo.vault)
        assert env["BOX_API_URL"] == f"{demo.emulator_url}/2.0"
        assert env["BOX_AUTHORIZE_URL"] == f"{demo.emulator_url}/api/oauth2/authorize"
        assert env["BOX_CLIENT_ID"] == server["client_id"]
        assert env["BOX_CLIENT_SECRET"]
        assert env["BOX_WIDGET_KEYRING"] == "0"
        assert Path(env["JUPYTER_PATH"].split(":")[0]) == demo_prefix() / "share" / "jupyter"
        secret = env["BOX_CLIENT_SECRET"]

        assert demo.stop(signum) == 0  # a kill, or the terminal closing
        rest = demo.rest()
        assert "Stopped." in rest
        check_all_gone(demo, started)
        # never printed, nor logged by JupyterLab or the kernel
        assert scan({secret}, texts={"stdout": "".join(demo.lines) + rest}, paths=[demo.log]) == {}
    finally:
        demo.kill()


def test_a_killed_demo_leaves_nothing_running(tmp_path: Path) -> None:
    """SIGKILL (or the out-of-memory killer) gives the demo no chance to stop what it started:
    its watchdog process does it, JupyterLab and its kernel end, the demo vault is deleted."""
    demo = start_demo(tmp_path, "--no-browser", "--port", "0")
    try:
        scratch = demo.vault.parent
        assert demo.api("POST", "api/kernels").status_code == 201
        started = demo.descendants()
        assert any("ipykernel_launcher" in command_line(p) for p in started)
        assert any("box_widget.cli.demo_watchdog" in command_line(p) for p in started)
        assert scratch.is_dir()
        assert demo.stop(signal.SIGKILL) == -signal.SIGKILL
        # the watchdog too, once done; it gives Lab up to 10 s to exit on SIGTERM
        check_all_gone(demo, started, wait=30)
        assert not scratch.exists(), "the demo's scratch folder was left behind"
    finally:
        demo.kill()


def test_copies_keep_the_users_edits(tmp_path: Path) -> None:
    edited = tmp_path / "getting-started.ipynb"
    edited.write_text("{}")
    assert copy_notebooks(tmp_path) == ["several-accounts.ipynb", "unattended.ipynb"]
    assert edited.read_text() == "{}"
    assert copy_notebooks(tmp_path) == []


def test_a_folder_it_cannot_use_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    result = subprocess.run(
        demo_command("--no-browser", "--port", "0", "--dir", "taken"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "cannot copy the notebooks into" in result.stderr
    assert "--dir" in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_exits_1_when_jupyterlab_dies(tmp_path: Path) -> None:
    demo = start_demo(tmp_path, "--no-browser", "--port", "0")
    try:
        (lab,) = [p for p in demo.descendants() if " -m jupyterlab " in command_line(p)]
        lab.kill()
        assert demo.proc.wait(45) == 1
        demo.rest()
        assert "JupyterLab exited" in demo.log.read_text()
        check_all_gone(demo, [lab])
    finally:
        demo.kill()
