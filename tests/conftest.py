"""Shared fixtures: an in-process Box emulator per test."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from box_widget.emulator import BoxEmulator

#: CI sets CI=true: there, a missing resource (Chromium, Box's OpenAPI file) is a failure,
#: never a skip.
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(condition: bool, why: str) -> None:
    """Skip the test when ``condition`` is false on a developer's machine; fail it in CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {why}")
    pytest.skip(why)


@pytest.fixture
def emulator() -> Iterator[BoxEmulator]:
    """A fresh emulator (own port, own state) running in a background thread."""
    with BoxEmulator() as emu:
        yield emu
