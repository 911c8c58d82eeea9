#!/usr/bin/env python3
"""Check a release before it is published, in one command.

Run from anywhere, with the interpreter of the test install (README line 2 puts ``build`` and
``twine`` in it)::

    .venv/bin/python .ci/release_check.py

Steps, each one a failure with a plain message when it does not hold:

1. ``python -m build`` into ``dist/``: the sdist, then the wheel built *from that sdist*;
2. ``python -m build --wheel`` from the checkout into a scratch folder, and the two wheels must
   hold the same files with the same contents (so the sdist carries everything the wheel needs);
3. ``twine check --strict`` on the sdist and the wheel;
4. the archives themselves: both carry ``LICENSE`` and ``NOTICE`` (PEP 639 ``License-File``), the
   sdist holds no local clutter (venvs, caches), the wheel holds the form's JavaScript and the
   file that enables the server extension;
5. the wheel installed into a fresh venv, with Jupyter's folders pointed at empty scratch folders,
   and smoke-tested through its public entry points only: ``jupyter server extension list``
   shows ``box_widget`` enabled by the venv's own configuration and loading, the form's files
   are inside the installed package and equal the checkout's, ``pip show -f`` lists the license
   files, ``box-widget --help`` and ``box-widget demo --help`` work.

``dist/`` then holds the two files to publish (``twine upload dist/*``).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ANSI_COLOUR = re.compile(r"\x1b\[[0-9;]*m")
LICENSE_FILES = ("LICENSE", "NOTICE")
FORM_FILES = ("form.js", "form.css")
#: Folders an sdist must never carry (local venvs, caches, build and benchmark output).
CLUTTER = {
    ".venv",
    ".venv-demo",
    ".venv-wheel",
    "__pycache__",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
}
CLUTTER_PREFIXES = ("dist/", "build/", "bench/out/", "box-widget-demo/")
#: Run inside the fresh venv: where the installed package and its files are.
PROBE = """
import hashlib, importlib.resources as res, json, box_widget
pkg = res.files("box_widget")
form = {n: hashlib.sha256((pkg / "labextension" / n).read_bytes()).hexdigest()
        for n in %r}
print(json.dumps({
    "version": box_widget.__version__,
    "package": str(pkg),
    "form": form,
}))
"""


class ReleaseCheckError(Exception):
    """A release check that did not hold; the message says which and what was found."""


def run(
    cmd: list[str], *, cwd: Path = ROOT, env: dict[str, str] | None = None, label: str = ""
) -> str:
    """Run ``cmd`` (shown as ``label`` when given), return its stdout and stderr together; fail
    with both when it fails."""
    print(f"$ {label or ' '.join(cmd)}", flush=True)
    result = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=900
    )
    output = ANSI_COLOUR.sub("", result.stdout + result.stderr)
    if result.returncode != 0:
        msg = f"{cmd[0]} exited with {result.returncode}:\n{output}"
        raise ReleaseCheckError(msg)
    return output


def check(condition: bool, what: str) -> None:
    """Print ``what`` as passed, or fail with it."""
    if not condition:
        raise ReleaseCheckError(what)
    print(f"  ok: {what}")


def only(folder: Path, pattern: str) -> Path:
    """The one file in ``folder`` matching ``pattern``."""
    found = sorted(folder.glob(pattern))
    if len(found) != 1:
        msg = f"expected one {pattern} in {folder}, found {[p.name for p in found]}"
        raise ReleaseCheckError(msg)
    return found[0]


def wheel_files(wheel: Path) -> dict[str, str]:
    """Each file of a wheel (RECORD itself aside) with the SHA-256 of its contents."""
    with zipfile.ZipFile(wheel) as archive:
        return {
            name: hashlib.sha256(archive.read(name)).hexdigest()
            for name in archive.namelist()
            if not name.endswith((".dist-info/RECORD", "/"))
        }


def size(path: Path) -> str:
    return f"{path.stat().st_size / 1024:.1f} KiB"


def build(outdir: Path, scratch: Path) -> tuple[Path, Path]:
    """Steps 1 and 2: the sdist and its wheel in ``outdir``, compared with a wheel of the tree."""
    print("== build: the sdist, then the wheel from the sdist", flush=True)
    shutil.rmtree(outdir, ignore_errors=True)
    run([sys.executable, "-m", "build", "--outdir", str(outdir), str(ROOT)])
    sdist, wheel = only(outdir, "*.tar.gz"), only(outdir, "*.whl")
    print(f"  {sdist.name}: {size(sdist)}\n  {wheel.name}: {size(wheel)}")

    print("== the wheel built straight from the checkout, against the sdist's", flush=True)
    tree_dir = scratch / "from-tree"
    run([sys.executable, "-m", "build", "--wheel", "--outdir", str(tree_dir), str(ROOT)])
    from_sdist, from_tree = wheel_files(wheel), wheel_files(only(tree_dir, "*.whl"))
    missing = sorted(from_tree.keys() - from_sdist.keys())
    extra = sorted(from_sdist.keys() - from_tree.keys())
    changed = sorted(
        n for n in from_tree.keys() & from_sdist.keys() if from_tree[n] != from_sdist[n]
    )
    check(
        not (missing or extra or changed),
        f"the sdist rebuilds the same wheel: {len(from_sdist)} files, same contents"
        + (
            f" (missing {missing}, extra {extra}, changed {changed})"
            if missing or extra or changed
            else ""
        ),
    )
    return sdist, wheel


def check_archives(sdist: Path, wheel: Path) -> None:
    """Steps 3 and 4: twine's checks and what each archive must (not) hold."""
    print("== twine check", flush=True)
    print(run([sys.executable, "-m", "twine", "check", "--strict", str(sdist), str(wheel)]).strip())

    print("== archive contents", flush=True)
    with tarfile.open(sdist) as archive:
        top, *_ = archive.getnames()[0].split("/")
        names = {name.removeprefix(f"{top}/") for name in archive.getnames()}
        pkg_info = archive.extractfile(f"{top}/PKG-INFO")
        sdist_metadata = pkg_info.read().decode() if pkg_info else ""
    check(set(LICENSE_FILES) <= names, f"the sdist holds {', '.join(LICENSE_FILES)}")
    clutter = sorted(
        n for n in names if CLUTTER & set(n.split("/")) or n.startswith(CLUTTER_PREFIXES)
    )
    check(not clutter, f"the sdist holds no local clutter{f': {clutter[:5]}' if clutter else ''}")

    files = wheel_files(wheel)
    dist_info = next(n.split("/")[0] for n in files if n.split("/")[0].endswith(".dist-info"))
    with zipfile.ZipFile(wheel) as archive:
        wheel_metadata = archive.read(f"{dist_info}/METADATA").decode()
    for label, metadata in (("sdist", sdist_metadata), ("wheel", wheel_metadata)):
        fields = [line for line in metadata.splitlines() if line.startswith("License")]
        check(
            "License-Expression: Apache-2.0" in fields
            and all(f"License-File: {name}" in fields for name in LICENSE_FILES),
            f"the {label}'s metadata: {'; '.join(fields)}",
        )
    for name in LICENSE_FILES:
        check(
            f"{dist_info}/licenses/{name}" in files, f"the wheel holds {dist_info}/licenses/{name}"
        )
    for name in FORM_FILES:
        check(f"box_widget/labextension/{name}" in files, f"the wheel holds the form's {name}")
    enable = [n for n in files if n.endswith("etc/jupyter/jupyter_server_config.d/box_widget.json")]
    check(len(enable) == 1, f"the wheel enables the server extension: {enable}")


