"""The browser harness prints what it saw on a failure (every open page's address, the console)
without the query strings: a page left at a callback would print Box's code and state."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from box_widget.emulator import BoxEmulator
from box_widget.redact import without_query

from .harness import browser_context

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CODE = "code-do-not-print-1234"
STATE = "state-do-not-print-5678"


def test_without_query_hides_every_value_and_keeps_the_names() -> None:
    url = f"http://127.0.0.1:8000/cb?code={CODE}&state={STATE}#frag"
    assert without_query(url) == "http://127.0.0.1:8000/cb?code=***&state=***#***"
    assert without_query("http://127.0.0.1:8000/lab") == "http://127.0.0.1:8000/lab"


def fail_at_a_callback(browser: Browser, url: str, stem: Path) -> None:
    """A test step failing while a page sits at ``url`` and its console has logged it."""
    with browser_context(browser, on_failure=stem) as context:
        page = context.new_page()
        page.goto(url, wait_until="domcontentloaded")
        with page.expect_event("console"):
            page.evaluate("() => console.error('left at ' + location.href)")
        with page.expect_event("pageerror"):
            page.evaluate("() => setTimeout(() => { throw new Error(location.href); })")
        raise RuntimeError("a step failed")


def test_a_failure_prints_no_code_or_state(
    browser: Browser,
    emulator_server: BoxEmulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    callback = f"{emulator_server.url}/box-widget/oauth2/callback?code={CODE}&state={STATE}"
    with pytest.raises(RuntimeError, match="a step failed"):
        fail_at_a_callback(browser, callback, tmp_path / "f")
    printed = capsys.readouterr().out
    assert "/box-widget/oauth2/callback?code=***&state=***" in printed  # the page, at failure
    assert "left at" in printed and "[pageerror]" in printed  # the console lines
    assert CODE not in printed and STATE not in printed
    assert list(tmp_path.glob("f-*.png"))  # the screenshot was still taken
