"""A real keyring backend on a real file, for tests that need a keyring shared by processes.

``keyrings.alt``'s ``PlaintextKeyring`` keeps its entries in an INI file. ``SlowFileKeyring``
stands in for an OS keyring (priority 1, which box-widget accepts; keyrings.alt's own 0.5 it
does not): its reads take ``delay`` seconds after the file was read, as a keyring daemon's may,
which widens the window between a read and a write deterministically; every ``set_password``
appends a line to ``<file>.sets``, so a test can count the keys made.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import keyring
import keyring.backend
from keyrings.alt.file import PlaintextKeyring


class SlowFileKeyring(PlaintextKeyring):  # type: ignore[misc]
    priority = 1

    def __init__(self, path: Path, delay: float = 0.0) -> None:
        super().__init__()
        self.file_path = str(path)
        self.delay = delay

    def get_password(self, service: str, username: str) -> str | None:
        password: str | None = super().get_password(service, username)
        time.sleep(self.delay)
        return password

    def set_password(self, service: str, username: str, password: str) -> None:
        super().set_password(service, username, password)
        fd = os.open(f"{self.file_path}.sets", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, f"{os.getpid()}\n".encode())
        finally:
            os.close(fd)

    def sets(self) -> int:
        """How many passwords were set through this file, by any process."""
        try:
            return len(Path(f"{self.file_path}.sets").read_text().split())
        except FileNotFoundError:
            return 0


def forget_class() -> None:
    """keyring registers every backend class it sees: keep this one out of later detection."""
    keyring.backend.KeyringBackend._classes.discard(SlowFileKeyring)
