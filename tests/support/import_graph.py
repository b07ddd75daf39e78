"""realip's import graph, read from the source with ``ast``, and the layer rule checked on it.

Every import counts, wherever it is written: at module level, inside a function (a lazy import
still runs, and still makes a cycle), under ``if TYPE_CHECKING:`` (a type-only import still
says the lower layer knows the higher one), and as a call to ``__import__`` or
``importlib.import_module`` whose module name is a string literal, or a name bound to string
literals in the same function (``for module in ("realip._serve", ...)``). A dynamic import of
a package module whose name the source does not spell out is reported as a problem of its
own: the rule can't be checked on it.

Module names are relative to the package (``resolver``, ``_doctor._cli``; ``__init__`` for the
package itself). An import of ``realip.x.y`` is an edge to ``x.y`` only, not to its parent
packages, which Python initialises first in any case.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Set, Tuple

INIT = "__init__"


class Edge(NamedTuple):
    """One import: ``source`` imports ``target`` at ``line``, written as ``how``."""

    source: str
    target: str
    line: int
    how: str


def read_package(root: Path) -> Dict[str, str]:
    """The source of every module under the package folder ``root``, by relative module name."""
    sources = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == INIT and len(parts) > 1:
            parts = parts[:-1]
        sources[".".join(parts)] = path.read_text(encoding="utf-8")
    return sources


def _package_of(module: str, sources: Mapping[str, str], package: str) -> List[str]:
    """The absolute dotted name of the package that holds ``module`` (for relative imports)."""
    parts = [] if module == INIT else module.split(".")
    if module == INIT or _is_package(module, sources):
        return [package, *parts]
    return [package, *parts[:-1]]


def _is_package(module: str, sources: Mapping[str, str]) -> bool:
    return module != INIT and any(other.startswith(module + ".") for other in sources)


def _local(absolute: str, package: str, sources: Mapping[str, str]) -> Optional[str]:
    """The relative module name of ``absolute`` if it is in the package (else None)."""
    if absolute == package:
        return INIT
    if absolute.startswith(package + "."):
        name = absolute[len(package) + 1 :]
        # ``realip.resolver.Resolver`` names an attribute: the module is the longest known prefix.
        while name and name not in sources:
            name = name.rpartition(".")[0]
        return name or INIT
    return None


def _resolve_relative(name: str, level: int, here: List[str]) -> str:
    base = here[: len(here) - (level - 1)] if level > 1 else here
    return ".".join([*base, name] if name else base)


def _string_values(node: ast.AST, scope: ast.AST) -> Optional[List[str]]:
    """The string literals ``node`` can hold: itself, or what its name is bound to in ``scope``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if not isinstance(node, ast.Name):
        return None
    values: List[str] = []
    for inner in ast.walk(scope):
        if isinstance(inner, ast.For) and _binds(inner.target, node.id):
            literals = _literal_strings(inner.iter)
            if literals is None:
                return None
            values += literals
        elif isinstance(inner, ast.Assign) and any(_binds(t, node.id) for t in inner.targets):
            literals = _literal_strings(inner.value)
            if literals is None:
                return None
            values += literals
    return values or None


def _binds(target: ast.AST, name: str) -> bool:
    return isinstance(target, ast.Name) and target.id == name


def _literal_strings(node: ast.AST) -> Optional[List[str]]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        found = [_literal_strings(element) for element in node.elts]
        if all(item is not None for item in found):
            return [value for item in found if item for value in item]
    return None


def _is_dynamic_import(call: ast.Call) -> Optional[str]:
    """``__import__`` or ``import_module`` when ``call`` is one of them."""
    func = call.func
    name = (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else ""
    )
    return name if name in ("__import__", "import_module") else None


class _Walker(ast.NodeVisitor):
    """Collects one module's imports, keeping track of the function each one is in."""

    def __init__(self, module: str, package: str, sources: Mapping[str, str], tree: ast.Module):
        self.module = module
        self.package = package
        self.sources = sources
        self.here = _package_of(module, sources, package)
        self.scopes: List[ast.AST] = [tree]
        self.edges: List[Edge] = []
        self.problems: List[str] = []

    def _add(self, absolute: str, line: int, how: str) -> None:
        target = _local(absolute, self.package, self.sources)
        if target is not None and target != self.module:
            self.edges.append(Edge(self.module, target, line, how))

    def _scoped(self, node: ast.AST) -> None:
        self.scopes.append(node)
        self.generic_visit(node)
        self.scopes.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _scoped

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno, f"import {alias.name}")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            base = _resolve_relative(base, node.level, self.here)
        written = "." * node.level + (node.module or "")
        for alias in node.names:
            self._from(base, alias.name, node.lineno, f"from {written} import {alias.name}")

    def _from(self, base: str, name: str, line: int, how: str) -> None:
        """``from base import name``: an edge to the submodule ``name`` if it is one."""
        submodule = f"{base}.{name}"
        self._add(submodule if _strip(submodule, self.package) in self.sources else base, line, how)

    def visit_Call(self, node: ast.Call) -> None:
        kind = _is_dynamic_import(node)
        if kind and node.args:
            self._dynamic(node, kind)
        self.generic_visit(node)

    def _dynamic(self, node: ast.Call, kind: str) -> None:
        names = _string_values(node.args[0], self.scopes[-1])
        if names is None:
            self.problems.append(
                f"{self.module}:{node.lineno}: {kind}() of a name the source does not spell out; "
                "write the module name as a literal so the import graph can be checked"
            )
            return
        package_arg = node.args[1] if kind == "import_module" and len(node.args) > 1 else None
        fromlist: List[str] = []
        for keyword in node.keywords:
            if keyword.arg == "package":
                package_arg = keyword.value
            elif keyword.arg == "fromlist":
                fromlist = _literal_strings(keyword.value) or []
        if kind == "__import__" and len(node.args) > 3:
            fromlist = _literal_strings(node.args[3]) or []
        for name in names:
            absolute = name
            if name.startswith("."):
                level = len(name) - len(name.lstrip("."))
                base = ".".join(self.here)
                if isinstance(package_arg, ast.Constant) and isinstance(package_arg.value, str):
                    base = package_arg.value
                absolute = _resolve_relative(name.lstrip("."), level, base.split("."))
            how = f"{kind}({name!r})"
            if not fromlist:
                self._add(absolute, node.lineno, how)
            for attribute in fromlist:
                self._from(absolute, attribute, node.lineno, how)


