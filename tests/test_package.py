"""The package itself: a light import, the server extension enabled on install, endpoints."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

from box_widget import BoxEndpoints, _jupyter_server_extension_points
from box_widget.endpoints import BOX_API_URL


def test_import_stays_light() -> None:
    """``import box_widget`` loads neither the server, the hub service (JupyterHub) nor
    fsspec, tqdm or pandas (``box://`` loads fsspec when first used, through its entry
    point)."""
    code = "import sys, box_widget; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", f"import json; {code}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    modules = json.loads(out)
    heavy = [
        m
        for m in modules
        if m.split(".")[0]
        in {
            "jupyter_server",
            "jupyterhub",
            "tornado",
            "ipywidgets",
            "fsspec",
            "tqdm",
            "pandas",
            "pyarrow",
        }
    ]
    assert heavy == []


def test_server_extension_is_enabled_and_loads() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "jupyter", "server", "extension", "list"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    listing = result.stdout + result.stderr
    lines = [line for line in listing.splitlines() if "box_widget" in line]
    assert any("enabled" in line for line in lines), listing
    assert any("OK" in line for line in lines), listing


def test_extension_points_name_the_app() -> None:
    (point,) = _jupyter_server_extension_points()
    assert point["module"] == "box_widget.server.app"
    assert point["app"].name == "box_widget"


def test_endpoints_default_to_box_and_follow_the_environment() -> None:
    assert BoxEndpoints().api_url == BOX_API_URL == "https://api.box.com/2.0"
    env = {"BOX_API_URL": "http://127.0.0.1:1/2.0", "BOX_TOKEN_URL": ""}
    endpoints = BoxEndpoints.from_env(env)
    assert endpoints.api_url == "http://127.0.0.1:1/2.0"
    assert endpoints.token_url == BoxEndpoints().token_url  # empty means unset
    assert BoxEndpoints.from_env(endpoints.to_env()) == endpoints
    assert BoxEndpoints.from_dict({**endpoints.to_dict(), "extra": "x"}) == endpoints


def test_wheel_ships_the_form_and_the_server_config(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, "-m", "hatchling", "build", "-t", "wheel", "-d", str(tmp_path)],
        cwd=repo,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("box_widget-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "box_widget/labextension/form.js",
        "box_widget/labextension/form.css",
        "box_widget/emulator/server.py",
        "box_widget/notebooks/getting-started.ipynb",
        "box_widget/notebooks/several-accounts.ipynb",
        "box_widget/notebooks/unattended.ipynb",
    } <= names
    assert any(n.endswith("etc/jupyter/jupyter_server_config.d/box_widget.json") for n in names)
    assert not any(n.startswith("tests/") for n in names)
