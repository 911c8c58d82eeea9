"""The shipped notebooks, run top to bottom with nbclient against the emulator.

Cells tagged ``browser-only`` (the forms, where a person clicks Generate) run as shipped and
must show a widget; a cell added after each does what the person would, by the headless path
of the same sign-in: Box's address from ``conn.authorization_url()``, the consent page
answered over HTTP as a seeded user, the address Box redirected to handed to
``conn.complete``. Every cell runs, its outputs are checked, and no cell writes to stderr (a
warning, such as a widget layout option ipywidgets does not know, is a defect).
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path
from typing import IO, Any

import nbclient
import nbformat
import pandas as pd
import pytest
from support.emulator_flow import CALLBACK
from support.secret_scan import emulator_secrets, scan

from box_widget import BoxConnection
from box_widget.emulator import BoxEmulator
from box_widget.emulator.content import User

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
BROWSER_ONLY = "browser-only"
SIGN_IN = "test-sign-in"  # the tag of the cells added after each browser-only cell
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
pytestmark = pytest.mark.timeout(180)


def headless_sign_in(variable: str, user: User) -> str:
    """The cell that replaces a form: the same sign-in, with no browser."""
    return "\n".join(
        [
            f"# Replaced by tests/test_notebooks.py: the browser-only form, signed in headlessly "
            f"as {user.name}.",
            "from box_widget.emulator.consent import consent",
            f"{variable}.redirect_uri = {CALLBACK!r}",
            f"_address = consent({variable}.authorization_url(), user_id={user.id!r})",
            f"print({variable}.complete(_address)['name'])",
        ]
    )


def sign_ins(emu: BoxEmulator, user: User | None = None) -> dict[str, list[tuple[str, User]]]:
    """Per notebook, who signs in where its browser-only cell shows forms (getting-started:
    ``user``, Ada by default; the consent page offers every seeded user)."""
    ada, grace = emu.users[:2]
    return {
        "getting-started.ipynb": [("conn", user or ada)],
        "several-accounts.ipynb": [("work", ada), ("personal", grace)],
    }


@pytest.fixture
def kernel_env(
    emulator: BoxEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> dict[str, str]:
    """The environment of the kernel (and of this process): the emulator, its demo app, a vault
    in tmp_path with a key file, as ``box-widget demo`` sets them up."""
    for name in [k for k in os.environ if k.startswith("BOX_")]:
        monkeypatch.delenv(name)
    values = {
        **emulator.endpoints.to_env(),
        "BOX_CLIENT_ID": emulator.app.client_id,
        "BOX_CLIENT_SECRET": emulator.app.client_secret,
        "BOX_ENTERPRISE_ID": emulator.app.enterprise_id,
        "BOX_WIDGET_HOME": str(tmp_path / "vault"),
        "BOX_WIDGET_KEYRING": "0",
        # Deprecation warnings shown: an option a library no longer takes (such as a
        # widget layout's) must not pass unnoticed; run() fails on any stderr.
        "PYTHONWARNINGS": "default::DeprecationWarning",
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return dict(os.environ)


def run(
    name: str,
    env: dict[str, str],
    cwd: Path,
    emu: BoxEmulator,
    *,
    first: str | None = None,
    last: str | None = None,
    kernel_log: IO[bytes] | None = None,
    user: User | None = None,
) -> Any:
    """Run a notebook, a headless sign-in added after each browser-only cell; the executed
    notebook.

    ``first``, ``last``: cells to run before and after the notebook's own. ``kernel_log``:
    where the kernel process's own output goes (its standard output and error), with its DEBUG
    log on. ``user``: who signs in to getting-started (Ada by default).
    """
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    replacements = sign_ins(emu, user).get(name, [])
    for index in reversed(range(len(nb.cells))):
        if BROWSER_ONLY in nb.cells[index].metadata.get("tags", []):
            assert replacements, f"{name} has a browser-only cell but no headless sign-in here"
            source = "\n\n".join(headless_sign_in(v, u) for v, u in replacements)
            nb.cells.insert(
                index + 1, nbformat.v4.new_code_cell(source, metadata={"tags": [SIGN_IN]})
            )
    if first is not None:
        nb.cells.insert(0, nbformat.v4.new_code_cell(first))
    if last is not None:
        nb.cells.append(nbformat.v4.new_code_cell(last))
    client = nbclient.NotebookClient(
        nb,
        kernel_name="python3",
        timeout=60,
        resources={"metadata": {"path": str(cwd)}},
        extra_arguments=["--debug"] if kernel_log else [],
    )
    output = {"stdout": kernel_log, "stderr": kernel_log} if kernel_log else {}
    client.execute(env=env, **output)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.execution_count is not None, f"a cell of {name} did not run"
            stderr = [o.text for o in cell.outputs if o.get("name") == "stderr"]
            assert not stderr, f"a cell of {name} wrote to stderr: {stderr}"
        if BROWSER_ONLY in cell.metadata.get("tags", []):
            assert any(WIDGET_VIEW in o.get("data", {}) for o in cell.outputs), (
                f"a browser-only cell of {name} shows no widget"
            )
    return nb


def text(cell: Any) -> str:
    """What a code cell printed or showed, as text."""
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif "data" in output:
            parts.append(output.data.get("text/plain", ""))
    return "".join(parts)


def outputs(nb: Any) -> list[str]:
    """What each code cell of the shipped notebook showed (the added sign-ins left out)."""
    return [
        text(cell)
        for cell in nb.cells
        if cell.cell_type == "code" and SIGN_IN not in cell.metadata.get("tags", [])
    ]


def signed_in(nb: Any) -> str:
    """What the added sign-in cells printed: the Box users' names."""
    return "".join(text(cell) for cell in nb.cells if SIGN_IN in cell.metadata.get("tags", []))


