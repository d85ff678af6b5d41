"""The layout's promises: services do not reach into each other, and rooms import one way.

A room is a sub-package of a service (``winback_notifier.cases``) or one of its top-level
modules (``winback_notifier.app``). The graph of which room imports which is read from the source
with :mod:`ast`, so a new import that breaks a promise fails here, not in a reviewer's head.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = {
    "winback_shared": REPO / "shared" / "winback_shared",
    "winback_ingest": REPO / "services" / "ingest" / "winback_ingest",
    "winback_router": REPO / "services" / "router" / "winback_router",
    "winback_notifier": REPO / "services" / "notifier" / "winback_notifier",
}
DOMAIN_ROOMS = {
    "winback_notifier": {
        "cases",
        "live",
        "sla",
        "reports",
        "agents",
        "story",
        "calls",
        "outbound",
        "staffing",
        "outcomes",
    },
    "winback_router": {"adapters", "coding", "recoding", "dead_letters"},
}


def imported_modules(path: Path) -> Iterator[str]:
    """Every absolute module name ``path`` imports (``from x import y`` yields ``x`` and
    ``x.y``, since ``y`` may be a module)."""
    tree = ast.parse(path.read_text(), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def room_of(package: str, module: str) -> str | None:
    """The room a dotted module name belongs to within ``package``."""
    parts = module.split(".")
    if parts[0] != package or len(parts) < 2:
        return None
    return parts[1]


def room_graph(package: str) -> dict[str, set[str]]:
    """Which rooms of ``package`` each room imports (itself excluded)."""
    root = PACKAGES[package]
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        relative = path.relative_to(root).with_suffix("")
        here = relative.parts[0]
        edges = graph.setdefault(here, set())
        for module in imported_modules(path):
            there = room_of(package, module)
            is_room = there and ((root / there).is_dir() or (root / f"{there}.py").exists())
            if is_room and there != here:
                edges.add(str(there))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of a graph, each as the path that closes it."""
    found: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                found.append([*path[path.index(nxt) :], nxt])
            elif len(path) < len(graph):
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    return found


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_no_package_imports_another_service(package: str) -> None:
    services = {name for name in PACKAGES if name != "winback_shared"}
    allowed = {"winback_shared", package}
    reached = {
        module.split(".")[0]
        for path in PACKAGES[package].rglob("*.py")
        for module in imported_modules(path)
        if module.split(".")[0] in services | {"winback_shared"}
    }
    assert reached <= allowed, f"{package} imports {sorted(reached - allowed)}"


@pytest.mark.parametrize("package", sorted(DOMAIN_ROOMS))
def test_domain_rooms_import_without_cycles(package: str) -> None:
    graph = room_graph(package)
    rooms = DOMAIN_ROOMS[package]
    domain_graph = {room: graph.get(room, set()) & rooms for room in rooms}
    assert cycles(domain_graph) == []


def test_cases_depend_on_no_other_notifier_room() -> None:
    graph = room_graph("winback_notifier")
    others = DOMAIN_ROOMS["winback_notifier"] - {"cases"}
    assert graph["cases"] & others == set()


def test_room_graph_sees_an_import() -> None:
    """The check above is only worth something if the graph finds real edges."""
    graph = room_graph("winback_notifier")
    assert "cases" in graph["sla"]
    assert "cases" in graph["live"]


def test_cycles_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"a"}}) != []
    assert cycles({"a": {"b"}, "b": set()}) == []
