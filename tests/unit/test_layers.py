"""The rooms keep their doors: imports go one way (docs/DEVELOPING.md), and no private name crosses a module."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# room -> packages it must never import
FORBIDDEN = {
    "sources": ("warehouse", "pipelines", "dagster"),
    "warehouse.engine": ("warehouse.transforms", "warehouse.outputs", "pipelines", "dagster"),
    "warehouse.transforms": ("warehouse.outputs", "pipelines", "dagster"),
    "warehouse.outputs": ("pipelines", "dagster"),
}


def _modules():
    for package in ("sources", "warehouse", "pipelines"):
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            yield name, path


def _imports(path: Path):
    """(imported module, imported names) for every import in the file, at any depth."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, []
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module, [a.name for a in node.names]


def _room(module: str) -> str | None:
    return next((room for room in sorted(FORBIDDEN, key=len, reverse=True) if module == room or module.startswith(room + ".")), None)


@pytest.mark.parametrize(("module", "path"), list(_modules()), ids=lambda v: v if isinstance(v, str) else "")
def test_imports_go_one_way_and_private_names_stay_home(module, path):
    room = _room(module)
    for imported, names in _imports(path):
        if room:
            bad = [p for p in FORBIDDEN[room] if imported == p or imported.startswith(p + ".")]
            assert not bad, f"{module} ({room}) imports {imported}: {room} must not import {', '.join(FORBIDDEN[room])}"
        if imported.split(".")[0] in ("sources", "warehouse", "pipelines"):
            private = [n for n in names if n.startswith("_") and not n.startswith("__")]
            assert not private, f"{module} imports private name(s) {private} from {imported}"
