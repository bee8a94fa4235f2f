"""Imports point one way (docs/architecture.md): a module that imports a layer above its own
fails here, lazy imports inside functions included.

    server → schema → domain → geo        workers → domain → geo

`geo` imports nothing of the project; `domain.infra` nothing of the business areas; what
schema areas share (`schema.common`) imports no area; nothing imports `server.app` but
`server.asgi`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("server", "schema", "domain", "geo", "workers", "migrations")

#: Which project packages each package may import (itself always).
MAY_IMPORT: dict[str, frozenset[str]] = {
    "geo": frozenset(),
    "domain": frozenset({"geo"}),
    "schema": frozenset({"domain", "geo"}),
    "workers": frozenset({"domain", "geo"}),
    "migrations": frozenset({"domain", "geo"}),
    "server": frozenset({"schema", "domain", "geo", "workers", "migrations"}),
}

#: Module prefixes → project modules they may not import (finer rules inside a package).
FORBIDDEN_WITHIN: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("domain.infra", ("domain.spatial", "domain.requests", "domain.surveys", "domain.people",
                      "domain.media", "domain.organisation")),
    ("schema.common", ("schema.spatial", "schema.requests", "schema.surveys", "schema.people",
                       "schema.media", "schema.organisation", "schema.app")),
    ("schema.media", ("schema.app", "schema.requests")),
    ("schema.spatial", ("schema.app", "schema.people")),
    ("schema.requests", ("schema.app",)),
    ("schema.surveys", ("schema.app",)),
    ("schema.people", ("schema.app",)),
    ("schema.organisation", ("schema.app",)),
)


def module_name(path: Path) -> str:
    """`domain/spatial/models.py` → `domain.spatial.models`."""
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str) -> Iterator[str]:
    """Every module `source` imports, at any depth (relative imports resolved)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: -node.level]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def violations(module: str, imported: str) -> list[str]:
    """Why `module` may not import `imported` (empty when it may)."""
    own, target = module.split(".")[0], imported.split(".")[0]
    if target not in PACKAGES:
        return []
    if target != own and target not in MAY_IMPORT[own]:
        return [f"{module} imports {imported}: {own} may import only "
                f"{', '.join(sorted(MAY_IMPORT[own])) or 'nothing of the project'}"]
    if _within(imported, "server.app") and module != "server.asgi":
        return [f"{module} imports {imported}: nothing but server.asgi may"]
    return [f"{module} imports {imported}: {rule}" for rule in _finer(module, imported)]


def _finer(module: str, imported: str) -> list[str]:
    return [f"{prefix} may not import {banned}" for prefix, bans in FORBIDDEN_WITHIN
            for banned in bans
            if _within(module, prefix) and _within(imported, banned)]


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def _project_modules() -> Iterator[tuple[str, str]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield module_name(path), path.read_text(encoding="utf-8")


def test_imports_point_one_way() -> None:
    found = [problem for module, source in _project_modules()
             for imported in set(imported_modules(source, module))
             for problem in violations(module, imported)]
    assert found == [], "\n".join(sorted(found))


@pytest.mark.parametrize(("module", "imported"), [
    ("geo.crs", "domain.spatial.models"),
    ("domain.requests.sweep", "workers.actors"),
    ("domain.spatial.coverage", "schema.common.ids"),
    ("schema.spatial.types", "server.auth"),
    ("workers.actors", "schema.app"),
    ("domain.infra.db", "domain.requests.models"),
    ("schema.common.loaders", "schema.spatial.types"),
    ("server.cli", "server.app"),
])
def test_an_upward_import_is_caught(module: str, imported: str) -> None:
    assert violations(module, imported)


@pytest.mark.parametrize(("module", "imported"), [
    ("server.app", "schema.app"), ("schema.spatial.types", "domain.spatial.models"),
    ("workers.actors", "domain.requests.dispatch"), ("domain.spatial.coverage", "geo.sql"),
    ("server.asgi", "server.app"), ("schema.requests.types", "schema.common.ids"),
    ("domain.requests.queries", "sqlalchemy"),
])
def test_a_downward_import_is_allowed(module: str, imported: str) -> None:
    assert violations(module, imported) == []


def test_relative_imports_are_resolved() -> None:
    source = "from ..infra import db\nfrom . import models\n"
    assert set(imported_modules(source, "domain.spatial.coverage")) >= {
        "domain.infra.db", "domain.spatial.models"}
