"""The import contract: areas in layers, arrows pointing down, tables kept at home.

The layers are read from the ``layers`` block of ``ARCHITECTURE.md`` (one place:
the map a newcomer reads is the one this test checks). Every module of
``src/mics`` must belong to a listed area; an area not yet listed (a new
package) fails here until it is placed.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "src" / "mics"
MAP = ROOT / "ARCHITECTURE.md"

# Table classes still read outside their area, each with its reason. Shrink, never grow.
KNOWN_TABLE_READS: set[tuple[str, str]] = set()  # none left (issue 16)


def layers() -> list[tuple[str, list[str]]]:
    """``(layer, areas)`` from the top layer down, as ``ARCHITECTURE.md`` draws them."""
    block = re.search(r"```layers\n(.*?)```", MAP.read_text(encoding="utf-8"), re.S)
    assert block is not None, "ARCHITECTURE.md has no ```layers block"
    found = []
    for line in block.group(1).splitlines():
        words = line.split("#", 1)[0].split()
        if words:
            found.append((words[0], words[1:]))
    return found


def rank() -> dict[str, int]:
    """Each area's layer number: 0 is the bottom."""
    drawn = layers()
    return {area: len(drawn) - 1 - n for n, (_, areas) in enumerate(drawn) for area in areas}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def area_of(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def sources() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(SOURCE.rglob("*.py")):
        if "migrations" in path.parts and "versions" in path.parts:
            continue  # frozen history: each revision describes the schema of its day
        yield module_name(path), ast.parse(path.read_text(encoding="utf-8"))


def imports(tree: ast.Module) -> Iterator[tuple[str, list[str]]]:
    """``(module, names)`` of every ``mics`` import, at any depth (lazy ones count)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "mics" or node.module.startswith("mics."):
                yield node.module, [alias.name for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("mics."):
                    yield alias.name, []


def tables() -> dict[str, str]:
    """Every table class (a class with ``__tablename__``), by its module-qualified name."""
    found = {}
    for module, tree in sources():
        for node in tree.body:
            if isinstance(node, ast.ClassDef) and any(
                isinstance(item, ast.Assign)
                and any(isinstance(t, ast.Name) and t.id == "__tablename__" for t in item.targets)
                for item in node.body
            ):
                found[f"{module}.{node.name}"] = module
    return found


def arrows() -> dict[tuple[str, str], list[str]]:
    """Area -> area arrows, each with the imports that draw it."""
    found: dict[tuple[str, str], list[str]] = {}
    for module, tree in sources():
        for target, _ in imports(tree):
            a, b = area_of(module), area_of(target)
            if a != b:
                found.setdefault((a, b), []).append(f"{module} imports {target}")
    return found


def test_the_map_places_every_area_once() -> None:
    drawn = [area for _, areas in layers() for area in areas]
    assert len(drawn) == len(set(drawn)), f"an area is drawn twice: {sorted(drawn)}"
    present = {area_of(module) for module, _ in sources()} - {"mics"}
    assert present <= set(drawn), (
        f"areas missing from ARCHITECTURE.md's layers: {sorted(present - set(drawn))}"
    )
    # DESIGN.md's order, bottom up: registry and the log, trace, the middle areas, passport
    level = rank()
    assert level["registry"] <= level["ledger"] < level["trace"]
    assert level["trace"] < min(level[a] for a in ("footprint", "custody", "factory"))
    assert (
        max(level[a] for a in ("footprint", "custody", "factory", "partnership"))
        < level["passport"]
    )
    assert level["passport"] < min(level[a] for a in ("api", "cli", "web"))


def test_no_arrow_points_up() -> None:
    level = rank()
    upward = [
        line
        for (a, b), lines in arrows().items()
        if a in level and b in level and level[b] > level[a]
        for line in lines
    ]
    assert upward == []


def test_no_import_cycle_between_areas_below_the_faces() -> None:
    level, top = rank(), max(rank().values())
    graph: dict[str, set[str]] = {}
    for a, b in arrows():
        if level.get(a, top) < top and level.get(b, top) < top:
            graph.setdefault(a, set()).add(b)

    def cycle_from(start: str) -> list[str] | None:
        path, seen = [start], set()

        def walk(node: str) -> list[str] | None:
            for nxt in sorted(graph.get(node, ())):
                if nxt == start:
                    return [*path, start]
                if nxt not in seen:
                    seen.add(nxt)
                    path.append(nxt)
                    found = walk(nxt)
                    if found:
                        return found
                    path.pop()
            return None

        return walk(start)

    cycles = [found for area in sorted(graph) if (found := cycle_from(area))]
    assert cycles == []


def test_no_table_class_leaves_its_area() -> None:
    home = tables()
    assert len(home) > 20  # the parse found the tables (a broken finder passes vacuously)
    strays = []
    for module, tree in sources():
        for target, names in imports(tree):
            for name in names or [""]:
                qualified = f"{target}.{name}" if name else target
                owner = home.get(qualified)
                if owner is None and qualified in home.values():
                    owner = qualified  # the table module itself
                if owner is None or area_of(owner) == area_of(module):
                    continue
                if module == "mics.schema":
                    continue  # the whole schema for Alembic: it imports every table module
                if (module, qualified) not in KNOWN_TABLE_READS:
                    strays.append(f"{module} imports {qualified}")
    assert strays == []


@pytest.mark.parametrize("module", ["merkle", "leaf", "note", "tiles", "verify", "witness"])
def test_the_log_core_does_no_database_io(module: str) -> None:
    tree = ast.parse((SOURCE / "ledger" / f"{module}.py").read_text(encoding="utf-8"))
    touched = [
        target
        for target, _ in imports(tree)
        if target.startswith(("mics.db", "mics.ledger.store", "mics.trace"))
    ]
    modules = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert touched == []
    assert not modules & {"sqlalchemy", "httpx", "fastapi"}
