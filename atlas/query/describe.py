"""Syntax tree → text: the canonical form (``format``) and an English sentence (``describe``).

``format`` prints a tree so that it parses back to an equal tree; printing the parse of a
formatted query gives the same text again (idempotent).

>>> from atlas.query.parser import parse
>>> format_statement(parse("NEURONS IN bert layer>8 WHERE selectivity(negation)>0.5 and iou(noun)>.3"))
'neurons in bert layer > 8 where selectivity(negation) > 0.5 and iou(noun) > 0.3'
>>> describe_statement(parse("neurons in bert layer>8 where iou(noun)>0.3"))
'mlp neurons of bert in layers above 8 whose iou with noun is above 0.3 (first 100, by model, layer and unit)'
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from atlas.query import ast

#: Words the grammar reserves; names spelled like these are printed in double quotes.
KEYWORDS = frozenset(
    "neurons dims in count compare top tokens of show like models concepts methods runs layer depth site "
    "where order by limit asc desc or and not between is missing has".split()
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")
_CONCEPT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*:[A-Za-z0-9_=.,\-']+\Z")

_NEURON_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*/[a-z]+\.[0-9]+/[0-9]+\Z")

_OPS_EN = {">": "above", ">=": "at least", "<": "below", "<=": "at most", "=": "equal to", "!=": "not equal to"}


def quote(text: str) -> str:
    """A double-quoted string literal of the language.

    >>> quote('say "hi"')
    '"say \\\\"hi\\\\""'
    """
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def name_text(name: str) -> str:
    """A name as the language writes it: bare when it lexes as a name, else quoted."""
    if _NAME.match(name) and name.lower() not in KEYWORDS:
        return name
    return quote(name)


def concept_text(name: str) -> str:
    """A concept name as written inside a call (``upos:NOUN`` stays bare)."""
    if _CONCEPT.match(name):
        return name
    return name_text(name)


def number_text(value: float) -> str:
    """``0.5``, ``8``, ``1e-05``: the shortest text that reads back as the same float."""
    text = repr(float(value))
    if text.endswith(".0"):
        text = text[:-2]
    return text


def _grouped(node: object, render: Callable[[Any], str], groups: tuple[type, ...]) -> str:
    """``render(node)``, in parentheses when ``node`` is an and/or (one of ``groups``)."""
    body = render(node)
    return f"({body})" if isinstance(node, groups) else body


def formula_text(expr: ast.ConceptExpr) -> str:
    """A concept formula in canonical text (``noun and not plural``)."""
    if isinstance(expr, ast.ConceptName):
        return concept_text(expr.name)
    groups = (ast.ConceptAnd, ast.ConceptOr)
    if isinstance(expr, ast.ConceptNot):
        return f"not {_grouped(expr.operand, formula_text, groups)}"
    joiner = " and " if isinstance(expr, ast.ConceptAnd) else " or "
    return joiner.join(_grouped(item, formula_text, groups) for item in expr.items)


def operand_text(node: ast.Operand) -> str:
    if isinstance(node, ast.Call):
        return f"{node.method}({formula_text(node.arg)})"
    if isinstance(node, ast.Field):
        return node.name
    if isinstance(node, ast.Number):
        return number_text(node.value)
    return quote(node.value)


def condition_text(node: ast.Condition) -> str:
    """A condition in canonical text, with parentheses only where the tree needs them."""
    if isinstance(node, ast.Compare):
        return f"{operand_text(node.left)} {node.op} {operand_text(node.right)}"
    if isinstance(node, ast.Between):
        return f"{operand_text(node.operand)} between {operand_text(node.low)} and {operand_text(node.high)}"
    if isinstance(node, ast.IsMissing):
        return f"{operand_text(node.operand)} is {'not ' if node.negated else ''}missing"
    if isinstance(node, ast.Has):
        return f"has {operand_text(node.operand)}"
    if isinstance(node, ast.Not):
        return f"not {_grouped(node.operand, condition_text, (ast.And, ast.Or))}"
    joiner = " and " if isinstance(node, ast.And) else " or "
    return joiner.join(_grouped(item, condition_text, (ast.And, ast.Or)) for item in node.items)


def filter_text(node: ast.Filter) -> str:
    if isinstance(node, ast.LayerCmp):
        return f"layer {node.op} {node.value}"
    if isinstance(node, ast.LayerRange):
        return f"layer in {node.low}..{node.high}"
    if isinstance(node, ast.DepthCmp):
        return f"depth {node.op} {number_text(node.value)}"
    return f"site {node.op} {node.site}"


def _source_text(models: tuple[ast.ModelRef, ...], filters: tuple[ast.Filter, ...]) -> str:
    text = ", ".join(name_text(m.name) for m in models)
    for f in filters:
        text += " " + filter_text(f)
    return text


def format_statement(node: ast.Statement) -> str:
    """The canonical text of a statement (see the module docstring)."""
    if isinstance(node, ast.NeuronQuery):
        text = f"{node.units} in {_source_text(node.models, node.filters)}"
        if node.where is not None:
            text += f" where {condition_text(node.where)}"
        if node.order:
            items = [operand_text(o.expr) + (" desc" if o.descending else "") for o in node.order]
            text += " order by " + ", ".join(items)
        if node.limit is not None:
            text += f" limit {node.limit}"
        return text
    if isinstance(node, ast.CountQuery):
        text = f"count {node.units} in {_source_text(node.models, node.filters)}"
        if node.where is not None:
            text += f" where {condition_text(node.where)}"
        if node.by is not None:
            text += f" by {node.by}"
        return text
    if isinstance(node, ast.CompareQuery):
        text = f"compare {_source_text(node.models, node.filters)}"
        if node.where is not None:
            text += f" where {condition_text(node.where)}"
        if node.by is not None:
            text += f" by {node.by}"
        return text
    if isinstance(node, ast.TopTokens):
        nid = str(node.neuron)
        text = "top tokens of " + (nid if _NEURON_ID.match(nid) else quote(nid))
        if node.limit is not None:
            text += f" limit {node.limit}"
        return text
    text = f"show {node.what}"
    if node.like is not None:
        text += f" like {quote(node.like)}"
    return text


# -- English --------------------------------------------------------------------------------


def _operand_en(node: ast.Operand) -> str:
    if isinstance(node, ast.Call):
        prep = "with" if node.method in ("iou",) else "for"
        return f"{node.method} {prep} {formula_text(node.arg)}"
    return operand_text(node)


def _condition_en(node: ast.Condition) -> str:
    if isinstance(node, ast.Compare):
        return f"{_operand_en(node.left)} is {_OPS_EN[node.op]} {_operand_en(node.right)}"
    if isinstance(node, ast.Between):
        return (
            f"{_operand_en(node.operand)} is between {_operand_en(node.low)} and {_operand_en(node.high)}"
        )
    if isinstance(node, ast.IsMissing):
        return f"{_operand_en(node.operand)} is {'known' if node.negated else 'missing'}"
    if isinstance(node, ast.Has):
        return f"{_operand_en(node.operand)} is known"
    if isinstance(node, ast.Not):
        return f"it is not true that {_grouped(node.operand, _condition_en, (ast.And, ast.Or))}"
    joiner = " and " if isinstance(node, ast.And) else " or "
    return joiner.join(_grouped(item, _condition_en, (ast.And, ast.Or)) for item in node.items)


def _filters_en(filters: tuple[ast.Filter, ...]) -> str:
    parts = []
    for f in filters:
        if isinstance(f, ast.LayerCmp):
            if f.op == "=":
                parts.append(f"in layer {f.value}")
            else:
                parts.append(f"in layers {_OPS_EN[f.op]} {f.value}")
        elif isinstance(f, ast.LayerRange):
            parts.append(f"in layers {f.low} to {f.high}")
        elif isinstance(f, ast.DepthCmp):
            parts.append(f"at a relative depth {_OPS_EN[f.op]} {number_text(f.value)}")
    return (" " + " ".join(parts)) if parts else ""


def _units_en(units: str, filters: tuple[ast.Filter, ...]) -> str:
    site = "resid" if units == "dims" else "mlp"
    for f in filters:
        if isinstance(f, ast.SiteIs):
            site = f.site if f.op == "=" else f"non-{f.site}"
    return f"{site} {'dimensions' if units == 'dims' else 'neurons'}"


def describe_statement(node: ast.Statement, *, default_limit: int = 100) -> str:
    """One English sentence saying what a statement asks (Datasette's human description)."""
    if isinstance(node, ast.NeuronQuery):
        models = ", ".join(m.name for m in node.models)
        text = f"{_units_en(node.units, node.filters)} of {models}{_filters_en(node.filters)}"
        if node.where is not None:
            text += f" whose {_condition_en(node.where)}"
        limit = node.limit if node.limit is not None else default_limit
        if node.order:
            keys = ", then ".join(
                f"{_operand_en(o.expr)} ({'highest' if o.descending else 'lowest'} first)" for o in node.order
            )
            text += f" (first {limit}, by {keys})"
        else:
            text += f" (first {limit}, by model, layer and unit)"
        return text
    if isinstance(node, ast.CountQuery):
        models = ", ".join(m.name for m in node.models)
        text = f"the number of {_units_en(node.units, node.filters)} of {models}{_filters_en(node.filters)}"
        if node.where is not None:
            text += f" whose {_condition_en(node.where)}"
        return text + f", per {node.by or 'model'}"
    if isinstance(node, ast.CompareQuery):
        models = " and ".join(m.name for m in node.models)
        cond = _condition_en(node.where) if node.where is not None else "anything"
        return (
            f"for {models}, per model and {node.by or 'depth'}: how many mlp neurons"
            f"{_filters_en(node.filters)} there are, and how many and what fraction have {cond}"
        )
    if isinstance(node, ast.TopTokens):
        return f"the {node.limit or 20} words on which {node.neuron} fires most, with their sentences"
    if node.what == "concepts" and node.like is not None:
        return f"the concepts whose name is like {quote(node.like)}"
    return f"the {node.what} in the atlas"
