"""The layering rules of docs/architecture.md, checked on the package's own imports."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "box_widget"
#: Storage: files, keys, locks and the audit trail; it knows no protocol and no Box.
STORAGE = {"vault", "keys", "files", "audit", "records", "grants"}
#: What storage may import of the package.
STORAGE_MAY_IMPORT = STORAGE | {"errors"}


def imports_of(path: Path) -> set[str]:
    """The ``box_widget`` modules a file imports (dotted, without the package's name)."""
    module = ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    package = module.rsplit(".", 1)[0] if "." in module else ""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = (
                    package.split(".")[: len(package.split(".")) - node.level + 1]
                    if package
                    else []
                )
                parts = [p for p in base if p] + ([node.module] if node.module else [])
                found.add(".".join(parts))
            elif node.module and node.module.startswith("box_widget"):
                found.add(node.module.removeprefix("box_widget").lstrip("."))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("box_widget"):
                    found.add(alias.name.removeprefix("box_widget").lstrip("."))
    return found


def imported_names(source: str) -> set[str]:
    """Every module name a file's source imports (``import a.b``, ``from a.b import c``)."""
    tree = ast.parse(source)
    return {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}


def product_files() -> list[Path]:
    return [p for p in PACKAGE.rglob("*.py") if "emulator" not in p.relative_to(PACKAGE).parts]


def test_storage_knows_no_protocol() -> None:
    for name in STORAGE:
        wrong = {
            m
            for m in imports_of(PACKAGE / f"{name}.py")
            if m.split(".")[0] not in STORAGE_MAY_IMPORT
        }
        assert not wrong, f"{name}.py imports {wrong}"


def test_the_product_never_imports_the_emulator_except_to_run_it() -> None:
    for path in product_files():
        relative = path.relative_to(PACKAGE).as_posix()
        if any(m.startswith("emulator") for m in imports_of(path)):
            # The commands that start the emulator (the demo, `box-widget emulator`).
            assert "cli" in relative or relative.startswith("demo"), relative


def test_only_the_server_extension_imports_jupyter_server() -> None:
    for path in product_files():
        relative = path.relative_to(PACKAGE).parts
        text = path.read_text(encoding="utf-8")
        if relative[0] == "server":
            continue
        assert not any(n.startswith("jupyter_server") for n in imported_names(text)), path


def test_every_exception_class_is_defined_in_errors() -> None:
    for path in product_files():
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(b) for b in node.bases}
                assert not any(
                    "Error" in b or "Exception" in b or b.endswith("Required") for b in bases
                ), f"{path.relative_to(PACKAGE)}: class {node.name}({', '.join(bases)})"


def test_no_product_module_is_over_300_lines() -> None:
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in product_files()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 300
    }
    assert not long, long


def test_only_the_hub_service_imports_jupyterhub() -> None:
    for path in product_files():
        relative = path.relative_to(PACKAGE).parts
        if relative[0] == "hub":
            continue
        names = imported_names(path.read_text(encoding="utf-8"))
        assert not any(n.startswith("jupyterhub") for n in names), path