def no_secrets(nb: Any, emu: BoxEmulator) -> None:
    """No secret, token, code or state the emulator ever issued appears in the notebook."""
    assert scan(emulator_secrets(emu), texts={"notebook": nbformat.writes(nb)}) == {}


def seeded_csv(emu: BoxEmulator, name: str, user: User) -> Any:
    """The seeded file ``name`` of ``user``, read with pandas (what the notebook shows)."""
    (file,) = [
        f for f in emu.state.content.files.values() if f.name == name and f.owner_id == user.id
    ]
    return pd.read_csv(io.BytesIO(file.data))


def regions(shown: str) -> list[str]:
    """The regions a cell's totals show, in the order shown."""
    return [word for word in shown.split() if word in {"North", "South", "East", "West"}]


@pytest.mark.parametrize("who", [0, 1], ids=["Ada", "Grace"])
def test_getting_started(
    emulator: BoxEmulator, kernel_env: dict[str, str], tmp_path: Path, who: int
) -> None:
    """Either user the demo offers gets through, reading their own files."""
    user = emulator.users[who]
    nb = run("getting-started.ipynb", kernel_env, tmp_path, emulator, user=user)
    shown = outputs(nb)
    assert signed_in(nb).strip() == user.name
    assert shown[2].strip() == f"Connected to Box as {user.name} ({user.login})"
    for entry in ("Reports", "Data"):
        assert entry in shown[3]
    sales = seeded_csv(emulator, "q1.csv", user)
    assert sales.shape == (12, 3)
    assert shown[4] == repr(sales.head())
    assert shown[5] == repr(sales.groupby("region")["revenue"].sum())
    totals = sales.groupby("region", as_index=False)["revenue"].sum()
    assert shown[6] == repr(totals)  # read through box://
    assert regions(shown[5]) == regions(shown[6]) == ["East", "North", "South", "West"]
    assert shown[7] == repr(["Reports/q1-totals.csv", "Reports/q1.csv", "Reports/q2.csv"])
    (written,) = [
        f
        for f in emulator.state.content.files.values()
        if f.name == "q1-totals.csv" and f.owner_id == user.id
    ]
    assert written.data.decode() == totals.to_csv(index=False)  # written back through box://
    no_secrets(nb, emulator)
    assert BoxConnection("demo").user == {"id": user.id, "name": user.name, "login": user.login}


