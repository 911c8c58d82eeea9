"""The form's browser files: in the package in a wheel, at the repository's top in a checkout."""

from __future__ import annotations

from pathlib import Path


def asset(name: str) -> Path:
    """The path of a browser file of the form (``form.js``, ``form.css``)."""
    here = Path(__file__).resolve().parent
    for folder in (here / "labextension", here.parent / "labextension"):
        if (folder / name).is_file():
            return folder / name
    msg = f"box-widget's browser file {name} is missing; reinstall box-widget"
    raise FileNotFoundError(msg)
