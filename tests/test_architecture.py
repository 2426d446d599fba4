"""The import direction of docs/architecture.md ("Which way the imports run"): a package
imports only what stands below it. Checked on the source, so that a lazy import inside a
function counts as much as one at the top of a module."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "wagtail_segments"

# What each engine package must never import.
FORBIDDEN = {
    "contacts": {"tracking", "segments", "admin", "campaigns", "messaging"},
    "tracking": {"segments", "admin", "campaigns", "messaging"},
    "segments": {"tracking", "admin", "campaigns", "messaging"},
}


def imported_packages(path: Path) -> set[str]:
    """The wagtail_segments sub-packages that the module at ``path`` imports."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level]
                names = [".".join(base + ([node.module] if node.module else []))]
            else:
                names = [node.module or ""]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "wagtail_segments" and len(parts) > 1:
                found.add(parts[1])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_a_package_imports_nothing_that_stands_above_it(package):
    wrong = {
        str(path.relative_to(PACKAGE)): sorted(imported_packages(path) & FORBIDDEN[package])
        for path in sorted((PACKAGE / package).rglob("*.py"))
    }
    assert {path: names for path, names in wrong.items() if names} == {}
