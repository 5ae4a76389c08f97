"""Syntax tree → canonical text: what ``format`` prints and what names scores and formulas.

The canonical form of a statement parses back to an equal tree, and printing the parse of a
formatted query gives the same text again (idempotent). The binder names score references
and composite formulas with these functions too, so this module comes before it (it reads the
syntax tree only).

>>> from atlas.query.parser import parse
>>> format_statement(parse("NEURONS IN bert layer>8 WHERE selectivity(negation)>0.5 and iou(noun)>.3"))
'neurons in bert layer > 8 where selectivity(negation) > 0.5 and iou(noun) > 0.3'
>>> name_text("where"), name_text("bert-base")
('"where"', 'bert-base')
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import atlas.query.ast as ast
from atlas.naming import is_reserved

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")
_CONCEPT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*:[A-Za-z0-9_=.,\-']+\Z")

_NEURON_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*/[a-z]+\.[0-9]+/[0-9]+\Z")



def quote(text: str) -> str:
    """A double-quoted string literal of the language.

    >>> quote('say "hi"')
    '"say \\\\"hi\\\\""'
    """
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def name_text(name: str) -> str:
    """A name as the language writes it: bare when it lexes as a name and is no keyword of the
    grammar (:func:`atlas.naming.is_reserved`), else quoted."""
    if _NAME.match(name) and not is_reserved(name):
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


def grouped(node: object, render: Callable[[Any], str], groups: tuple[type, ...]) -> str:
    """``render(node)``, in parentheses when ``node`` is an and/or (one of ``groups``)."""
    body = render(node)
    return f"({body})" if isinstance(node, groups) else body


def formula_text(expr: ast.ConceptExpr) -> str:
    """A concept formula in canonical text (``noun and not plural``)."""
    if isinstance(expr, ast.ConceptName):
        return concept_text(expr.name)
    groups = (ast.ConceptAnd, ast.ConceptOr)
    if isinstance(expr, ast.ConceptNot):
        return f"not {grouped(expr.operand, formula_text, groups)}"
    joiner = " and " if isinstance(expr, ast.ConceptAnd) else " or "
    return joiner.join(grouped(item, formula_text, groups) for item in expr.items)


def param_text(param: ast.Param) -> str:
    """``alpha=0.01``, ``fires``, ``rule="x y"``: one method parameter in canonical text."""
    if isinstance(param.value, float):
        value = number_text(param.value)
    else:
        value = name_text(param.value)
    return value if param.key is None else f"{name_text(param.key)}={value}"


def params_text(params: tuple[ast.Param, ...]) -> str:
    """``[alpha=0.01, fires]`` (empty without parameters)."""
    return f"[{', '.join(param_text(p) for p in params)}]" if params else ""


def call_text(node: ast.Call) -> str:
    """``iou(noun)``, ``iou[alpha=0.01](noun)``, ``ap(*)``: a call in canonical text."""
    arg = "*" if isinstance(node.arg, ast.ConceptAll) else formula_text(node.arg)
    return f"{node.method}{params_text(node.params)}({arg})"


def operand_text(node: ast.Operand) -> str:
    if isinstance(node, ast.Call):
        return call_text(node)
    if isinstance(node, ast.Field):
        return node.name
    if isinstance(node, ast.Number):
        return number_text(node.value)
    return quote(node.value)


def condition_text(node: ast.Condition) -> str:
    """A condition in canonical text, with parentheses only where the tree needs them."""
    if isinstance(node, ast.Compare):
        if node.op == "mentions" and isinstance(node.right, ast.String):
            return f"{operand_text(node.left)} mentions {concept_text(node.right.value)}"
        return f"{operand_text(node.left)} {node.op} {operand_text(node.right)}"
    if isinstance(node, ast.Between):
        return f"{operand_text(node.operand)} between {operand_text(node.low)} and {operand_text(node.high)}"
    if isinstance(node, ast.IsMissing):
        return f"{operand_text(node.operand)} is {'not ' if node.negated else ''}missing"
    if isinstance(node, ast.Has):
        return f"has {operand_text(node.operand)}"
    if isinstance(node, ast.Not):
        return f"not {grouped(node.operand, condition_text, (ast.And, ast.Or))}"
    joiner = " and " if isinstance(node, ast.And) else " or "
    return joiner.join(grouped(item, condition_text, (ast.And, ast.Or)) for item in node.items)


def filter_text(node: ast.Filter) -> str:
    if isinstance(node, ast.LayerCmp):
        return f"layer {node.op} {node.value}"
    if isinstance(node, ast.LayerRange):
        return f"layer in {node.low}..{node.high}"
    if isinstance(node, ast.DepthCmp):
        return f"depth {node.op} {number_text(node.value)}"
    return f"site {node.op} {node.site}"


def neuron_text(ref: ast.NeuronRef) -> str:
    """A neuron id as the language writes it: bare when it lexes as one, else quoted."""
    nid = str(ref)
    return nid if _NEURON_ID.match(nid) else quote(nid)


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
    if isinstance(node, (ast.AggregateQuery, ast.ProbesQuery)):
        head = f"{node.func} {call_text(node.score)}" if isinstance(node, ast.AggregateQuery) else "probes"
        text = f"{head} in {_source_text(node.models, node.filters)}"
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
    if isinstance(node, ast.AgreementQuery):
        methods = ", ".join(f"{m.method}{params_text(m.params)}" for m in node.methods) or "*"
        text = f"agreement of {methods} on {concept_text(node.concept.name)} in {_source_text(node.models, ())}"
        if node.where is not None:
            text += f" where {condition_text(node.where)}"
        return text
    if isinstance(node, ast.TopTokens):
        text = "top tokens of " + neuron_text(node.neuron)
        if node.limit is not None:
            text += f" limit {node.limit}"
        return text
    if isinstance(node, ast.NeuronView):
        return "neuron " + neuron_text(node.neuron)
    if isinstance(node, ast.ExplainView):
        return "explain " + neuron_text(node.neuron)
    if isinstance(node, ast.NotesQuery):
        return "notes of " + neuron_text(node.neuron) + (f" limit {node.limit}" if node.limit is not None else "")
    if isinstance(node, ast.WordsQuery):
        text = "words of " + neuron_text(node.neuron)
        if node.by is not None:
            text += f" by {node.by}"
        if node.min_count is not None:
            text += f" min {node.min_count}"
        if node.limit is not None:
            text += f" limit {node.limit}"
        return text
    if isinstance(node, ast.SimilarQuery):
        text = "similar to " + neuron_text(node.neuron)
        if node.models:
            text += " in " + ", ".join(name_text(m.name) for m in node.models)
        if node.limit is not None:
            text += f" limit {node.limit}"
        return text
    if isinstance(node, ast.LayersQuery):
        text = f"layers of {name_text(node.model.name)} vs {name_text(node.other.name)}"
        text += "".join(" " + filter_text(f) for f in node.filters)
        if node.by is not None:
            text += f" by {node.by}"
        return text
    text = f"show {node.what}"
    if node.like is not None:
        text += f" like {quote(node.like)}"
    return text
