"""The emulator's ``hold`` fault over HTTP: a held request stays unanswered, others are served
meanwhile, and clearing the faults lets it go on (docs/emulator.md, faults)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import requests

from box_widget.emulator import BoxEmulator

TIMEOUT = 30  # a hang guard only


@pytest.fixture
def emu() -> Iterator[BoxEmulator]:
    with BoxEmulator() as emulator:
        yield emulator


def test_a_held_request_waits_until_the_faults_are_cleared(emu: BoxEmulator) -> None:
    faults = f"{emu.url}/_emulator/faults"
    answer = requests.post(faults, json={"hold": True, "path": "/2.0/users/me"}, timeout=TIMEOUT)
    assert answer.status_code == 201, answer.text
    statuses: list[int] = []
    held = threading.Thread(
        target=lambda: statuses.append(
            requests.get(emu.endpoints.api_url + "/users/me", timeout=TIMEOUT).status_code
        )
    )
    held.start()
    try:
        # Served while the other is held (the hold takes it off the emulator's event loop).
        state = requests.get(f"{emu.url}/_emulator/state", timeout=TIMEOUT)
        assert state.status_code == 200
        assert statuses == [], "the held request was answered before the faults were cleared"
    finally:
        cleared = requests.delete(faults, json={}, timeout=TIMEOUT)  # a write: JSON, as all are
    assert cleared.status_code == 204
    held.join(TIMEOUT)
    assert statuses == [401]  # it went on as usual: no token, Box's 401


def test_a_hold_cannot_be_released_from_the_request_body(emu: BoxEmulator) -> None:
    body = {"hold": True, "released": True}
    answer = requests.post(f"{emu.url}/_emulator/faults", json=body, timeout=TIMEOUT)
    assert answer.status_code == 400
