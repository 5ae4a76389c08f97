"""Why a ``neurons ... where`` query found nothing: each condition of its ``and`` on its own.

An empty answer is the least helpful one a tool can give. When ``neurons in M ... where A and
B`` matches no neuron, :func:`why_empty` asks the atlas, for each condition alone and in the
same scope (models, layers, site), how many neurons meet it, and for a comparison of a stored
score with a number the score's largest (``>``, ``>=``) or smallest (``<``, ``<=``) value in that
scope: the user sees at once which threshold no neuron reaches, and what to try instead.

    $ atlas query "neurons in minilm where ap(noun) > 0.8 and ablation(noun) > 0.01"
    (no rows)
    why: alone, in this scope, each condition holds for
      ap(noun) > 0.8: 3 neurons
      ablation(noun) > 0.01: none (the largest ablation(noun) here is 0.0008466)

(MiniLM on the demo corpus, every MLP unit ablated alone: one unit moves the noun probe on the
output by less than 0.001.) A condition the ``count`` statement cannot take alone (a composite
concept) says so instead of a number.

The follow-up queries are statements of the language itself (``count ... where C``,
``max m(c) in ...``), formatted and run as any query: what they say is what the user would get
by asking.
"""

from __future__ import annotations

from typing import Any

from atlas.errors import AtlasError
from atlas.query import ast
from atlas.query.api import run_query
from atlas.query.canonical import call_text, condition_text, format_statement
from atlas.query.parser import parse

#: The extreme that tells how far a comparison is from holding: the largest value for ``>``.
_EXTREME = {">": "max", ">=": "max", "<": "min", "<=": "min"}


def why_empty(db: Any, text: str, *, timeout_s: float = 30) -> list[str]:
    """Lines that explain an empty answer of ``text`` (a ``neurons``/``dims`` query with a
    ``where``); ``[]`` for other statements. A condition whose follow-up query fails (a
    composite concept, which ``count`` does not take) says so on its line: the explanation is a
    courtesy, never an error."""
    statement = parse(text)
    if not isinstance(statement, ast.NeuronQuery) or statement.where is None:
        return []
    parts = statement.where.items if isinstance(statement.where, ast.And) else (statement.where,)
    lines = []
    for cond in parts:
        try:
            said = _alone(db, statement, cond, timeout_s)
        except AtlasError as exc:  # e.g. a composite concept, which only neurons queries evaluate
            said = f"not counted alone ({str(exc).splitlines()[0]})"
        lines.append(f"  {condition_text(cond)}: {said}")
    return ["why: alone, in this scope, each condition holds for", *lines]


def _alone(db: Any, statement: ast.NeuronQuery, cond: ast.Condition, timeout_s: float) -> str:
    """``41 neurons`` or ``none (the largest m(c) here is V)``: ``cond`` alone in the query's scope."""
    count = ast.CountQuery(units=statement.units, models=statement.models, filters=statement.filters, where=cond)
    frame = run_query(db, format_statement(count), timeout_s=timeout_s)
    n = int(frame["n_matching"].sum()) if "n_matching" in frame else 0
    if n:
        return f"{n:,} {statement.units if n != 1 else statement.units[:-1]}"
    extreme = _extreme(db, statement, cond, timeout_s)
    return f"none{f' ({extreme})' if extreme else ''}"


def _extreme(db: Any, statement: ast.NeuronQuery, cond: ast.Condition, timeout_s: float) -> str:
    """``the largest m(c) here is V`` for ``m(c) > number`` (the smallest for ``<``), or ``''``."""
    if not (isinstance(cond, ast.Compare) and cond.op in _EXTREME and isinstance(cond.left, ast.Call)
            and isinstance(cond.right, ast.Number) and not cond.left.composite and not cond.left.every):
        return ""
    func = _EXTREME[cond.op]
    query = ast.AggregateQuery(func=func, score=cond.left, models=statement.models, filters=statement.filters)
    frame = run_query(db, format_statement(query), timeout_s=timeout_s)
    column = f"{func} {call_text(cond.left)}"
    values = frame[column].dropna() if column in frame else []
    if len(values) == 0:
        return f"no {call_text(cond.left)} is stored here"
    value = float(values.max() if func == "max" else values.min())  # four significant digits, as tables print
    return f"the {'largest' if func == 'max' else 'smallest'} {call_text(cond.left)} here is {value:.4g}"
