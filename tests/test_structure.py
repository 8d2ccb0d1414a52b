"""Tests of the package's shape: imports point one way, and importing glassnet stays light."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import glassnet

PACKAGE = Path(glassnet.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every glassnet module and the glassnet modules it imports, lazily or not (imports under
    ``if TYPE_CHECKING:`` never run, so they do not count)."""
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for node in ast.walk(block)
        }
        deps: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                deps.add(node.module)
                deps.update(f"{node.module}.{alias.name}" for alias in node.names)
        # A package importing its own submodules (re-exports) is no edge back up.
        graph[name] = {
            d for d in deps if d in modules and d != name and not name.startswith(d + ".")
        }
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in graph:
        if v not in index:
            visit(v)
    return found


def test_no_import_cycle_anywhere_in_the_package() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_core_imports_nothing_of_what_is_built_on_it() -> None:
    """The network, its engines and the reference know nothing of files, commands or pictures."""
    graph = import_graph()
    core = ["glassnet.network", "glassnet.reference", "glassnet.engine", "glassnet.training"]
    above = ("glassnet.cli", "glassnet.web", "glassnet.plots", "glassnet.runs", "glassnet.images")
    for name in core:
        reached, todo = set(), [name]
        while todo:
            for dep in graph[todo.pop()] - reached:
                reached.add(dep)
                todo.append(dep)
        assert not [m for m in reached if m.startswith(above)], name
        assert "glassnet.datasets.fetch" not in reached, name


def test_importing_glassnet_loads_no_download_command_or_plotting_code() -> None:
    code = (
        "import sys, glassnet; "
        "print(' '.join(m for m in sys.modules if m.startswith(("
        "'glassnet.datasets.fetch', 'glassnet.cli', 'glassnet.web', 'glassnet.plots', "
        "'pooch', 'matplotlib', 'starlette', 'PIL'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
