"""The shape of the house, on every change: no import cycle among ler_plugin's rooms.

The layer contracts themselves are in pyproject.toml ([tool.importlinter]) and run by
`uv run lint-imports` in .ci/run; this test needs nothing but the suite to catch a cycle, and
names every import of the cycle it finds.
"""

from __future__ import annotations

import itertools

import grimp


def _room(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def room_graph() -> dict[str, dict[str, list[str]]]:
    """For each room (top-level module or package of ler_plugin), the rooms it imports, each with
    the imports that make the arrow (``importer -> imported (l.N)``)."""
    graph = grimp.build_graph("ler_plugin")
    arrows: dict[str, dict[str, list[str]]] = {}
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            here, there = _room(module), _room(imported)
            if here == there or "ler_plugin" in (here, there):
                continue
            lines = graph.get_import_details(importer=module, imported=imported)
            where = ", ".join(f"l.{d['line_number']}" for d in lines)
            arrows.setdefault(here, {}).setdefault(there, []).append(
                f"{module} -> {imported} ({where})"
            )
    return arrows


def find_cycle(arrows: dict[str, dict[str, list[str]]]) -> list[str] | None:
    """One cycle of rooms (first room repeated at the end), or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(room: str) -> list[str] | None:
        state[room] = "open"
        path.append(room)
        for nxt in sorted(arrows.get(room, {})):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[room] = "done"
        path.pop()
        return None

    for room in sorted(arrows):
        if room not in state and (found := visit(room)):
            return found
    return None


def test_no_import_cycle_among_rooms() -> None:
    arrows = room_graph()
    assert {"wallet", "badges", "lti", "rollups"} <= set(arrows)  # the graph is really built
    cycle = find_cycle(arrows)
    if cycle:
        imports = [i for a, b in itertools.pairwise(cycle) for i in arrows[a][b]]
        raise AssertionError(
            "import cycle among rooms: " + " -> ".join(cycle) + "\n  " + "\n  ".join(imports)
        )


def test_the_cycle_finder_finds_one() -> None:
    """The check itself can fail: a made-up graph with a cycle is caught, one without is not."""
    looped = {"wallet": {"rollups": ["x"]}, "rollups": {"credit": ["y"], "wallet": ["z"]}}
    assert find_cycle(looped) == ["rollups", "wallet", "rollups"]
    assert find_cycle({"wallet": {"db": ["x"]}, "badges": {"wallet": ["y"]}}) is None
