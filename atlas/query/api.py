"""The query language's library functions (the contract other areas call).

>>> import atlas
>>> db = atlas.connect("sqlite:///atlas.db")                      # doctest: +SKIP
>>> run_query(db, "neurons in minilm layer>3 where iou(noun)>0.3")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError

import atlas.query.ast as ast
from atlas.errors import AtlasError, QueryError
from atlas.query.binder import Bound, bind
from atlas.query.bound import MAX_LIMIT
from atlas.query.canonical import format_statement
from atlas.query.compiler import Plan, as_stored_array, compile_bound
from atlas.query.describe import describe_statement
from atlas.query.execute import Clock, arm, deadline, fetch
from atlas.query.parser import parse
from atlas.store.failures import database_label, translate

#: The time limit of binding a query for ``compile_query`` / ``explain_query`` (seconds).
PLAN_TIMEOUT_S = 30.0


def _engine(db: Any) -> Any:
    return getattr(db, "engine", db)


@contextmanager
def _boundary(text: str, clock: Clock, engine: Any) -> Iterator[None]:
    """The query's error boundary: a query error gets the text (for its caret); a statement
    the server or SQLite cancelled is the time-limit error; any other database or file failure
    goes through :func:`atlas.store.failures.translate` (a :class:`~atlas.errors.StoreError`).
    Anything else is a bug and keeps its traceback."""
    try:
        yield
    except QueryError as exc:
        for item in getattr(exc, "errors", None) or [exc]:
            if item.query is None:
                item.query = text
        raise
    except AtlasError:
        raise
    except Exception as exc:
        orig = exc.orig if isinstance(exc, DBAPIError) else exc
        if getattr(orig, "sqlstate", None) == "57014" or "interrupted" in str(orig).lower()[:200]:
            raise clock.error() from exc
        error = translate(exc, "running the query", where=database_label(engine) if hasattr(engine, "url") else None)
        if error is None:
            raise
        raise error from exc


def plan_query(db: Any, text: str, *, limit: int | None = None, timeout_s: float = PLAN_TIMEOUT_S) -> Plan:
    """Parse, bind and compile ``text`` for ``db``'s dialect (binding reads the catalog
    within ``timeout_s``)."""
    clock = Clock(timeout_s)
    statement = parse(text)
    engine = _engine(db)
    with _boundary(text, clock, engine):
        with engine.connect() as conn, conn.begin(), deadline(conn, clock=clock):
            bound = bind(conn, statement, text=text, limit=limit)
    return compile_bound(bound, dialect=engine.dialect.name)


def _columns(bound: Bound, frame: pd.DataFrame) -> pd.DataFrame:
    order = ["neuron", "model", "site", "layer", "unit"] + [r.label for r in bound.refs] + bound.stats + bound.explained
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
    if isinstance(bound.statement, ast.ProbesQuery):
        for m in bound.models:
            out.append({"score": "probes", "model": m.name, "run": m.probe_run, "method_id": None, "params": None, "set": None})
        return out
    if isinstance(bound.statement, ast.AgreementQuery):
        for m in bound.models:
            for a in m.agreement_methods or [None]:  # type: ignore[list-item]
                out.append({"score": "agreement", "model": m.name, "run": m.agreement_run, "set": None,
                            "method": None if a is None else a.label, "method_id": None if a is None else a.method_id,
                            "params": None if a is None else a.params})
        return out
    for ref in bound.refs:
        if ref.every:
            out += _every_sources(bound, ref.label)
            continue
        if ref.concept_id is None:
            continue
        for m in bound.models:
            src = m.sets.get(ref.key)
            out.append({
                "score": ref.label, "model": m.name,
                "run": None if src is None else src.run_id,
                "method_id": None if src is None else src.method_id,
                "params": None if src is None else src.params,
                "set": None if src is None else src.set_id,
            })
    return out


def _every_sources(bound: Bound, label: str) -> list[dict[str, Any]]:
    """``method(*)``: per model, one entry per (run, method row) its sets come from, with the
    number of concepts (``n_concepts``)."""
    out = []
    for m in bound.models:
        groups: dict[tuple[int, int, str], list[int]] = {}
        for src in bound.every_sets(m).values():
            groups.setdefault((src.run_id, src.method_id, src.params), []).append(src.set_id)
        if not groups:
            out.append({"score": label, "model": m.name, "run": None, "method_id": None, "params": None, "set": None})
        for (run, method_id, params), sets in sorted(groups.items()):
            out.append({"score": label, "model": m.name, "run": run, "method_id": method_id, "params": params,
                        "set": None, "n_concepts": len(sets)})
    return out


def sources_text(sources: list[dict[str, Any]]) -> str:
    """One line per score read: ``iou(noun) of bert: run 2, method row 3 {"alpha":0.005}``."""
    lines = []
    for s in sources:
        if s["score"] == "probes":
            where = "no probe results" if s["run"] is None else f"run {s['run']}"
        elif s["score"] == "agreement":
            where = "no stored agreement" if s["run"] is None else f"run {s['run']}"
            if s.get("method") is not None:
                where += f", {s['method']}: method row {s['method_id']} {s['params']}"
        else:
            where = "no complete score set" if s["run"] is None else f"run {s['run']}, method row {s['method_id']} {s['params']}"
            if s.get("n_concepts"):
                where += f" ({s['n_concepts']} concepts)"
        lines.append(f"{s['score']} of {s['model']}: {where}")
    return "\n".join(lines)


def run_query(db: Any, text: str, *, limit: int | None = None, timeout_s: float = 30) -> pd.DataFrame:
    """Run a query and return its answer as a DataFrame.

    Args:
        db: an :class:`atlas.Atlas` (or an engine, for queries without composite concepts).
        text: the query.
        limit: rows to return, overriding the query's ``limit`` (at most 10,000).
        timeout_s: one deadline in seconds for the whole query (binding, SQL and the composite
            step), above 0 and at most 600.

    Returns:
        A DataFrame; ``frame.attrs["sources"]`` says which score set (run, method row,
        parameters) each stored score came from, per model; ``frame.attrs["warnings"]`` (a list
        of strings) says what the answer silently lacks: a score or statistic some model has
        none of (those neurons cannot match), or rows the default limit cut.
        For ``neurons``: columns ``neuron`` (canonical id), ``model``, ``site``, ``layer``,
        ``unit`` and one column per score reference (``selectivity(negation)``), then any
        statistics used. ``count``: model [, layer | depth], n_neurons (all neurons of the
        group), n_matching; every group of the named models is listed, with 0 where none
        match. ``compare``: model, depth (or layer), n_neurons, n_matching, fraction.
        ``by concept`` (with a ``method(*)``) groups by model and concept.
        ``max | min | mean | median``: model [, layer | depth | concept], n_neurons, n_values,
        then the aggregate, named ``max ap(noun)``. ``probes``: model, method, params, site,
        layer, task, metric, value (``by layer``: a column per metric instead of metric, value).
        ``top tokens``: rank, token, value, sentence, position, run, context. ``neuron``: its
        statistics (neuron, model, site, layer, unit, depth, run, mean, std, min, max,
        fire_rate, threshold), and every section in ``frame.attrs["sections"]`` (stats,
        concepts, top_words, histogram, explanations, notes: see :mod:`atlas.query.views`).
        ``words of``: word, n, mean, max. ``similar to``: neuron, model, site, layer, unit,
        value (Pearson r), abs, rank, run, correlation. ``layers of A vs B``: layer (of A), then
        a column per layer of B (``B.0``, ...). ``show``: the catalog rows.

    Raises:
        QueryError: the query cannot be parsed, bound or run (the CLI renders it with a caret);
            :class:`~atlas.errors.QueryLimitError` when it runs past ``timeout_s`` or
            ``timeout_s`` is not in (0, 600].
        StoreError: the database failed (a lost connection, a lock, ...): see
            :mod:`atlas.store.failures`.

    Example:
        >>> run_query(db, "neurons in bert layer>8 where selectivity(negation)>0.5 and iou(noun)>0.3")  # doctest: +SKIP
    """
    clock = Clock(timeout_s)  # a bad timeout_s is refused before anything runs
    statement = parse(text)
    engine = _engine(db)
    with _boundary(text, clock, engine):
        with engine.connect() as conn, conn.begin(), deadline(conn, clock=clock):
            bound = bind(conn, statement, text=text, limit=limit)
            plan = compile_bound(bound, dialect=engine.dialect.name)
            if plan.kind in ("neuron", "words"):
                from atlas.query.views import run_view

                frame = run_view(db, conn, plan, clock)
            else:
                frame = fetch(conn, plan, clock=clock)
        cut = bool(frame.attrs.pop("cut", False))
        bound.warnings += frame.attrs.pop("view_warnings", [])
        if plan.kind == "neurons":
            frame = _stored_values(bound, frame)
            if plan.composite_refs:
                from atlas.query.composite import apply_composite

                frame, cut = apply_composite(db, plan, frame, clock=clock)
            frame = _columns(bound, frame)
    sections = frame.attrs.get("sections")
    frame = frame.reset_index(drop=True)
    if sections is not None:
        frame.attrs["sections"] = sections
    frame.attrs["sources"] = score_sources(bound)
    frame.attrs["warnings"] = list(bound.warnings) + ([_cut_note(plan)] if cut and not bound.limit_given else [])
    return frame


def _cut_note(plan: Plan) -> str:
    """The warning of an answer the row limit cut (the limit the user did not choose)."""
    default = plan.limit < MAX_LIMIT
    how = f"add 'limit N' (at most {MAX_LIMIT}) or narrow the query" if default else "narrow the query, or export it in parts"
    return f"only the first {plan.limit} rows are shown ({'the default limit' if default else 'the most a query returns'}); more match: {how}"


def _sql(select: Any, dialect: Any, inline: bool) -> str:
    if inline:
        return str(select.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    compiled = select.compile(dialect=dialect)
    return str(compiled) + f"\n-- parameters: {dict(compiled.params)!r}"


def compile_query(db: Any, text: str, *, inline: bool = False) -> str:
    """The SQL a query compiles to for ``db``'s dialect.

    Args:
        db: an :class:`atlas.Atlas` or an engine.
        text: the query.
        inline: write values into the SQL (for reading only; execution always binds them).
            Without it, the bound parameters follow the SQL as a ``-- parameters:`` comment.

    ``count`` runs a second statement, the number of neurons in every group; it follows the
    first after a ``-- and the neurons per group:`` line. Last, ``-- score sets read:`` lines
    say which score set (run, method row, parameters) each stored score reads, per model.

    Example:
        >>> print(compile_query(db, "neurons in bert where iou(noun) > 0.3"))  # doctest: +SKIP
    """
    plan = plan_query(db, text)
    dialect = postgresql.dialect() if _engine(db).dialect.name == "postgresql" else sqlite.dialect()
    sql = _sql(plan.select, dialect, inline)
    if plan.totals is not None:
        sql += "\n-- and the neurons per group:\n" + _sql(plan.totals, dialect, inline)
    if plan.residual is not None or plan.composite_refs:
        from atlas.query.canonical import condition_text

        rest = condition_text(plan.residual) if plan.residual is not None else "(none)"
        sql += f"\n-- then in pandas for the rows above: composite scores, where {rest}"
    sources = score_sources(plan.bound) if plan.bound is not None else []
    if sources:
        sql += "\n-- score sets read:\n" + "\n".join("-- " + line for line in sources_text(sources).splitlines())
    return sql


def explain_query(db: Any, text: str, *, timeout_s: float = PLAN_TIMEOUT_S) -> str:
    """The database's plan for a query: ``EXPLAIN QUERY PLAN`` (SQLite) or ``EXPLAIN`` (PostgreSQL),
    then which score sets it reads and any warnings (``-- warning: ...``).

    Raises:
        QueryError: as :func:`run_query` (the plan is asked within ``timeout_s``).
    """
    clock = Clock(timeout_s)
    plan = plan_query(db, text, timeout_s=timeout_s)
    engine = _engine(db)
    lines: list[str] = []
    sqlite_dialect = engine.dialect.name == "sqlite"
    with _boundary(text, clock, engine):
        with engine.connect() as conn, conn.begin(), deadline(conn, clock=clock):
            for select in (plan.select, plan.totals):
                if select is None:
                    continue
                # render_postcompile: expanding IN lists (a query over several models or runs)
                # become plain parameters, which EXPLAIN can take.
                compiled = select.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
                prefix = "EXPLAIN QUERY PLAN " if sqlite_dialect else "EXPLAIN "
                params: Any = tuple(compiled.params[k] for k in compiled.positiontup or []) if sqlite_dialect else compiled.params
                arm(conn, clock)
                rows = conn.exec_driver_sql(prefix + str(compiled), params).all()
                if lines:
                    lines += ["", "-- and the neurons per group:"]
                lines += [str(r[-1]) for r in rows] if sqlite_dialect else [str(r[0]) for r in rows]
    assert plan.bound is not None
    if score_sources(plan.bound):
        lines += ["", "-- score sets read:", *("-- " + line for line in sources_text(score_sources(plan.bound)).splitlines())]
    lines += ["-- warning: " + w for w in plan.bound.warnings]
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
