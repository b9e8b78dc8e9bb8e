"""ibsim's own import graph has no cycles, and every module opens with a usage docstring."""

from __future__ import annotations

import ast
from pathlib import Path

import ibsim

PACKAGE = Path(ibsim.__file__).parent


def _imports(path: Path) -> set[str]:
    """ibsim modules imported anywhere in `path` (TYPE_CHECKING blocks and functions included)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level == 1 or base == "ibsim" or base.startswith("ibsim."):
                base = base.removeprefix("ibsim").lstrip(".") if node.level == 0 else base
                if base:
                    found.add(base.split(".")[0])
                else:  # from . import x / from ibsim import x
                    found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("ibsim."))
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    return {name for name in found if name in modules and name != "__init__"}


def _graph() -> dict[str, set[str]]:
    return {p.stem: _imports(p) for p in PACKAGE.glob("*.py") if p.stem not in ("__init__", "__main__")}


def test_import_graph_is_acyclic():
    graph = _graph()
    assert graph["server"] >= {"session", "faults", "convert", "admin"}  # the graph is really read
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :] + [nxt]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_servers_parts_do_not_import_the_server():
    graph = _graph()
    for part in ("session", "convert", "faults", "admin", "interfaces", "config"):
        assert "server" not in graph[part], part


def test_every_module_opens_with_a_usage_docstring():
    for path in sorted(PACKAGE.glob("*.py")):
        doc = ast.get_docstring(ast.parse(path.read_text()))
        assert doc, f"{path.name} has no module docstring"
        lines = doc.splitlines()
        assert any(line.startswith("    ") and line.strip() for line in lines), f"{path.name}: no usage example"
