"""The emulator's control API against the two attacks a web page can make on it (issue 17,
item 6), in a real Chromium: a cross-site ``fetch(..., {mode: "no-cors"})`` that injects a fault,
and DNS rebinding (a name that resolves to 127.0.0.1, served by the emulator, so that the page is
same-origin with it) that reads its state. Chromium resolves ``*.test`` to 127.0.0.1 through its
``--host-resolver-rules`` switch, the effect a rebinding DNS server has.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from box_widget.emulator import BoxEmulator

from .conftest import ARGS, STEP_TIMEOUT, browser_context

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

pytestmark = pytest.mark.timeout(90)

#: What a page on any site can send anywhere without asking (no CORS preflight).
NO_CORS_POST_JS = """async (url) => {
  await fetch(url, {method: "POST", mode: "no-cors",
                    body: JSON.stringify({status: 503, path: "/2.0"})});
  return "sent";
}"""
#: A same-origin read: after DNS rebinding the emulator is the page's own origin.
SAME_ORIGIN_READ_JS = """async () => {
  const answer = await fetch("/_emulator/state");
  return {status: answer.status, text: await answer.text()};
}"""


@pytest.fixture(scope="module")
def rebinding_browser(playwright_api: Playwright, chromium: str) -> Iterator[Browser]:
    """A Chromium in which every ``*.test`` name resolves to 127.0.0.1."""
    instance = playwright_api.chromium.launch(
        executable_path=chromium,
        args=[*ARGS, "--host-resolver-rules=MAP *.test 127.0.0.1"],
        timeout=30_000,
    )
    try:
        yield instance
    finally:
        instance.close()


def test_a_page_on_another_site_cannot_inject_a_fault(rebinding_browser: Browser) -> None:
    with BoxEmulator() as emu, browser_context(rebinding_browser) as context:
        port = emu.url.rsplit(":", 1)[1]
        page = context.new_page()
        page.goto(f"http://attacker.test:{port}/", timeout=STEP_TIMEOUT)
        assert page.evaluate("() => location.origin") != emu.url  # another site
        assert page.evaluate(NO_CORS_POST_JS, f"{emu.url}/_emulator/faults") == "sent"
        assert emu.state.faults.take("GET", "/2.0/users/me") is None, "a fault was injected"


def test_a_page_rebound_to_loopback_cannot_read_the_emulator(rebinding_browser: Browser) -> None:
    with BoxEmulator() as emu, browser_context(rebinding_browser) as context:
        port = emu.url.rsplit(":", 1)[1]
        page = context.new_page()
        page.goto(f"http://rebound.test:{port}/", timeout=STEP_TIMEOUT)  # the emulator answers
        read = page.evaluate(SAME_ORIGIN_READ_JS)
        assert read["status"] == 403, read["status"]
        assert "ada@example.com" not in read["text"] and "counters" not in read["text"]
