"""Two kernels opening a new vault at once must agree on one key (issue 17, item 9).

With an OS keyring, each vault's key is one keyring entry. Processes that each read "no entry"
and then each write their own key leave records that only the losing keys open: those can never
be read again. Here 12 processes, started together, open the same new vault with a real
file-backed keyring (``keyrings.alt``; see ``file_keyring``) whose reads are slowed down, and
each saves a record: every record must open with the one key the keyring holds, and exactly one
key was made.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import keyring
import pytest
from support.file_keyring import SlowFileKeyring, forget_class
from support.vault_checks import child, child_env, finish, read_line

from box_widget.errors import BoxWidgetError
from box_widget.vault import Vault

TESTS = Path(__file__).resolve().parent
PROCESSES = 12
READ_DELAY = 0.2  # seconds each keyring read takes: the window between read and write

KEYRING_RACER = r"""
import json, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[5])
import keyring
from support.file_keyring import SlowFileKeyring
from box_widget.errors import BoxWidgetError
from box_widget.vault import Vault
keyring_file, home, go, index = sys.argv[1], sys.argv[2], Path(sys.argv[3]), sys.argv[4]
keyring.set_keyring(SlowFileKeyring(Path(keyring_file), delay=float(sys.argv[6])))
print("ready", flush=True)
deadline = time.monotonic() + 30
while not go.exists():
    if time.monotonic() > deadline:
        sys.exit("never told to go")
    time.sleep(0.0005)
vault = Vault(home)
vault.save("p" + index, {"name": "p" + index, "index": int(index)})
print(json.dumps({"key_source": vault.key_source}), flush=True)
"""


@pytest.fixture
def file_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowFileKeyring]:
    """This process's keyring: the racers' file, read without delay; restored afterwards."""
    monkeypatch.delenv("BOX_WIDGET_KEY", raising=False)
    monkeypatch.delenv("BOX_WIDGET_KEYRING", raising=False)
    previous = keyring.get_keyring()
    backend = SlowFileKeyring(tmp_path / "keyring.cfg")
    keyring.set_keyring(backend)
    try:
        yield backend
    finally:
        keyring.set_keyring(previous)
        forget_class()


@pytest.mark.timeout(180)
def test_processes_opening_a_new_vault_at_once_make_one_key(
    tmp_path: Path, file_keyring: SlowFileKeyring
) -> None:
    home, go = tmp_path / "home", tmp_path / "go"
    env = {k: v for k, v in child_env().items() if k != "BOX_WIDGET_KEYRING"}  # keyring on
    args = [file_keyring.file_path, str(home), str(go)]
    with ExitStack() as stack:
        racers = [
            stack.enter_context(
                child(KEYRING_RACER, *args, str(i), str(TESTS), str(READ_DELAY), env=env)
            )
            for i in range(PROCESSES)
        ]
        for racer in racers:
            assert read_line(racer, 60) == "ready"
        go.touch()
        sources = [json.loads(read_line(racer, 120))["key_source"] for racer in racers]
        for racer in racers:
            finish(racer, 30)
    keys_made = file_keyring.sets()
    vault = Vault(home)  # the key the keyring holds now
    readable = []
    for i in range(PROCESSES):
        try:
            readable.append(vault.load(f"p{i}") == {"name": f"p{i}", "index": i})
        except BoxWidgetError:  # a record made with a lost key: counted below
            readable.append(False)
    figures = (
        f"{PROCESSES} processes, {len(sources)} vaults opened (key from {set(sources)}), "
        f"{keys_made} keys made, {sum(readable)} of {PROCESSES} records readable"
    )
    print(figures, file=sys.stderr)
    assert sources == ["keyring"] * PROCESSES, figures
    assert keys_made == 1, figures
    assert all(readable), figures


def test_a_plaintext_file_keyring_is_not_taken_for_an_os_keyring(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """keyrings.alt's PlaintextKeyring (priority 0.5), which installing it makes the default on
    a headless machine, keeps keys in a plain file in the home folder: the vault's own key file
    (0600, next to the records) is used instead."""
    from keyrings.alt.file import PlaintextKeyring

    monkeypatch.delenv("BOX_WIDGET_KEY", raising=False)
    monkeypatch.delenv("BOX_WIDGET_KEYRING", raising=False)
    previous = keyring.get_keyring()
    plain = PlaintextKeyring()
    plain.file_path = str(tmp_path / "plain.cfg")
    keyring.set_keyring(plain)
    try:
        vault = Vault(tmp_path / "home")
    finally:
        keyring.set_keyring(previous)
    assert vault.key_source == "file"
    assert not (tmp_path / "plain.cfg").exists()
