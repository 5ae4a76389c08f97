"""Syntax tree → an English sentence saying what a statement asks (``describe``).

The canonical text (``format``) lives in :mod:`atlas.query.canonical`; this module reads it
and the methods registry (how English joins a method to its concept: ``iou with noun``).

>>> from atlas.query.parser import parse
>>> describe_statement(parse("neurons in bert layer>8 where iou(noun)>0.3"))
'mlp neurons of bert in layers above 8 whose iou with noun is above 0.3 (first 100, by model, layer and unit)'
"""

from __future__ import annotations

import atlas.query.ast as ast
from atlas.methods import registry
from atlas.naming import unit_site
from atlas.query.canonical import concept_text, formula_text, grouped, number_text, operand_text, param_text, quote

_OPS_EN = {">": "above", ">=": "at least", "<": "below", "<=": "at most", "=": "equal to", "!=": "not equal to"}


def _preposition(method: str) -> str:
    """``with`` or ``for``, as the method declares (``for`` for a name no method has)."""
    spec = next((s for s in registry.all() if s.name == method), None)
    return spec.preposition if spec is not None else "for"


def _call_en(node: ast.Call) -> str:
    """``iou with noun``, ``iou (alpha=0.01) with noun``, ``ap for every scored concept``."""
    params = f" ({', '.join(param_text(p) for p in node.params)})" if node.params else ""
    if node.method in ast.SIMILARITY_METHODS:
        arg = "every correlated model" if isinstance(node.arg, ast.ConceptAll) else formula_text(node.arg)
        return f"{node.method} with {arg}"
    arg = "every scored concept" if isinstance(node.arg, ast.ConceptAll) else formula_text(node.arg)
    return f"{node.method}{params} {_preposition(node.method)} {arg}"


def _operand_en(node: ast.Operand) -> str:
    if isinstance(node, ast.Call):
        return _call_en(node)
    if isinstance(node, ast.Field) and node.name.startswith("explanation"):
        what = node.name.partition(" ")[2]
        return f"best explanation's {what}" if what else "best explanation"
    return operand_text(node)


def _condition_en(node: ast.Condition) -> str:
    if isinstance(node, ast.Compare):
        if node.op == "mentions" and isinstance(node.right, ast.String):
            return f"{_operand_en(node.left)} mentions the concept {concept_text(node.right.value)}"
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
        return f"it is not true that {grouped(node.operand, _condition_en, (ast.And, ast.Or))}"
    joiner = " and " if isinstance(node, ast.And) else " or "
    return joiner.join(grouped(item, _condition_en, (ast.And, ast.Or)) for item in node.items)


def _and_list(items: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _probe_condition_en(node: ast.Condition) -> str:
    """A probe condition in English: ``the task is upos and the value is above 0.5``."""
    if isinstance(node, ast.Compare) and isinstance(node.left, ast.Field):
        right = node.right.name if isinstance(node.right, ast.Field) else operand_text(node.right)
        op = {"=": "is", "!=": "is not"}.get(node.op, f"is {_OPS_EN[node.op]}")
        return f"the {node.left.name} {op} {right}"
    if isinstance(node, (ast.Compare, ast.Between, ast.IsMissing, ast.Has)):
        return _condition_en(node)
    if isinstance(node, ast.Not):
        return f"it is not true that {grouped(node.operand, _probe_condition_en, (ast.And, ast.Or))}"
    joiner = " and " if isinstance(node, ast.And) else " or "
    return joiner.join(grouped(item, _probe_condition_en, (ast.And, ast.Or)) for item in node.items)


def _site_of(filters: tuple[ast.Filter, ...]) -> str:
    return next((f.site for f in filters if isinstance(f, ast.SiteIs)), "mlp")


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
    site = unit_site(units)
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
            f"for {models}, per model and {node.by or 'depth'}: how many {unit_site('neurons')} neurons"
            f"{_filters_en(node.filters)} there are, and how many and what fraction have {cond}"
        )
    if isinstance(node, ast.AggregateQuery):
        models = ", ".join(m.name for m in node.models)
        what = {"max": "the highest", "min": "the lowest", "mean": "the mean", "median": "the median"}[node.func]
        text = f"{what} {_call_en(node.score)} over the {_units_en('neurons', node.filters)} of {models}{_filters_en(node.filters)}"
        if node.where is not None:
            text += f" whose {_condition_en(node.where)}"
        return text + f", per {node.by or 'model'}"
    if isinstance(node, ast.ProbesQuery):
        models = ", ".join(m.name for m in node.models)
        text = f"the stored probe results of {models}{_filters_en(node.filters)}"
        if node.where is not None:
            text += f" where {_probe_condition_en(node.where)}"
        return text + (", a column per metric, per layer and task" if node.by == "layer" else ", a row per layer, task and metric")
    if isinstance(node, ast.AgreementQuery):
        models = ", ".join(m.name for m in node.models)
        methods = _and_list([m.method + (f" ({', '.join(param_text(p) for p in m.params)})" if m.params else "")
                             for m in node.methods]) if node.methods else "every pair of methods"
        text = (f"how far {methods} agree on {node.concept.name} in {models}: per pair, the overlap (Jaccard) of their "
                "top-n units and the rank correlation (Spearman) of their scores")
        if node.where is not None:
            text += f", where {_probe_condition_en(node.where)}"
        return text
    if isinstance(node, ast.TopTokens):
        return f"the {node.limit or 20} words on which {node.neuron} fires most, with their sentences"
    if isinstance(node, ast.NeuronView):
        return (f"what the atlas holds on {node.neuron}: its statistics, its best concepts by each method, "
                "its top words in context, a histogram of its activations, its explanations and notes")
    if isinstance(node, ast.ExplainView):
        return (f"the stored compositional explanations of {node.neuron}: for each search, the best formula "
                "over concepts of at most 1, 2, ... concepts, with its IoU and score")
    if isinstance(node, ast.NotesQuery):
        return f"the lab's notes and labels on {node.neuron}, oldest first"
    if isinstance(node, ast.WordsQuery):
        by = node.by or "mean"
        order = "most frequent first" if by == "count" else f"highest {by} activation first"
        least = f", seen at least {node.min_count} times" if node.min_count is not None else ""
        return (f"the {node.limit or 20} words (lower-cased) of the corpus on which {node.neuron} fires, "
                f"with their count, mean and max activation{least} ({order})")
    if isinstance(node, ast.SimilarQuery):
        where = f" in {', '.join(m.name for m in node.models)}" if node.models else " in every model correlated with it"
        return (f"the {node.limit or 10} neurons{where} whose activations correlate most with {node.neuron}'s "
                "over the words of their shared corpus (by |Pearson r|)")
    if isinstance(node, ast.LayersQuery):
        return (f"the {node.by or 'cka'} similarity of every layer of {node.model.name} with every layer of "
                f"{node.other.name}{_filters_en(node.filters) or ''} ({_site_of(node.filters)} site), a row per layer of "
                f"{node.model.name}")
    if node.what == "concepts" and node.like is not None:
        return f"the concepts whose name is like {quote(node.like)}"
    return f"the {node.what} in the atlas"
