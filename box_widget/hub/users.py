"""Every hub user's vault: one folder each under the service's home, all with the service's key.

Layout::

    <home>/                       0700, the service's own (never a user's)
        vault.key                 the service's key, when it lives in a file (see ``keys``)
        cookie_secret             signs the service's browser cookies (HubOAuth)
        users/<hub user>/         one ``Vault`` per hub user (connections, pending, audit.log)

A hub user's name becomes a folder name percent-encoded (``alice@uni.edu`` ->
``alice%40uni.edu``), so no name can reach outside ``users/`` or collide with another.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, unquote

from .. import audit
from ..files import private_folder
from ..keys import load_key
from ..vault import Vault

#: Where the vault's key came from, as the status API says it.
KEY_SOURCE = "hub"


def folder_name(hub_user: str) -> str:
    """A hub user's folder name: percent-encoded, never ``.`` or ``..``."""
    encoded = quote(hub_user, safe="")
    return "%2E" + encoded[1:] if encoded.startswith(".") else encoded


class HubVaults:
    """The vault of each hub user, opened once and kept (``Vault`` is thread-safe)."""

    def __init__(self, home: Path) -> None:
        self.home = private_folder(home.expanduser())
        key, _ = load_key(self.home)  # BOX_WIDGET_KEY, the OS keyring, or <home>/vault.key
        self._key = (key, KEY_SOURCE)
        self._vaults: dict[str, Vault] = {}
        self._guard = threading.Lock()

    def __repr__(self) -> str:
        return f"HubVaults(home={str(self.home)!r})"

    def for_user(self, hub_user: str) -> Vault:
        """``hub_user``'s vault (made on first use); its audit events name the hub user."""
        with self._guard:
            vault = self._vaults.get(hub_user)
            if vault is None:
                vault = Vault(self.home / "users" / folder_name(hub_user), key=self._key)
                audit.label(vault.home, hub_user=hub_user)
                self._vaults[hub_user] = vault
            return vault

    def existing(self, hub_user: str) -> Vault | None:
        """``hub_user``'s vault if that user has a folder here (none is made), else None."""
        if not (self.home / "users" / folder_name(hub_user)).is_dir():
            return None
        return self.for_user(hub_user)

    def users(self) -> list[str]:
        """The hub users who have a vault folder here."""
        folder = self.home / "users"
        if not folder.is_dir():
            return []
        return sorted(unquote(p.name) for p in folder.iterdir() if p.is_dir())

    def each(self) -> Iterator[tuple[str, Vault]]:
        """Every hub user with a vault, and that vault."""
        for hub_user in self.users():
            yield hub_user, self.for_user(hub_user)

    def pending_elsewhere(self, hub_user: str, state: str) -> bool:
        """Whether another hub user's vault holds a pending sign-in for ``state`` (a file's
        existence only: nothing is read, taken or changed)."""
        return any(other != hub_user and vault.has_pending(state) for other, vault in self.each())
