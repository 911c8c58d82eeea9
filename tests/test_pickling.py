"""Nothing secret travels when box-widget objects are pickled (issue 20 item 1).

Each object a notebook may hand to Dask, joblib or multiprocessing (a ``BoxConnection``, a
``BoxFileSystem``, an open ``box://`` file, a ``BoxSession``) is pickled with ``pickle`` and
``cloudpickle``; the bytes are scanned for every secret in play (the app's Client Secret, every
access and refresh token the emulator issued, the vault's key); the copies still work where the
vault is (this process: no Jupyter server, so the file system carries the vault's folder), and
where it is not, the copy's error says what was tried and how to fix it.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cloudpickle
import pytest
from support.boxfs_support import Box
from support.secret_scan import emulator_secrets, scan

from box_widget import BoxConnection
from box_widget.boxfs import BoxFileSystem
from box_widget.errors import AuthorityUnreachable, ConfigurationError
from box_widget.keys import find_key

DUMPS: dict[str, Callable[[Any], bytes]] = {
    "pickle": pickle.dumps,
    "cloudpickle": cloudpickle.dumps,
}


def secrets_in_play(box: Box) -> set[str]:
    found = find_key(box.home)
    assert found is not None
    return emulator_secrets(box.emu) | {found[0].decode(), box.emu.app.client_secret}


@pytest.mark.parametrize("how", sorted(DUMPS))
def test_pickled_objects_carry_no_secret_and_still_work_with_the_vault(box: Box, how: str) -> None:
    box.fs.pipe("Data/a.csv", b"x,y\n1,2\n")
    session = box.conn.session
    session.get("users/me")  # tokens in memory everywhere
    with box.fs.open("Data/a.csv", "rb") as opened:
        opened.read(1)
        objects = {
            "connection": box.conn,
            "file system": box.fs,
            "open file": opened,
            "session": session,
            "session source": session.source,
        }
        dumped = {name: DUMPS[how](obj) for name, obj in objects.items()}
    assert box.conn.has_client_secret
    assert scan(secrets_in_play(box), texts=dumped) == {}

    conn = pickle.loads(dumped["connection"])
    assert isinstance(conn, BoxConnection)
    assert conn.connected
    assert conn.test_connection()["login"] == "ada@example.com"
    fs = pickle.loads(dumped["file system"])
    assert fs.cat("Data/a.csv") == b"x,y\n1,2\n"
    reopened = pickle.loads(dumped["open file"])
    assert reopened.read() == b",y\n1,2\n"  # where it was: one byte read

    assert pickle.loads(dumped["session"]).get("users/me").json()["login"] == "ada@example.com"


def test_a_copy_without_the_vault_says_what_it_tried_and_how_to_fix_it(
    box: Box, tmp_path: Path
) -> None:
    box.fs.pipe("Data/a.csv", b"1\n")
    dumped = cloudpickle.dumps(BoxFileSystem("work"))
    box.home.rename(tmp_path / "elsewhere")  # as on a worker that has no such vault
    fs = pickle.loads(dumped)
    with pytest.raises(AuthorityUnreachable) as caught:
        fs.ls("Data")
    words = str(caught.value)
    assert "No token authority is reachable" in words
    assert "No Jupyter server could be found" in words  # why no grant was made
    assert str(box.home) in words  # the vault it looked in
    assert "BOX_WIDGET_HOME" in words
    assert "worker_url" in words


def test_an_explicit_grant_fails_loudly_when_no_authority_can_mint_it(box: Box) -> None:
    fs = BoxFileSystem("work", grant={"scope": "read"})
    with pytest.raises(AuthorityUnreachable, match="No Jupyter server could be found"):
        pickle.dumps(fs)


def test_grant_options_are_checked() -> None:
    for bad in ({"scope": "everything"}, {"lifetime": 3}, "read"):
        with pytest.raises(ConfigurationError):
            BoxFileSystem("work", grant=bad)  # type: ignore[arg-type]
