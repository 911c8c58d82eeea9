"""What ``box-widget demo`` keeps to itself and what it shows: every file JupyterLab and its
kernels make in the demo's scratch folder (none in the user's home), stale scratch folders of
killed demos swept, Lab's messages in a log instead of the terminal, Lab's terminal running
this environment's ``box-widget`` on the demo vault, and the form's line for the registered
Redirect URL. The README's sample of the printed block matches what the demo prints."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from support.demo_process import REPO, DemoProcess, command_line, start_demo
from tornado.websocket import websocket_connect

from box_widget import BoxConnection
from box_widget.cli.demo_lab import REDIRECT_HINT
from box_widget.cli.demo_scratch import LOG_FILE, OWNER_FILE, PREFIX, sweep_stale
from box_widget.emulator.consent import consent
from box_widget.endpoints import BoxEndpoints

pytestmark = pytest.mark.timeout(180)
#: What JupyterLab and its kernels warn about, which a person at the demo cannot act on.
NOISE = ("without encryption", "websocket_ping_timeout", "is not trusted")


def isolated(tmp_path: Path) -> dict[str, str]:
    """A home and a temporary folder of the test's own, to see what the demo writes where."""
    (tmp_path / "home").mkdir()
    (tmp_path / "tmp").mkdir()
    return {"HOME": str(tmp_path / "home"), "TMPDIR": str(tmp_path / "tmp")}


def files_under(*folders: Path) -> set[Path]:
    return {p for folder in folders if folder.exists() for p in folder.rglob("*")}


def lab_environ(demo: DemoProcess) -> dict[str, str]:
    (lab,) = [p for p in demo.descendants() if " -m jupyterlab " in command_line(p)]
    return dict(lab.environ())


def wait_for_file(path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.25)


async def terminal_output(demo: DemoProcess, command: str, until: str) -> str:
    """Run ``command`` in a new JupyterLab terminal (its websocket, as the browser does) and
    return what it printed once ``until`` shows."""
    name = demo.api("POST", "api/terminals").json()["name"]
    url = f"ws://127.0.0.1:{demo.port}/terminals/websocket/{name}?token={demo.token}"
    socket = await websocket_connect(url)
    seen = ""
    typed = False
    try:
        while until not in seen:
            if seen and not typed:  # the shell printed its prompt: type, as a person would
                socket.write_message(json.dumps(["stdin", command + "\r"]))
                typed = True
            try:
                message = await asyncio.wait_for(socket.read_message(), 60)
            except asyncio.TimeoutError:
                pytest.fail(f"the terminal never printed {until!r}; it printed {seen!r}")
            assert message is not None, f"the terminal closed; it printed {seen!r}"
            kind, *rest = json.loads(message)
            if kind == "stdout":
                seen += rest[0]
    finally:
        socket.close()
        demo.api("DELETE", f"api/terminals/{name}")
    return seen


def test_the_demo_keeps_its_files_and_messages_to_itself(tmp_path: Path) -> None:
    env = isolated(tmp_path)
    outside = [tmp_path / "home", tmp_path / "jupyter-config", tmp_path / "jupyter-data"]
    outside.append(tmp_path / "jupyter-runtime")
    demo = start_demo(tmp_path, "--no-browser", "--port", "0", env=env)
    try:
        before = files_under(*outside)
        scratch = demo.vault.parent
        assert scratch.parent == tmp_path / "tmp" and scratch.name.startswith(PREFIX)
        owner = json.loads((scratch / OWNER_FILE).read_text())
        assert owner["pid"] == demo.proc.pid
        # What a person does: open the notebook (its trust is checked), run it (a kernel),
        # change a setting, leave tabs open (the workspace), open a terminal.
        assert demo.api("GET", "api/contents/getting-started.ipynb").status_code == 200
        session = {"path": "getting-started.ipynb", "type": "notebook", "kernel": {}}
        assert demo.api("POST", "api/sessions", json=session).status_code == 201
        theme = {"raw": json.dumps({"theme": "JupyterLab Dark"})}
        setting = "lab/api/settings/@jupyterlab/apputils-extension:themes"
        assert demo.api("PUT", setting, json=theme).status_code == 204
        workspace = {"data": {}, "metadata": {"id": "demo"}}
        assert demo.api("PUT", "lab/api/workspaces/demo", json=workspace).status_code == 204
        wait_for_file(scratch / "ipython" / "profile_default" / "history.sqlite")
        assert files_under(*outside) == before, "the demo wrote outside its scratch folder"
        # (then the person's own shell, in Lab's terminal, keeps its history where it does)
        listed = asyncio.run(terminal_output(demo, "box-widget list", "No saved connections"))
        assert f"Vault: {demo.vault} " in listed  # this environment's command, the demo vault
        assert list((scratch / "lab" / "workspaces").glob("demo*.jupyterlab-workspace"))
        assert (scratch / "lab" / "user-settings" / "@jupyterlab").is_dir()
        assert list((scratch / "jupyter-runtime").glob("kernel-*.json"))
        assert (scratch / "jupyter-data" / "nbsignatures.db").is_file()

        wait_for_file(scratch / LOG_FILE)
        logged = (scratch / LOG_FILE).read_text()
        assert "is not trusted" in logged and "without encryption" in logged  # Lab's, kept
        assert demo.wait_for(re.compile("messages go to (.+)"))[1] == str(scratch / LOG_FILE)
        assert demo.stop(signal.SIGTERM) == 0
        printed = demo.rest() + demo.log.read_text()
        assert [word for word in NOISE if word in printed] == []
        assert not scratch.exists()
    finally:
        demo.kill()


