"""Shared fixtures: an in-process Box emulator per test, its answers checked against Box's spec."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.fernet import Fernet

from box_widget import BoxEndpoints
from box_widget.emulator import BoxEmulator

#: pytest-jupyter's server fixtures (jp_fetch, jp_serverapp, ...) for test_server.py, and the
#: box:// fixtures (box, box_env) for test_boxfs*.py; they must be declared here, in the first
#: conftest pytest loads.
pytest_plugins = ("pytest_jupyter.jupyter_server", "support.boxfs_support")

#: CI sets CI=true: there, a missing resource (Chromium, Box's OpenAPI file) is a failure,
#: never a skip.
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


#: What ``isolated_env`` takes out of the environment: credentials, the vault's key and folder,
#: endpoints, and the process-wide switch to plain HTTP.
ENV_VARS = (
    "BOX_WIDGET_KEY",
    "BOX_CLIENT_ID",
    "BOX_CLIENT_SECRET",
    "BOX_REDIRECT_URI",
    "BOX_WIDGET_HOME",
    "BOX_WIDGET_REDIRECT_HINT",
    "OAUTHLIB_INSECURE_TRANSPORT",
    "BOX_WIDGET_HUB_URL",
    "JUPYTERHUB_API_TOKEN",
    "JUPYTERHUB_API_URL",
    *BoxEndpoints().to_env(),
)


#: The modules that share tests/hub's one JupyterHub and the Unix users alice and bob.
HUB_MODULES = ("hub/", "browser/test_hub.py", "browser/test_hub_form.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """For pytest-xdist's ``--dist loadgroup`` (pyproject's options): a module's tests run on
    one worker, so its module and package fixtures (a Jupyter server, a hub) start once, and
    the hub's modules all run on the same worker, one after another (alice's and bob's homes
    are reset by each)."""
    tests = Path(__file__).parent
    for item in items:
        module = item.path.relative_to(tests).as_posix()
        group = "hub" if module.startswith(HUB_MODULES) else module
        item.add_marker(pytest.mark.xdist_group(group))


def require(condition: bool, why: str) -> None:
    """Skip the test when ``condition`` is false on a developer's machine; fail it in CI."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {why}")
    pytest.skip(why)


def _spec_checker(emu: BoxEmulator) -> tuple[Any, list[str]] | None:
    """A ``Session.send`` replacement that checks each emulator answer against Box's spec;
    None where the spec is not on this machine (in CI, a missing spec fails the test)."""
    from support.openapi_check import (
        OpenAPIMismatch,
        UndescribedOperation,
        check_response,
        load_spec,
        spec_path,
    )

    if not spec_path().exists():
        if IN_CI:
            pytest.fail(f"required in CI: Box's OpenAPI description at {spec_path()}")
        warnings.warn(
            f"Box's OpenAPI description is not at {spec_path()} (set "
            "BOX_OPENAPI_SPEC): emulator answers are not checked against it",
            stacklevel=2,
        )
        return None
    api = load_spec()
    mismatches: list[str] = []
    original = requests.Session.send

    def send(
        self: requests.Session, request: requests.PreparedRequest, **kwargs: Any
    ) -> requests.Response:
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
            "Content-Type", ""
        )
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
        checker = _spec_checker(emu)
        if checker is None:
            yield emu
            return
        send, mismatches = checker
        monkeypatch.setattr(requests.Session, "send", send)
        yield emu
        monkeypatch.undo()
        assert not mismatches, "answers that differ from Box's OpenAPI description:\n" + "\n".join(
            mismatches
        )


@pytest.fixture
def isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """No real keyring, no credentials or endpoints from the environment. Not autouse: the
    modules that want it say so (``pytestmark = pytest.mark.usefixtures("isolated_env")``)."""
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def insecure_transport_restored(isolated_env: None) -> Iterator[None]:
    """After the test, no process-wide switch to plain HTTP left behind by the code under test
    (checked before ``isolated_env`` puts the environment back)."""
    yield
    assert "OAUTHLIB_INSECURE_TRANSPORT" not in os.environ


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A vault folder of this test's own (not created yet): ``<tmp_path>/home``."""
    return tmp_path / "home"


@pytest.fixture
def file_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key comes from ``vault.key``: no BOX_WIDGET_KEY, no OS keyring."""
    monkeypatch.delenv("BOX_WIDGET_KEY", raising=False)
    monkeypatch.delenv("BOX_WIDGET_HOME", raising=False)
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")


@pytest.fixture
def env_key(monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh Fernet key in BOX_WIDGET_KEY (and no OS keyring)."""
    key = Fernet.generate_key().decode()
    monkeypatch.setenv("BOX_WIDGET_KEY", key)
    monkeypatch.setenv("BOX_WIDGET_KEYRING", "0")
    monkeypatch.delenv("BOX_WIDGET_HOME", raising=False)
    return key
