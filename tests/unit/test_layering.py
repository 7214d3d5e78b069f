"""The import rule of docs/CONTRACTS.md, checked: no component, CLI or benchmark
imports a sibling component, the server or the tests; shared code lives in the layers
below (`api/`, `client/`, `componentbase/`). Every import counts, also those inside
functions."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHARED = {"api", "client", "componentbase"}
ALLOWED: dict[str, set[str]] = {
    "api": set(),
    "client": {"api"},
    "componentbase": {"api", "client"},
    "apiserver": SHARED,
    "scheduler": SHARED,
    "controller": SHARED,
    "kubelet": SHARED,
    "proxy": SHARED,
    "ingress": SHARED,
    "metrics": SHARED,
    "dashboard": SHARED,
    # the one package that composes components: it runs these three in one process
    "addons": SHARED | {"ingress", "metrics", "dashboard"},
    "apilb": SHARED,
    "netagent": SHARED,
    "minikctl": SHARED,
    "deploy": SHARED,
    "bench": SHARED | {"deploy"},
    "tools": {"api"},
}
OURS = set(ALLOWED) | {"tests"}


def minik_imports(path: Path) -> set[str]:
    """The top-level minik packages a file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & OURS


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_layers_below_it(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"{package}/ has no Python files"
    wrong = {
        str(path.relative_to(ROOT)): sorted(imported - ALLOWED[package] - {package})
        for path in files
        if (imported := minik_imports(path)) - ALLOWED[package] - {package}
    }
    assert not wrong, f"{package}/ imports what it must not: {wrong}"
