"""No import circle between the files of ``hf_ecpe`` (issue 22, item 4).

The graph is read from the source with :mod:`ast`, so it sees every ``import`` / ``from ... import`` statement:
module level, inside functions and methods, inside ``try`` / ``if`` blocks. Only blocks under
``if TYPE_CHECKING:`` are left out (they never run). One edge per statement and name:

- ``import hf_ecpe.a.b`` -> ``hf_ecpe.a.b``;
- ``from hf_ecpe.a import b`` -> ``hf_ecpe.a.b`` when ``b`` is a module (file or package), else ``hf_ecpe.a`` (the
  package's ``__init__``, e.g. a re-export); relative imports are resolved against the importing file first.

The implicit import of parent packages (``hf_ecpe/__init__.py`` runs before every submodule) is not an edge: every
file would otherwise depend on the package root. Dynamic imports (``importlib.import_module``, the method registry's
``"module:attribute"`` strings) are the intended way to defer a dependency and are not edges either.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "hf_ecpe"
PACKAGE_DIR = Path(__file__).resolve().parents[1] / PACKAGE


def module_files(package_dir: Path = PACKAGE_DIR) -> dict[str, Path]:
    """``{dotted module name: file}`` for every ``.py`` file of the package (``__init__.py`` -> the package name)."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = [package_dir.name, *path.relative_to(package_dir).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def import_graph(package_dir: Path = PACKAGE_DIR) -> dict[str, set[str]]:
    """``{module: modules of the package it imports}`` (see the module docstring for the rules)."""
    files = module_files(package_dir)
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        is_package = path.name == "__init__.py"
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _walk_imports(tree):
            if isinstance(node, ast.Import):
                targets = [_deepest_module(alias.name, files) for alias in node.names]
            else:
                base = _absolute_base(node, name, is_package)
                if base is None:
                    continue
                targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in files else base for alias in node.names]
            graph[name].update(target for target in targets if target in files and target != name)
    return graph


def _walk_imports(tree: ast.Module) -> Iterator[ast.Import | ast.ImportFrom]:
    """Import statements anywhere in ``tree`` (``if TYPE_CHECKING:`` bodies excluded)."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            skipped.update(id(inner) for statement in node.body for inner in ast.walk(statement))
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in skipped:
            yield node


def _deepest_module(dotted: str, files: dict[str, Path]) -> str:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        candidate = ".".join(parts[:cut])
        if candidate in files:
            return candidate
    return dotted


def _absolute_base(node: ast.ImportFrom, importer: str, importer_is_package: bool) -> str | None:
    """The absolute module named by ``from <module> import ...`` (relative levels resolved); None outside the
    package."""
    if node.level == 0:
        return node.module if node.module and node.module.split(".")[0] == PACKAGE else None
    anchor = importer.split(".") if importer_is_package else importer.split(".")[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join([*anchor, *([node.module] if node.module else [])])


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each as one cycle through its modules
    in import order, sorted; an empty list means the graph is acyclic."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for target in sorted(graph.get(module, ())):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in on_stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == module:
                    break
            if len(component) > 1:
                components.append(component)

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(_one_cycle(graph, component) for component in components)


def _one_cycle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A cycle inside a strongly connected ``component``, starting at its first module (by name) and returning to it."""
    start = min(component)
    paths = {start: [start]}
    frontier = [start]
    while frontier:  # breadth-first: the shortest way back to ``start``
        following = []
        for module in frontier:
            for target in sorted(graph[module] & component):
                if target == start:
                    return [*paths[module], start]
                if target not in paths:
                    paths[target] = [*paths[module], target]
                    following.append(target)
        frontier = following
    raise AssertionError(f"{sorted(component)} is not strongly connected")


def test_the_graph_reads_relative_function_level_and_package_imports(tmp_path):
    package = tmp_path / PACKAGE
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from .sub import helper\n__version__ = '0'\n")
    (package / "sub" / "__init__.py").write_text("from .helper import run\n")
    (package / "sub" / "helper.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from ..other import Hint\n"
        "def run():\n    from .. import __version__\n    import hf_ecpe.other.deep\n"
    )
    (package / "other.py").write_text("from hf_ecpe.sub import helper\n")
    graph = import_graph(package)
    assert graph == {
        "hf_ecpe": {"hf_ecpe.sub.helper"},
        "hf_ecpe.sub": {"hf_ecpe.sub.helper"},
        "hf_ecpe.sub.helper": {"hf_ecpe", "hf_ecpe.other"},  # the TYPE_CHECKING import is not an edge
        "hf_ecpe.other": {"hf_ecpe.sub.helper"},
    }
    assert find_cycles(graph) == [["hf_ecpe", "hf_ecpe.sub.helper", "hf_ecpe"]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def describe_cycles(graph: dict[str, set[str]], cycles: list[list[str]]) -> str:
    """Each cycle, then every import between the files of its strongly connected component (what to cut)."""
    lines = []
    for cycle in cycles:
        component = {
            module for module in graph if _reaches(graph, cycle[0], module) and _reaches(graph, module, cycle[0])
        }
        lines.append(f"{' -> '.join(cycle)}  (component of {len(component)} files; its imports:)")
        lines += [
            f"    {module} -> {target}" for module in sorted(component) for target in sorted(graph[module] & component)
        ]
    return "\n".join(lines)


def _reaches(graph: dict[str, set[str]], source: str, target: str) -> bool:
    seen, todo = {source}, [source]
    while todo:
        for following in graph[todo.pop()]:
            if following == target:
                return True
            if following not in seen:
                seen.add(following)
                todo.append(following)
    return source == target


def test_no_import_cycle_between_the_files_of_hf_ecpe():
    graph = import_graph()
    cycles = find_cycles(graph)
    assert not cycles, f"import cycles between files of {PACKAGE}:\n{describe_cycles(graph, cycles)}"
