"""The formula dependency graph of the concept inventory: which concepts a formula concept
uses, which concepts use a given one (so a redefinition recomputes them), and the check that
a formula names only known concepts.

Example::

    rows = concept_rows(conn)
    with_dependents(rows, {"noun"})     # {"noun", "common_singular", ...}
"""

from __future__ import annotations

import atlas.corpus.formula as fm
from atlas.corpus.stored import ConceptRow
from atlas.errors import ConceptError, did_you_mean


def dependencies(row: ConceptRow) -> set[str]:
    """The concepts a formula concept names directly (none for other kinds or a broken formula)."""
    if row.kind != "formula" or not row.definition:
        return set()
    try:
        return fm.names(fm.parse_formula(row.definition))
    except ConceptError:
        return set()


def with_dependents(concepts: dict[str, ConceptRow], names: set[str]) -> set[str]:
    """``names`` plus every formula concept that uses one of them, transitively."""
    out = set(names)
    changed = True
    while changed:
        changed = False
        for row in concepts.values():
            if row.name not in out and dependencies(row) & out:
                out.add(row.name)
                changed = True
    return out


def transitive_names(concepts: dict[str, ConceptRow], name: str) -> set[str]:
    """Every concept the formula of ``name`` uses, directly or through other formulas."""
    out: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        row = concepts.get(current)
        if row is None:
            continue
        for dep in dependencies(row):
            if dep not in out:
                out.add(dep)
                todo.append(dep)
    return out


def check_names(tree: fm.Node, concepts: dict[str, ConceptRow]) -> None:
    """:class:`ConceptError` (with a "did you mean") for the first unknown concept a formula names."""
    for node in fm.name_nodes(tree):
        if node.name not in concepts:
            raise ConceptError(f"unknown concept {node.name!r}", hint=did_you_mean(node.name, concepts))


__all__ = ["check_names", "dependencies", "transitive_names", "with_dependents"]
