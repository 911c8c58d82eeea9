"""docs/jupyterhub.md shows the very configuration the hub tests load, and names what exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "jupyterhub.md"
EXAMPLE = ROOT / "examples" / "jupyterhub" / "jupyterhub_config.py"


def test_the_docs_show_the_example_config_verbatim() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert EXAMPLE.read_text(encoding="utf-8") in blocks


def test_the_files_and_the_redirect_uri_the_docs_name_exist() -> None:
    text = DOC.read_text(encoding="utf-8")
    for link in re.findall(r"\]\((\.\./[^)#]+)\)", text):
        assert (DOC.parent / link).resolve().is_file(), link
    assert "/services/box-widget/oauth2/callback" in text
    assert "/services/box-widget/oauth2/callback" in EXAMPLE.read_text(encoding="utf-8")