def test_getting_started_says_in_plain_words_what_it_needs(
    emulator: BoxEmulator, kernel_env: dict[str, str], tmp_path: Path
) -> None:
    """Signed in as someone whose Box lacks the sample files, the notebook stops at the cell
    that needs them, saying what is missing and what to do (not a bare StopIteration)."""
    newcomer = emulator.state.content.add_user("Alan Turing", "alan@example.com", "20000099")
    with pytest.raises(nbclient.exceptions.CellExecutionError) as failed:
        run("getting-started.ipynb", kernel_env, tmp_path, emulator, user=newcomer)
    message = re.sub(r"\x1b\[[0-9;]*m", "", str(failed.value))  # without the colours
    assert "StopIteration" not in message
    assert "LookupError: There is no 'Reports' here (the folder holds: nothing)" in message
    assert "Reports/q1.csv" in message and "upload a CSV file" in message


def test_several_accounts(
    emulator: BoxEmulator, kernel_env: dict[str, str], tmp_path: Path
) -> None:
    nb = run("several-accounts.ipynb", kernel_env, tmp_path, emulator)
    assert signed_in(nb).splitlines() == ["Ada Lovelace", "Grace Hopper"]
    shown = outputs(nb)
    assert shown[2].splitlines() == [
        "work: Ada Lovelace (ada@example.com)",
        "personal: Grace Hopper (grace@example.com)",
    ]
    assert shown[3].splitlines() == [
        "work: Data, Reports, Welcome.txt",
        "personal: Data, Reports, Notes.txt",
    ]
    assert shown[4].strip() == "['personal', 'work']"
    no_secrets(nb, emulator)


def connect_demo(emu: BoxEmulator) -> None:
    """What an earlier interactive session left: a saved connection "demo" (as Ada)."""
    conn = BoxConnection("demo", redirect_uri=CALLBACK)
    conn.complete(emu.authorize(conn.authorization_url()))


def test_unattended_with_a_saved_connection_and_client_credentials(
    emulator: BoxEmulator, kernel_env: dict[str, str], tmp_path: Path
) -> None:
    connect_demo(emulator)
    grants = emulator.counters()["grants"]
    nb = run("unattended.ipynb", kernel_env, tmp_path, emulator)
    shown = outputs(nb)
    assert shown[1].splitlines() == [
        "Ada Lovelace: 3 items in folder 0",
        "  folder Data",
        "  folder Reports",
        "  file   Welcome.txt",
    ]
    assert shown[2].strip() == f"Signed in as {emulator.service_account.name}"
    after = emulator.counters()["grants"]
    assert after["client_credentials"] == grants["client_credentials"] + 1
    assert after["authorization_code"] == grants["authorization_code"]  # no new sign-in
    no_secrets(nb, emulator)


def test_unattended_without_a_saved_connection_stops_with_a_plain_message(
    emulator: BoxEmulator, kernel_env: dict[str, str], tmp_path: Path
) -> None:
    with pytest.raises(nbclient.exceptions.CellExecutionError) as failed:
        run("unattended.ipynb", kernel_env, tmp_path, emulator)
    message = str(failed.value)
    assert "Connection 'demo' is not connected" in message
    assert "box-widget login demo" in message


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda p: p.name)
def test_shipped_notebooks_are_clean(path: Path) -> None:
    """No outputs, no execution counts, no widget state: nothing of anyone's session."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    assert "widgets" not in nb.metadata
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: a cell has outputs"
            assert cell.execution_count is None, f"{path.name}: a cell has an execution count"


def test_the_three_notebooks_ship() -> None:
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == [
        "getting-started.ipynb",
        "several-accounts.ipynb",
        "unattended.ipynb",
    ]
