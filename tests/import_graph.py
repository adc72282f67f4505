"""The import graph between the project's packages, read with `ast`, and what breaks its
layering. `python -m tests.import_graph [--root DIR]` prints the summary and every
problem (exit status 1 if there is one); tests/test_architecture.py fails on them.

Layers, lowest first: each may import only the ones below it.

    ml  <  webapp.core  <  photos  <  faces  <  people  <  search  <  training  <  top

The top holds workers/ (the worker process) and the project-level modules of webapp
(its __init__, settings, urls, wsgi, embedded, localstack): they wire the apps together
and may import anything, but nothing below may import them, and they may not import
each other both ways (that is a circle like any other). Every import counts, also one
inside a function: a lazy import is still a dependency, only hidden."""
from __future__ import annotations

import argparse
import ast
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("ml", "webapp", "workers")
APPS = ("photos", "faces", "people", "search", "training")
LAYERS = ("ml", "webapp.core", *APPS)
TOP = ("workers", "webapp (project)")


def rank(node: str) -> int:
    return LAYERS.index(node) if node in LAYERS else len(LAYERS)


def node_of(module: str) -> str | None:
    """The layer node a module belongs to; None for modules outside the project."""
    parts = module.split(".")
    if parts[0] in ("ml", "workers"):
        return parts[0]
    if parts[0] != "webapp":
        return None
    if len(parts) > 1 and parts[1] == "core":
        return "webapp.core"
    if len(parts) > 1 and parts[1] in APPS:
        return parts[1]
    return "webapp (project)"


def module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


@dataclass(frozen=True)
class Import:
    source: str  # importing module
    target: str  # imported project module
    path: str
    line: int
    lazy: bool  # inside a function


@dataclass
class Graph:
    files: int = 0
    imports: list[Import] = field(default_factory=list)

    def edges(self) -> dict[tuple[str, str], list[Import]]:
        found: dict[tuple[str, str], list[Import]] = defaultdict(list)
        for imp in self.imports:
            a, b = node_of(imp.source), node_of(imp.target)
            if a and b and a != b:
                found[(a, b)].append(imp)
        return dict(sorted(found.items()))

    def upward(self) -> dict[tuple[str, str], list[Import]]:
        return {(a, b): imps for (a, b), imps in self.edges().items() if rank(b) > rank(a)}

    def circles(self) -> list[list[str]]:
        """Every elementary circle of the package graph, each from its first node in
        sorted order (a 9-node graph: a plain search is enough)."""
        succ: dict[str, set[str]] = defaultdict(set)
        for a, b in self.edges():
            succ[a].add(b)
        found = []

        def walk(start: str, node: str, path: list[str]) -> None:
            for nxt in sorted(succ[node]):
                if nxt == start:
                    found.append(path + [start])
                elif nxt > start and nxt not in path:
                    walk(start, nxt, path + [nxt])

        for start in sorted(succ):
            walk(start, start, [start])
        return found


def _resolve(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def read_graph(root: Path) -> Graph:
    graph = Graph()
    files = sorted(p for package in PACKAGES for p in (root / package).rglob("*.py") if (root / package).is_dir())
    modules = {module_name(root, p) for p in files}
    for path in files:
        graph.files += 1
        module = module_name(root, path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))]
        lazy_lines = {id(n) for f in functions for n in ast.walk(f)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _resolve(node, module, path.name == "__init__.py")
                # `from pkg import sub` imports the module pkg.sub when there is one.
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
            else:
                continue
            for target in dict.fromkeys(targets):
                if node_of(target) is not None:
                    graph.imports.append(Import(module, target, str(path.relative_to(root)), node.lineno,
                                                id(node) in lazy_lines))
    return graph


def problems(graph: Graph) -> list[str]:
    lines = []
    for (a, b), imps in graph.upward().items():
        lines.append(f"upward: {a} -> {b}")
        lines += [f"    {i.path}:{i.line} imports {i.target}{' (inside a function)' if i.lazy else ''}" for i in imps]
    edges = graph.edges()
    for circle in graph.circles():
        lines.append("circle: " + " -> ".join(circle))
        for a, b in zip(circle, circle[1:]):
            first = edges[(a, b)][0]
            more = len(edges[(a, b)]) - 1
            lines.append(f"    {a} -> {b}: {first.path}:{first.line} imports {first.target}"
                         + (f" (and {more} more)" if more else ""))
    return lines


def summary(graph: Graph) -> str:
    edges, upward, circles = graph.edges(), graph.upward(), graph.circles()
    head = [
        f"{graph.files} files, {len(graph.imports)} imports between project modules, {len(edges)} package edges",
        f"{len(upward)} upward arrows, {len(circles)} circles",
        "package edges: " + ", ".join(f"{a} -> {b}" for a, b in edges),
    ]
    return "\n".join(head + problems(graph))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent,
                        help="repository root holding ml/, webapp/ and workers/ (default: this checkout)")
    args = parser.parse_args(argv)
    graph = read_graph(args.root.resolve())
    print(summary(graph))
    return 1 if problems(graph) else 0


if __name__ == "__main__":
    sys.exit(main())