def test_lab_and_its_kernels_get_the_demos_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Lab's terminal runs this environment's box-widget on the demo vault (a connection
    saved there shows), and the form's Redirect URL line says the demo registered it."""
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")  # the demo vault's key is its file
    monkeypatch.delenv("BOX_WIDGET_KEY", raising=False)
    demo = start_demo(tmp_path, "--no-browser", "--port", "0", env=isolated(tmp_path))
    try:
        lab = lab_environ(demo)
        assert lab["BOX_WIDGET_REDIRECT_HINT"] == REDIRECT_HINT
        scripts = Path(lab["PATH"].split(os.pathsep)[0])
        assert (scripts / "box-widget").is_file()
        endpoints = BoxEndpoints.from_env(lab)
        conn = BoxConnection(
            "demo",
            client_id=lab["BOX_CLIENT_ID"],
            client_secret=lab["BOX_CLIENT_SECRET"],
            redirect_uri=lab["BOX_REDIRECT_URI"],
            endpoints=endpoints,
            home=demo.vault,
        )
        conn.complete(consent(conn.authorization_url(), user_id="20000002"))
        listed = asyncio.run(terminal_output(demo, "box-widget list", "oauth"))
        assert re.search(r"demo\s+grace@example\.com\s+expires in \d+ min\s+oauth", listed)
    finally:
        demo.kill()


def stale_folder(parent: Path, owner: dict[str, float] | None) -> Path:
    folder = parent / f"{PREFIX}{len(list(parent.iterdir()))}"
    (folder / "vault").mkdir(parents=True)
    if owner is not None:
        (folder / OWNER_FILE).write_text(json.dumps(owner))
    return folder


def test_stale_scratch_folders_of_killed_demos_are_swept(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone_owner = {"pid": gone.pid, "started": psutil.Process(gone.pid).create_time()}
    gone.wait(30)
    me = psutil.Process()
    dead = stale_folder(tmp_path, gone_owner)
    reused = stale_folder(tmp_path, {"pid": me.pid, "started": me.create_time() - 100})
    alive = stale_folder(tmp_path, {"pid": me.pid, "started": me.create_time()})
    unknown = stale_folder(tmp_path, None)  # being made right now: no owner yet
    other = tmp_path / "not-a-demo"
    other.mkdir()
    assert sorted(sweep_stale(tmp_path)) == sorted([dead, reused])
    assert sorted(tmp_path.iterdir()) == sorted([alive, unknown, other])


def test_the_next_demo_sweeps_what_a_killed_one_left(tmp_path: Path) -> None:
    """A demo and its watchdog both killed outright leave the scratch folder; the next demo
    deletes it as it starts."""
    env = isolated(tmp_path)
    first = start_demo(tmp_path, "--no-browser", "--port", "0", env=env)
    try:
        left = first.vault.parent
        for process in [p for p in first.descendants() if "demo_watchdog" in command_line(p)]:
            process.kill()
        first.kill()
        assert left.is_dir()
    finally:
        first.kill()
    (tmp_path / "second").mkdir()
    second = start_demo(tmp_path / "second", "--no-browser", "--port", "0", env=env)
    try:
        assert not left.exists(), "the killed demo's scratch folder was not swept"
        assert second.vault.is_dir()
    finally:
        second.kill()


def shape(line: str) -> str:
    """A printed line with what differs between runs (addresses, paths) as placeholders."""
    line = re.sub(r"http://127\.0\.0\.1:\d+\S*", "<URL>", line)
    return re.sub(r"/\S+", "<PATH>", line).rstrip()


def test_the_readmes_sample_is_what_the_demo_prints(tmp_path: Path) -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    sample = re.search(r"^## The demo\n.*?^```\n(.*?)^```$", readme, re.S | re.M)
    assert sample, "the README's demo section has no sample block"
    demo = start_demo(tmp_path, "--no-browser", "--port", "0", env=isolated(tmp_path))
    try:
        demo.wait_for(re.compile("Press Ctrl-C"))
        printed = "".join(demo.lines).strip("\n").splitlines()
        printed = printed[printed.index(next(p for p in printed if p.startswith("box-widget"))) :]
        assert [shape(line) for line in sample[1].strip("\n").splitlines()] == [
            shape(line) for line in printed
        ]
    finally:
        demo.kill()
