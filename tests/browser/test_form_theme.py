"""How the connection form looks: its five states, each visibly distinct, and its text readable
(WCAG AA, 4.5:1) in JupyterLab's Light and Dark themes, measured in the page on the colours the
browser actually computed. Screenshots of every state in both themes go to the artifacts folder.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

import pytest

from .conftest import (
    Form,
    JupyterServer,
    Shots,
    consent_in_popup,
    expect,
    form_at,
    open_notebook,
    wait_closed,
)

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext

    from box_widget.emulator import BoxEmulator

    from .conftest import Jupyter

pytestmark = pytest.mark.timeout(150)

AA = 4.5  # WCAG 2 AA, normal-size text

#: Switch JupyterLab's theme and resolve once the page shows it.
CHANGE_THEME_JS = """async (theme) => {
  await window.jupyterapp.commands.execute("apputils:change-theme", { theme });
}"""

#: The contrast ratio (WCAG 2) of an element's text against the background it is drawn on:
#: the element's and its ancestors' background colours composited (white beneath them all),
#: the text colour composited over that.
CONTRAST_JS = """(el) => {
  const parse = (css) => {
    const m = css.match(/^rgba?\\(([^)]*)\\)$/);
    if (!m) throw new Error("unexpected colour " + css);
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const over = (top, below) => [0, 1, 2].map((i) => top[i] * top[3] + below[i] * (1 - top[3]))
    .concat([1]);
  const layers = [];
  for (let node = el; node; node = node.parentElement) {
    const style = getComputedStyle(node);
    if (Number(style.opacity) !== 1) throw new Error("translucent element: " + node.className);
    const colour = parse(style.backgroundColor);
    if (colour[3] > 0) layers.push(colour);
    if (colour[3] === 1) break;
  }
  let background = [255, 255, 255, 1];
  for (const layer of layers.reverse()) background = over(layer, background);
  const text = over(parse(getComputedStyle(el).color), background);
  const luminance = (c) => c.slice(0, 3).map((v) => {
    v /= 255;
    return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  }).reduce((sum, v, i) => sum + v * [0.2126, 0.7152, 0.0722][i], 0);
  const [light, dark] = [luminance(text), luminance(background)].sort((a, b) => b - a);
  return (light + 0.05) / (dark + 0.05);
}"""

#: What tells a state apart without reading its text: the form's accent and border style, the
#: status line's border, background and icon.
LOOK_JS = """(root) => {
  const status = root.querySelector("[data-testid=status]");
  const r = getComputedStyle(root), s = getComputedStyle(status);
  return [r.borderLeftColor, r.borderTopStyle, r.backgroundColor, s.borderLeftColor,
          s.borderTopStyle, s.backgroundColor, getComputedStyle(status, "::before").content];
}"""


def contrasts(form: Form) -> dict[str, float]:
    """Contrast ratios of the status text, a label, a hint, and every enabled visible button."""
    targets = {
        "status": form.hook("status"),
        "label": form.root.locator("label").first,
        "hint": form.root.locator(".bw-hint").first,
    }
    for testid in ("generate", "test", "disconnect"):
        button = form.hook(testid)
        if button.is_visible() and button.is_enabled():
            targets[testid] = button
    return {name: float(target.evaluate(CONTRAST_JS)) for name, target in targets.items()}


def check_state(
    form: Form, state: str, theme: str, shots: Shots, looks: dict[str, Any]
) -> dict[str, float]:
    """The form is in ``state``: screenshot it, measure its contrast, remember its look."""
    form.expect_state(state)
    shots.take(form.root, f"{theme.split()[-1].lower()}-{state}")
    ratios = contrasts(form)
    low = {name: round(ratio, 2) for name, ratio in ratios.items() if ratio < AA}
    assert not low, f"{theme}, {state}: below {AA}:1: {low}"
    lowest = min(ratios, key=ratios.__getitem__)
    print(f"{theme}, {state}: lowest contrast {ratios[lowest]:.2f}:1 ({lowest})")
    looks[state] = tuple(form.root.evaluate(LOOK_JS))
    return ratios


@pytest.mark.parametrize("theme", ["JupyterLab Light", "JupyterLab Dark"])
def test_every_state_is_distinct_and_readable(
    theme: str,
    context: BrowserContext,
    jupyter: Jupyter,
    emulator_server: BoxEmulator,
    shots: Shots,
) -> None:
    """new, waiting, error (a wrong secret), connected, disconnected: each measured (status
    text, error text, Generate and the other buttons against their computed backgrounds) and
    each looking different from every other."""
    emu = emulator_server
    server: JupyterServer = jupyter("lab")
    try:
        page = open_notebook(
            context,
            server,
            "theme.ipynb",
            ["from box_widget import BoxConnection\nBoxConnection('work')"],
        )
        page.evaluate(CHANGE_THEME_JS, theme)
        page.wait_for_function("(theme) => document.body.dataset.jpThemeName === theme", arg=theme)
        form = form_at(page)
        looks: dict[str, Any] = {}
        form.enter_credentials(emu.app.client_id, "not-the-secret")
        expect(form.hook("generate")).to_be_enabled()
        check_state(form, "new", theme, shots, looks)

        with context.expect_page() as opened:
            form.hook("generate").click()
        check_state(form, "waiting", theme, shots, looks)
        popup = opened.value
        consent_in_popup(popup, callback_page=False)
        form.expect_state("error")
        expect(form.hook("status")).to_contain_text(re.compile("Secret", re.I))
        expect(form.hook("generate")).to_be_enabled()  # the next sign-in is prepared
        ratios = check_state(form, "error", theme, shots, looks)
        assert "generate" in ratios

        wait_closed(popup, page)  # the callback page closes itself; Generate reopens it
        form.enter_credentials(emu.app.client_id, emu.app.client_secret)
        with context.expect_page() as opened:
            form.hook("generate").click()
        consent_in_popup(opened.value, callback_page=False)
        check_state(form, "connected", theme, shots, looks)
        shots.take(page, f"{theme.split()[-1].lower()}-page")

        form.hook("disconnect").click()
        check_state(form, "disconnected", theme, shots, looks)

        same = [
            (a, b)
            for i, a in enumerate(looks)
            for b in list(looks)[i + 1 :]
            if looks[a] == looks[b]
        ]
        assert not same, f"states that look alike apart from their text: {same}"
    finally:
        server.shutdown_kernels()
