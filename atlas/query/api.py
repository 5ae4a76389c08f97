"""The query language's library functions (the contract other areas call).

>>> import atlas
>>> db = atlas.connect("sqlite:///atlas.db")                      # doctest: +SKIP
>>> run_query(db, "neurons in minilm layer>3 where iou(noun)>0.3")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.dialects import postgresql, sqlite

import atlas.query.ast as ast
from atlas.errors import QueryError
from atlas.query.binder import Bound, bind
from atlas.query.canonical import format_statement
from atlas.query.compiler import Plan, as_stored_array, compile_bound
from atlas.query.describe import describe_statement
from atlas.query.execute import fetch
from atlas.query.parser import parse


def _engine(db: Any) -> Any:
    return getattr(db, "engine", db)


def plan_query(db: Any, text: str, *, limit: int | None = None) -> Plan:
    """Parse, bind and compile ``text`` for ``db``'s dialect."""
    statement = parse(text)
    engine = _engine(db)
    try:
        bound = bind(engine, statement, text=text, limit=limit)
    except QueryError as exc:
        for item in getattr(exc, "errors", [exc]):
            item.query = text
        raise
    return compile_bound(bound, dialect=engine.dialect.name)


def _columns(bound: Bound, frame: pd.DataFrame) -> pd.DataFrame:
    order = ["neuron", "model", "site", "layer", "unit"] + [r.label for r in bound.refs] + bound.stats
    if bound.uses_depth:
        order.append("depth")
    return frame[[c for c in order if c in frame.columns]]


def _stored_values(bound: Bound, frame: pd.DataFrame) -> pd.DataFrame:
    """Stored scores are float32: show each as the shortest decimal of its float32."""
    for ref in bound.refs:
        if ref.formula is None and ref.label in frame.columns:
            frame[ref.label] = as_stored_array(frame[ref.label].to_numpy(dtype=np.float64))
    return frame


def score_sources(bound: Bound) -> list[dict[str, Any]]:
    """Which score set each stored ``method(concept)`` of a query read, per model: the run,
    the method row and its parameters (``--explain`` prints them; ``run_query`` puts them in
    ``frame.attrs["sources"]``)."""
    out = []
    for ref in bound.refs:
        if ref.concept_id is None:
            continue
        for m in bound.models:
            src = m.sets.get((ref.method, ref.concept_id))
            out.append({
                "score": ref.label, "model": m.name,
                "run": None if src is None else src.run_id,
                "method_id": None if src is None else src.method_id,
                "params": None if src is None else src.params,
                "set": None if src is None else src.set_id,
            })
    return out


def sources_text(sources: list[dict[str, Any]]) -> str:
    """One line per score read: ``iou(noun) of bert: run 2, method row 3 {"alpha":0.005}``."""
    lines = []
    for s in sources:
        where = "no complete score set" if s["run"] is None else f"run {s['run']}, method row {s['method_id']} {s['params']}"
        lines.append(f"{s['score']} of {s['model']}: {where}")
    return "\n".join(lines)


def run_query(db: Any, text: str, *, limit: int | None = None, timeout_s: float = 30) -> pd.DataFrame:
    """Run a query and return its answer as a DataFrame.

    Args:
        db: an :class:`atlas.Atlas` (or an engine, for queries without composite concepts).
        text: the query.
        limit: rows to return, overriding the query's ``limit`` (at most 10,000).
        timeout_s: the statement deadline in seconds.

    Returns:
        A DataFrame; ``frame.attrs["sources"]`` says which score set (run, method row,
        parameters) each stored score came from, per model. For ``neurons``: columns ``neuron`` (canonical id), ``model``, ``site``, ``layer``,
        ``unit`` and one column per score reference (``selectivity(negation)``), then any
        statistics used. ``count``: model [, layer | depth], n_neurons. ``compare``: model,
        depth (or layer), n_neurons, n_matching, fraction. ``top tokens``: rank, token,
        value, sentence, position, run, context. ``show``: the catalog rows.

    Raises:
        QueryError: the query cannot be parsed, bound or run (the CLI renders it with a caret).

    Example:
        >>> run_query(db, "neurons in bert layer>8 where selectivity(negation)>0.5 and iou(noun)>0.3")  # doctest: +SKIP
    """
    plan = plan_query(db, text, limit=limit)
    try:
        frame = fetch(_engine(db), plan, timeout_s=timeout_s)
    except QueryError as exc:
        exc.query = text
        raise
    if plan.kind == "neurons":
        assert plan.bound is not None
        frame = _stored_values(plan.bound, frame)
        if plan.composite_refs:
            from atlas.query.composite import apply_composite

            frame = apply_composite(db, plan, frame)
        frame = _columns(plan.bound, frame)
    frame = frame.reset_index(drop=True)
    if plan.bound is not None:
        frame.attrs["sources"] = score_sources(plan.bound)
    return frame


def compile_query(db: Any, text: str, *, inline: bool = False) -> str:
    """The SQL a query compiles to for ``db``'s dialect.

    Args:
        db: an :class:`atlas.Atlas` or an engine.
        text: the query.
        inline: write values into the SQL (for reading only; execution always binds them).
            Without it, the bound parameters follow the SQL as a ``-- parameters:`` comment.

    Example:
        >>> print(compile_query(db, "neurons in bert where iou(noun) > 0.3"))  # doctest: +SKIP
    """
    plan = plan_query(db, text)
    dialect = postgresql.dialect() if _engine(db).dialect.name == "postgresql" else sqlite.dialect()
    if inline:
        sql = str(plan.select.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    else:
        compiled = plan.select.compile(dialect=dialect)
        sql = str(compiled) + f"\n-- parameters: {dict(compiled.params)!r}"
    if plan.residual is not None or plan.composite_refs:
        from atlas.query.canonical import condition_text

        rest = condition_text(plan.residual) if plan.residual is not None else "(none)"
        sql += f"\n-- then in pandas for the rows above: composite scores, where {rest}"
    return sql


def explain_query(db: Any, text: str) -> str:
    """The database's plan for a query: ``EXPLAIN QUERY PLAN`` (SQLite) or ``EXPLAIN`` (PostgreSQL)."""
    plan = plan_query(db, text)
    engine = _engine(db)
    compiled = plan.select.compile(dialect=engine.dialect)
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    with engine.connect() as conn:
        raw = conn.exec_driver_sql(prefix + str(compiled), compiled.params if engine.dialect.name == "postgresql" else tuple(compiled.params[k] for k in compiled.positiontup or []))
        rows = raw.all()
    lines = [str(r[-1]) for r in rows] if engine.dialect.name == "sqlite" else [str(r[0]) for r in rows]
    if plan.bound is not None and score_sources(plan.bound):
        lines += ["", "-- score sets read:", *("-- " + line for line in sources_text(score_sources(plan.bound)).splitlines())]
    return "\n".join(lines)


def describe_query(text: str) -> str:
    """The query in one English sentence.

    >>> describe_query("count neurons in bert where iou(noun) > 0.3 by layer")
    'the number of mlp neurons of bert whose iou with noun is above 0.3, per layer'
    """
    return describe_statement(parse(text))


def format_query(text: str) -> str:
    """The query's canonical text; ``format_query(format_query(q)) == format_query(q)``.

    >>> format_query("NEURONS IN bert layer>8 WHERE iou(noun)>.3")
    'neurons in bert layer > 8 where iou(noun) > 0.3'
    """
    return format_statement(parse(text))


def parse_query(text: str) -> ast.Statement:
    """The syntax tree of a query."""
    return parse(text)
