"""Print the shape of ``src/freeaction``: largest files, longest functions, import circles.

    python scripts/code_shape.py            # the figures the restructure is judged by
    python scripts/code_shape.py --top 15   # longer lists

Import edges are taken from every ``import``/``from`` statement of freeaction's own modules,
including those inside functions (which are counted separately: they hide edges). A *package*
circle is a cycle in the graph whose nodes are the first-level packages/modules under
``freeaction`` (``eval``, ``report``, ``pipeline``, ...), found as strongly connected components.
"""

from __future__ import annotations

import argparse
import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "src" / "freeaction"


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imported_modules(tree: ast.AST, current: str, is_package: bool) -> list[tuple[str, bool]]:
    """(imported freeaction module, inside a function?) for every import in ``tree``."""
    out: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import):
                out.extend((a.name, inside) for a in child.names if a.name.startswith("freeaction"))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = current.split(".") if is_package else current.split(".")[:-1]
                    base = base[: len(base) - (child.level - 1)]
                    mod = ".".join(base + ([child.module] if child.module else []))
                else:
                    mod = child.module or ""
                if mod.startswith("freeaction"):
                    out.append((mod, inside))
            visit(child, inside)

    visit(tree, False)
    return out


def top_level(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "freeaction"


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm; components with more than one node (or a self-loop)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def connect(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=5, help="how many files and functions to list")
    args = parser.parse_args()

    files = sorted(p for p in ROOT.rglob("*.py"))
    sizes: list[tuple[int, str]] = []
    functions: list[tuple[int, str]] = []
    classes: list[tuple[int, str]] = []
    module_graph: dict[str, set[str]] = defaultdict(set)
    package_graph: dict[str, set[str]] = defaultdict(set)
    local_imports = 0
    for path in files:
        text = path.read_text()
        rel = str(path.relative_to(ROOT.parent))
        sizes.append((len(text.splitlines()), rel))
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions.append((node.end_lineno - node.lineno + 1, f"{rel}:{node.lineno} {node.name}"))
            elif isinstance(node, ast.ClassDef):
                classes.append((node.end_lineno - node.lineno + 1, f"{rel}:{node.lineno} {node.name}"))
        name = module_name(path)
        for mod, inside in imported_modules(tree, name, path.name == "__init__.py"):
            local_imports += inside
            module_graph[name].add(mod)
            a, b = top_level(name), top_level(mod)
            if a != b:
                package_graph[a].add(b)

    total = sum(n for n, _ in sizes)
    print(f"{len(files)} files, {total} lines in src/freeaction")
    print("largest files:")
    for n, rel in sorted(sizes, reverse=True)[: args.top]:
        print(f"  {n:5d}  {rel}")
    print("longest functions:")
    for n, where in sorted(functions, reverse=True)[: args.top]:
        print(f"  {n:5d}  {where}")
    print("longest classes:")
    for n, where in sorted(classes, reverse=True)[: args.top]:
        print(f"  {n:5d}  {where}")
    print(f"function-local imports of freeaction modules: {local_imports}")
    circles = strongly_connected(package_graph)
    print(f"import circles between first-level packages: {len(circles)}")
    for comp in circles:
        print("  " + " <-> ".join(comp))
    module_circles = strongly_connected(module_graph)
    print(f"import circles between modules: {len(module_circles)}"
          + (f" (largest: {max(len(c) for c in module_circles)} modules)" if module_circles else ""))


if __name__ == "__main__":
    main()
