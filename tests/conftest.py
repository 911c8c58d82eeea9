"""Shared fixtures: an in-process Box emulator per test, its answers checked against Box's spec."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

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


def _spec_checker(emu: BoxEmulator) -> tuple[Any, list[str]]:
    """A ``Session.send`` replacement that checks each emulator answer against Box's spec."""
    from openapi_check import (
        OpenAPIMismatch,
        UndescribedOperation,
        check_response,
        load_spec,
        spec_path,
    )

    if not spec_path().exists():
        require(False, f"Box's OpenAPI description is not at {spec_path()}")
    api = load_spec()
    mismatches: list[str] = []
    original = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest,
             **kwargs: Any) -> requests.Response:
        final = original(self, request, **kwargs)
        # Redirects are followed inside send(), each hop through this function again: here,
        # check only the answer to this request (the first of the history, if any).
        response = final.history[0] if final.history else final
        url = str(request.url)
        if not url.startswith(emu.url + "/"):
            return final
        try:
            api.find_operation(str(request.method), urlsplit(url).path)
        except UndescribedOperation:
            return final  # a route Box's spec does not describe (/dl, /_emulator, 404 tests)
        except OpenAPIMismatch as exc:  # e.g. an operation served under the wrong host prefix
            mismatches.append(str(exc))
            return final
        streamed_bytes = kwargs.get("stream") and "json" not in response.headers.get(
            "Content-Type", "")
        if not streamed_bytes:
            try:
                check_response(response)
            except OpenAPIMismatch as exc:
                mismatches.append(str(exc))
        return final

    return send, mismatches


@pytest.fixture
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[BoxEmulator]:
    """A fresh emulator (own port, own state) running in a background thread.

    Every answer it gives through ``requests`` (the tests' and the official SDK's) to an
    operation in Box's OpenAPI description is validated against it; a mismatch fails the test.
    """
    with BoxEmulator() as emu:
        send, mismatches = _spec_checker(emu)
        monkeypatch.setattr(requests.Session, "send", send)
        yield emu
        monkeypatch.undo()
        assert not mismatches, "answers that differ from Box's OpenAPI description:\n" + \
            "\n".join(mismatches)
