"""Re-encrypt the box-widget hub service's vault with a new key (docs/jupyterhub.md).

Run it with the service stopped (stop the hub, or remove the service from its config), as the
user the service runs as, with the service's Python::

    OLD_BOX_WIDGET_KEY=... NEW_BOX_WIDGET_KEY=... python rotate_key.py /srv/box-widget

Make the new key with ``python -c "from cryptography.fernet import Fernet;
print(Fernet.generate_key().decode())"``. Every hub user's connections are decrypted with the
old key and written again with the new one; a record already under the new key is left as it
is, so the script can run again after an interruption. Sign-ins in progress (pending, at most
10 minutes old) are dropped: those users click Generate again. If the old key lived in the
folder's ``vault.key``, the new key replaces it there. Then give the service the new key
(``BOX_WIDGET_KEY``) and start it again. Nothing secret is printed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from box_widget.errors import VaultUnreadable
from box_widget.files import atomic_write
from box_widget.keys import KEY_FILE
from box_widget.vault import Vault

SOURCE = "hub"  # the key source the service reports


def rotate(home: Path, old: bytes, new: bytes) -> int:
    """Re-encrypt every hub user's connections in ``home``; how many were re-encrypted."""
    done = 0
    for folder in sorted(p for p in (home / "users").glob("*") if p.is_dir()):
        before, after = Vault(folder, key=(old, SOURCE)), Vault(folder, key=(new, SOURCE))
        for name in before.names():
            try:
                after.load(name)
                continue  # already under the new key
            except VaultUnreadable:
                pass
            record = before.load(name)  # VaultUnreadable here: the old key is not this vault's
            if record is None:
                continue
            after.delete(name)  # not save(): it would keep the old file aside, still readable
            after.save(name, record)
            done += 1
        for pending in (folder / "pending").glob("*"):
            pending.unlink()
    key_file = home / KEY_FILE
    if key_file.is_file():
        atomic_write(key_file, new)
    return done


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1]:
        print(__doc__, file=sys.stderr)
        return 2
    old = os.environ.get("OLD_BOX_WIDGET_KEY", "").strip().encode()
    new = os.environ.get("NEW_BOX_WIDGET_KEY", "").strip().encode()
    if not old or not new or old == new:
        print(
            "Set OLD_BOX_WIDGET_KEY and NEW_BOX_WIDGET_KEY (two different keys).", file=sys.stderr
        )
        return 2
    try:
        done = rotate(Path(argv[1]), old, new)
    except VaultUnreadable as exc:
        print(f"Stopped, nothing more changed: {exc}", file=sys.stderr)
        return 1
    print(f"re-encrypted {done} connection(s) with the new key")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
