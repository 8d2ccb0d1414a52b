"""Tests of the package's shape: imports point one way, and importing glassnet stays light."""

from __future__ import annotations

import ast
import re
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


#: The core: the network, its engines, the reference, the training loop and model files, and what
#: they are made of. It knows nothing of where data comes from, of recipes, commands, pages, plots,
#: runs on disk or the bridges to other libraries; those are built on it.
CORE = (
    "glassnet.activations",
    "glassnet.atomic",
    "glassnet.augment",
    "glassnet.checkpoint",
    "glassnet.config",
    "glassnet.engine",
    "glassnet.errors",
    "glassnet.gradcheck",
    "glassnet.history",
    "glassnet.initializers",
    "glassnet.losses",
    "glassnet.memory",
    "glassnet.metrics",
    "glassnet.modelfile",
    "glassnet.network",
    "glassnet.optimizers",
    "glassnet.preprocess",
    "glassnet.reference",
    "glassnet.rules",
    "glassnet.schedules",
    "glassnet.tensorfile",
    "glassnet.trace",
    "glassnet.training",
    "glassnet.trainingdata",
)
ABOVE = (
    "glassnet.cli",
    "glassnet.datasets",
    "glassnet.explain",
    "glassnet.export",
    "glassnet.images",
    "glassnet.plots",
    "glassnet.presets",
    "glassnet.runs",
    "glassnet.settings",
    "glassnet.sklearn",
    "glassnet.sweep",
    "glassnet.web",
)


#: The core's one way up: ``Network.to_onnx`` hands the network to the exporter, imported when the
#: method is called. The exporter itself reaches nothing else built on the core.
HANDED_ON = [("glassnet.network", "glassnet.export.onnx")]


def in_package(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    reached, todo = set(), [start]
    while todo:
        for dep in graph[todo.pop()] - reached:
            reached.add(dep)
            todo.append(dep)
    return reached


def test_every_module_is_placed_in_the_core_or_above_it() -> None:
    """A new module must be placed on purpose, so the rule below covers it."""
    placed = (*CORE, *ABOVE, "glassnet", "glassnet.__main__", "glassnet.notebook")
    assert [m for m in import_graph() if not in_package(m, placed)] == []


def test_the_core_imports_nothing_of_what_is_built_on_it() -> None:
    """Dependencies point one way: no core module reaches, by any chain of imports (lazy ones
    included), a module built on the core."""
    graph = import_graph()
    for importer, imported in HANDED_ON:  # checked on their own below
        graph[importer] = graph[importer] - {imported}
    core = [m for m in graph if in_package(m, CORE)]
    assert len(core) >= len(CORE)
    for name in core:
        assert sorted(m for m in reachable(graph, name) if in_package(m, ABOVE)) == [], name
    for _, imported in HANDED_ON:
        above = [m for m in reachable(graph, imported) if in_package(m, ABOVE)]
        assert [m for m in above if not in_package(m, ("glassnet.export",))] == [], imported


def test_the_direction_check_finds_a_core_module_importing_upwards() -> None:
    graph = {"glassnet.network": {"glassnet.training"}, "glassnet.training": {"glassnet.presets"}}
    assert reachable(graph | {"glassnet.presets": set()}, "glassnet.network") == {
        "glassnet.training",
        "glassnet.presets",
    }


def test_importing_the_network_loads_the_core_alone() -> None:
    code = (
        "import sys, glassnet.network; "
        "print(' '.join(m for m in sys.modules if m.startswith('glassnet')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = result.stdout.split()
    assert "glassnet.network" in loaded
    assert [m for m in loaded if in_package(m, ABOVE)] == []
    assert [m for m in loaded if not in_package(m, (*CORE, "glassnet"))] == []


def test_command_line_spellings_live_in_the_cli() -> None:
    """No core module names a command-line option: the settings' rules say what values are valid,
    and glassnet.cli says how the command line spells them."""
    spelled = []
    for path in PACKAGE.rglob("*.py"):
        if not in_package(module_name(path), CORE):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            text = node.value if isinstance(node, ast.Constant) else None
            if isinstance(text, str) and re.fullmatch(r"--[a-z][a-z-]*", text):
                spelled.append(f"{module_name(path)}: {text}")
    assert spelled == []


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