def _strip(absolute: str, package: str) -> str:
    return absolute[len(package) + 1 :] if absolute.startswith(package + ".") else absolute


def import_graph(
    sources: Mapping[str, str], package: str = "realip"
) -> Tuple[List[Edge], List[str]]:
    """Every import between the modules of ``sources``, and the imports it could not read."""
    edges: List[Edge] = []
    problems: List[str] = []
    for module, source in sources.items():
        tree = ast.parse(source, filename=module)
        walker = _Walker(module, package, sources, tree)
        walker.visit(tree)
        edges += walker.edges
        problems += walker.problems
    return edges, problems


def cycles(edges: Sequence[Edge]) -> List[List[Edge]]:
    """One cycle (as its edges, in order) per strongly connected group of modules."""
    graph: Dict[str, List[Edge]] = {}
    for edge in edges:
        graph.setdefault(edge.source, []).append(edge)
    found = []
    for group in _strongly_connected(graph):
        found.append(_a_cycle_in(sorted(group), graph))
    return sorted(found, key=lambda cycle: cycle[0].source)


def _strongly_connected(graph: Mapping[str, List[Edge]]) -> Iterator[Set[str]]:
    """Groups of two or more modules that each reach the others (the graph is small)."""
    reach = {node: _reachable(node, graph) for node in graph}
    seen: Set[str] = set()
    for node in sorted(graph):
        group = {other for other in reach[node] if node in reach.get(other, ())}
        if node in group and node not in seen and len(group) > 1:
            seen |= group
            yield group


def _reachable(start: str, graph: Mapping[str, List[Edge]]) -> Set[str]:
    found: Set[str] = set()
    todo = [start]
    while todo:
        for edge in graph.get(todo.pop(), []):
            if edge.target not in found:
                found.add(edge.target)
                todo.append(edge.target)
    return found


def _a_cycle_in(group: List[str], graph: Mapping[str, List[Edge]]) -> List[Edge]:
    """The shortest cycle through the group's first module, staying inside the group."""
    start = group[0]
    members = set(group)
    paths: Dict[str, List[Edge]] = {start: []}
    queue = [start]
    while queue:
        node = queue.pop(0)
        for edge in graph.get(node, []):
            if edge.target == start:
                return [*paths[node], edge]
            if edge.target in members and edge.target not in paths:
                paths[edge.target] = [*paths[node], edge]
                queue.append(edge.target)
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover - a group has one


def describe_cycle(cycle: Sequence[Edge]) -> str:
    """``a -> b (a:12 'from realip.b import x') -> a (...)``."""
    text = cycle[0].source
    for edge in cycle:
        text += f" -> {edge.target} ({edge.source}:{edge.line} {edge.how!r})"
    return text


def layer_of(module: str, layers: Sequence[Tuple[str, Sequence[str]]]) -> Optional[int]:
    """The index of the layer that holds ``module`` (a package's entry holds its submodules)."""
    for position, (_, members) in enumerate(layers):
        for member in members:
            if module == member or module.startswith(member + "."):
                return position
    return None


def layer_problems(
    edges: Sequence[Edge], modules: Sequence[str], layers: Sequence[Tuple[str, Sequence[str]]]
) -> List[str]:
    """Modules no layer holds, and imports that point from a lower layer to a higher one."""
    problems = [
        f"{module}: in no layer; add it to LAYERS in tests/test_import_graph.py, in the "
        "lowest layer whose modules it needs"
        for module in modules
        if layer_of(module, layers) is None
    ]
    for edge in edges:
        source, target = layer_of(edge.source, layers), layer_of(edge.target, layers)
        if source is not None and target is not None and target > source:
            problems.append(
                f"{edge.source}:{edge.line} {edge.how!r} points up: {layers[source][0]} "
                f"{edge.source} -> {layers[target][0]} {edge.target}"
            )
    return problems