def clean_env(scratch: Path) -> dict[str, str]:
    """The environment for the smoke test: no Jupyter, Box or venv settings of this shell, and
    Jupyter's user folders empty, so what is found comes from the installed wheel."""
    drop = ("JUPYTER_", "BOX_", "PYTHON", "VIRTUAL_ENV", "PIP_REQUIRE")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    for name in ("CONFIG_DIR", "DATA_DIR", "RUNTIME_DIR"):
        folder = scratch / "jupyter" / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[f"JUPYTER_{name}"] = str(folder)
    env["BOX_WIDGET_KEYRING"] = "0"
    return env


def smoke_test(wheel: Path, scratch: Path) -> None:
    """Step 5: install the wheel into a fresh venv and use it as a user would."""
    print("== a fresh venv with the wheel", flush=True)
    venv = scratch / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    bin_dir = venv / "bin"
    python = str(bin_dir / "python")
    run([python, "-m", "pip", "install", "-q", "--disable-pip-version-check", str(wheel)])
    env = clean_env(scratch)
    home = scratch / "cwd"
    home.mkdir()

    print("== smoke test", flush=True)
    listing = run([str(bin_dir / "jupyter"), "server", "extension", "list"], cwd=home, env=env)
    sections = listing.split("Config dir:")
    ours = [s for s in sections if s.strip().startswith(str(venv / "etc" / "jupyter"))]
    block = ours[0] if ours else ""
    enabled = "box_widget enabled" in block and re.search(r"box_widget \S+ OK", block) is not None
    check(
        enabled,
        "jupyter server extension list: box_widget enabled by the venv's etc/jupyter, and OK"
        + ("" if enabled else f"; the listing:\n{listing}"),
    )
    print("\n".join(f"    {line.strip()}" for line in block.splitlines() if "box_widget" in line))

    label = f"{python} -c '<where box_widget and its form files are>'"
    probe = json.loads(run([python, "-c", PROBE % (FORM_FILES,)], cwd=home, env=env, label=label))
    check(
        Path(probe["package"]).is_relative_to(venv),
        f"box_widget {probe['version']} imports from the venv: {probe['package']}",
    )
    for name, digest in probe["form"].items():
        source = hashlib.sha256((ROOT / "labextension" / name).read_bytes()).hexdigest()
        check(digest == source, f"the installed labextension/{name} is the checkout's")
    shown = run([python, "-m", "pip", "show", "-f", "box-widget"], cwd=home, env=env)
    licensed = [line.strip() for line in shown.splitlines() if "licenses/" in line]
    check(
        all(any(line.endswith(f"licenses/{n}") for line in licensed) for n in LICENSE_FILES),
        f"pip show -f box-widget lists {', '.join(licensed)}",
    )
    for args in (["--help"], ["demo", "--help"]):
        out = run([str(bin_dir / "box-widget"), *args], cwd=home, env=env)
        first = out.strip().splitlines()[0] if out.strip() else ""
        check(first.startswith("usage: box-widget"), f"box-widget {' '.join(args)}: {first}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--outdir", type=Path, default=ROOT / "dist", help="default: dist/")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder (venv)")
    args = parser.parse_args(argv)
    scratch = Path(tempfile.mkdtemp(prefix="box-widget-release-"))
    try:
        sdist, wheel = build(args.outdir.resolve(), scratch)
        check_archives(sdist, wheel)
        smoke_test(wheel, scratch)
    except ReleaseCheckError as exc:
        print(f"release check FAILED: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"scratch kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    print(f"release check passed: {sdist.name} ({size(sdist)}), {wheel.name} ({size(wheel)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
