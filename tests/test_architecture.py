"""The house's one rule: imports run one way, through the layers, and no module imports itself back.

The graph is built from the source: every ``import`` statement in ``atlas/``, at top level and
inside functions (``TYPE_CHECKING`` blocks too), so a cycle cannot hide behind a late import.

Layers, first to last (a module may import from its own layer or an earlier one)::

    errors, naming, _version -> store -> corpus -> extract -> methods
        -> explain, similarity, causal -> query -> report -> api, cli, web, demo, atlas/__init__
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "atlas"

LAYERS: dict[str, float] = {
    "atlas._version": 0,
    "atlas.errors": 0,
    "atlas.naming": 0,
    "atlas.store": 1,
    "atlas.corpus": 2,
    "atlas.extract": 3,
    "atlas.methods": 4,
    "atlas.explain": 5,
    "atlas.similarity": 5,
    "atlas.causal": 5,
    "atlas.query": 6.9,  # the package (its __init__ re-exports the facade); unlisted modules sort here
    # the query pipeline's stages run one way too: text -> AST -> bound -> SQL -> rows; the
    # formatter (describe) and the facade (api) read what the stages make
    "atlas.query.errors": 6.0,
    "atlas.query.ast": 6.1,
    "atlas.query.keywords": 6.1,
    "atlas.query.canonical": 6.15,  # the canonical text of trees (format; score and formula labels)
    "atlas.query.parser": 6.2,
    "atlas.query.bound": 6.25,  # the bound tree's types: the binder makes them, the compiler reads them
    "atlas.query.similar": 6.27,  # cross-model similarity: correlation ids (binder) and their SQL (compiler)
    "atlas.query.prefilter": 6.28,
    "atlas.query.binder": 6.3,
    "atlas.query.compiler": 6.4,
    "atlas.query.composite": 6.5,
    "atlas.query.views": 6.5,  # neuron and words views: score sets and activation columns in numpy
    "atlas.query.execute": 6.5,
    "atlas.query.describe": 6.6,
    "atlas.query.api": 6.7,
    "atlas.query.why": 6.8,  # why an answer is empty: follow-up queries through the api
    "atlas.report": 7,
    "atlas.api": 8,
    "atlas.cli": 8,
    "atlas.web": 8,
    "atlas.demo": 8,
    "atlas.kb": 8,
    "atlas.__main__": 9,
    "atlas": 9,  # atlas/__init__.py: the public surface
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _resolve(name: str, known: set[str]) -> str | None:
    """The atlas module an imported name lives in (``atlas.store.tables.Run`` -> ``atlas.store.tables``)."""
    while name:
        if name in known:
            return name
        name = name.rpartition(".")[0]
    return None


def import_edges() -> dict[str, set[str]]:
    """``{module: {atlas modules it imports}}``, from every import statement in the source."""
    mods = modules()
    known = set(mods)
    edges: dict[str, set[str]] = defaultdict(set)
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[: len(anchor) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                # ``from pkg import mod`` depends on the module; ``from mod import name`` on mod
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
            for t in targets:
                if not t.startswith("atlas"):
                    continue
                hit = _resolve(t, known)
                if hit and hit != mod:
                    edges[mod].add(hit)
    return edges


def layer_of(mod: str) -> float:
    hit = _resolve(mod, set(LAYERS))
    assert hit is not None, f"module {mod} has no layer: add its package to LAYERS in {__file__}"
    return LAYERS[hit]


def backward_edges(edges: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted((a, b) for a, bs in edges.items() for b in bs if layer_of(b) > layer_of(a))


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(modules()):
        if v not in index:
            visit(v)
    return out


def test_every_module_has_a_layer():
    for mod in modules():
        layer_of(mod)


def test_no_import_cycles():
    found = cycles(import_edges())
    assert not found, "import cycles:\n" + "\n".join(" <-> ".join(c) for c in found)


def test_imports_run_one_way():
    found = backward_edges(import_edges())
    assert not found, "imports from a later layer:\n" + "\n".join(f"{a} -> {b}" for a, b in found)


#: The longest a function in atlas/ may be, from its ``def`` line to its last line.
MAX_FUNCTION_LINES = 100


def long_functions() -> list[tuple[int, str]]:
    out = []
    for mod, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                n = node.end_lineno - node.lineno + 1  # type: ignore[operator]
                if n > MAX_FUNCTION_LINES:
                    out.append((n, f"{mod}.{node.name}"))
    return sorted(out, reverse=True)


def test_functions_stay_short():
    found = long_functions()
    assert not found, "functions over 100 lines:\n" + "\n".join(f"{name}: {n} lines" for n, name in found)


if __name__ == "__main__":  # a report for notes: python tests/test_architecture.py
    e = import_edges()
    print(f"modules {len(modules())}, edges {sum(map(len, e.values()))}, "
          f"backward {len(backward_edges(e))}, cycles {len(cycles(e))}")
    for a, b in backward_edges(e):
        print(f"  backward: {a} -> {b}")
    for c in cycles(e):
        print("  cycle:", " <-> ".join(c))
