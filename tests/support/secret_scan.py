"""A scanner for leaked secrets: every client secret, token, code and state, anywhere.

Give it the secrets (``emulator_secrets(emu)`` collects every one an emulator ever issued or
knows) and the places to look: texts (log captures, pages, exception texts) and paths (files or
folders: saved notebooks, server and kernel logs, the vault). It looks for each secret as is,
percent-encoded and JSON-escaped, in text and in raw bytes, and reports where, with each secret
cut to its first 6 characters (the report itself leaks nothing).

From a shell, for files made elsewhere (e.g. notebooks run against the emulator)::

    python tests/support/secret_scan.py --secrets FILE PATH...   # FILE: one secret a line

exits 1 and prints the hits when any secret is found.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from box_widget.emulator import BoxEmulator

#: Secrets shorter than this are not looked for (they would match by chance).
MIN_LENGTH = 12
#: Bigger files are read in part only (a vault, a log or a notebook is far smaller).
MAX_BYTES = 64 * 1024 * 1024


def emulator_secrets(emu: BoxEmulator) -> set[str]:
    """Every secret an emulator holds: app secrets, codes, access and refresh tokens."""
    oauth = emu.state.oauth
    with oauth.lock:
        return (
            {app.client_secret for app in oauth.apps.values()}
            | set(oauth.codes)
            | set(oauth.access_tokens)
            | set(oauth.refresh_tokens)
        )


def forms(secret: str) -> set[bytes]:
    """The ways a secret can be written down: as is, percent-encoded, JSON-escaped."""
    escaped = json.dumps(secret)[1:-1]
    return {
        variant.encode()
        for variant in (secret, quote(secret, safe=""), escaped, escaped.replace("/", "\\/"))
    }


def find(secrets: Iterable[str], data: str | bytes) -> list[str]:
    """The secrets (cut to 6 characters) that occur in ``data``."""
    raw = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    return sorted(
        {
            s[:6] + "..."
            for s in secrets
            if len(s) >= MIN_LENGTH and any(form in raw for form in forms(s))
        }
    )


def files_under(paths: Iterable[Path]) -> list[Path]:
    """The files given, and every file under the folders given."""
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return found


def scan(
    secrets: Iterable[str],
    *,
    texts: Mapping[str, str | bytes] | None = None,
    paths: Iterable[Path] = (),
) -> dict[str, list[str]]:
    """Where each secret was found: ``{place: [secret prefixes]}``, only places with hits."""
    wanted = {s for s in secrets if len(s) >= MIN_LENGTH}
    if not wanted:
        msg = f"no secret of at least {MIN_LENGTH} characters to look for"
        raise ValueError(msg)
    hits: dict[str, list[str]] = {}
    for place, text in (texts or {}).items():
        if found := find(wanted, text):
            hits[place] = found
    for path in files_under(paths):
        with path.open("rb") as handle:
            data = handle.read(MAX_BYTES)
        if found := find(wanted, data):
            hits[str(path)] = found
    return hits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Look for secrets in files and folders.")
    parser.add_argument("--secrets", type=Path, required=True, help="a file with one secret a line")
    parser.add_argument("paths", type=Path, nargs="+", help="files or folders to scan")
    args = parser.parse_args(argv)
    secrets = [line.strip() for line in args.secrets.read_text().splitlines() if line.strip()]
    hits = scan(secrets, paths=args.paths)
    for place, found in hits.items():
        print(f"{place}: {', '.join(found)}")
    print(
        f"{len(secrets)} secrets, {len(files_under(args.paths))} files: "
        f"{sum(map(len, hits.values()))} hits"
    )
    return 1 if hits else 0


if __name__ == "__main__":
    sys.exit(main())
