"""Running a compiled plan: a read-only transaction with a deadline, rows → pandas.

Deadlines: one :class:`Clock` per query covers every step (binding, the SQL, the composite
step). On PostgreSQL ``set_config('statement_timeout', ..., true)`` (a ``SET LOCAL`` with a
bound value) holds each statement to the time left; on SQLite a progress handler interrupts
the statement once the deadline has passed (Datasette's ``sqlite_timelimit``). Either way an
overrun becomes a :class:`~atlas.errors.QueryLimitError` that names the limit and how to
raise it. ``timeout_s`` is above 0 and at most :data:`MAX_TIMEOUT_S`.

The client can only **lower** the server's bound: on PostgreSQL the ``SET LOCAL`` value is the
least of the time left, the session's default ``statement_timeout`` (the role's, set by
``atlas kb grant``; 0 counts as none) and the lab's bound in ``atlas_info``
(``kb_statement_timeout_ms``, set by ``atlas kb init --timeout``). A query stopped by that bound
says so, rather than suggesting a longer ``--timeout``.

Example::

    clock = Clock(5)
    with deadline(conn, clock=clock):
        rows = conn.execute(plan.select).all()
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError, OperationalError

from atlas.errors import QueryLimitError
from atlas.query.bound import params_json
from atlas.query.compiler import DEPTH_BUCKETS, Plan, as_stored_array
from atlas.store.tables import Token

#: The longest time limit a query may ask for (seconds).
MAX_TIMEOUT_S = 600.0


def check_timeout(timeout_s: object) -> float:
    """``timeout_s`` as a float when it is a number above 0 and at most :data:`MAX_TIMEOUT_S`.

    >>> check_timeout(0.5)
    0.5
    >>> check_timeout(0)
    Traceback (most recent call last):
    ...
    atlas.errors.QueryLimitError: a query's time limit must be above 0 s, not 0 (give --timeout S (timeout_s= in Python) between 0 and 600)
    """
    ok = isinstance(timeout_s, (int, float)) and not isinstance(timeout_s, bool)
    value = float(timeout_s) if ok else math.nan  # type: ignore[arg-type]
    hint = f"give --timeout S (timeout_s= in Python) between 0 and {MAX_TIMEOUT_S:g}"
    if not value > 0:
        raise QueryLimitError(f"a query's time limit must be above 0 s, not {timeout_s!r}", hint=hint)
    if value > MAX_TIMEOUT_S:
        raise QueryLimitError(f"a query's time limit is at most {MAX_TIMEOUT_S:g} s, not {value:g} s",
                              hint=hint + "; narrow a query that needs longer")
    return value


def timeout_error(timeout_s: float) -> QueryLimitError:
    """The one-line error of a query that ran past its time limit."""
    return QueryLimitError(
        f"the query ran past its time limit of {timeout_s:g} s; raise it with --timeout S (timeout_s= in Python, "
        f"at most {MAX_TIMEOUT_S:g}) or narrow the query (fewer models or layers, a stricter condition)"
    )


class Clock:
    """One deadline for every step of a query.

    >>> c = Clock(30)
    >>> 0 < c.left() <= 30
    True
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = check_timeout(timeout_s)
        self.stop = time.monotonic() + self.timeout_s
        #: the server's bound (seconds) when it was lower than the time left (PostgreSQL)
        self.server_bound_s: float | None = None

    def left(self) -> float:
        """Seconds left (0 once past)."""
        return max(0.0, self.stop - time.monotonic())

    def check(self) -> None:
        """Raise the time-limit error once the deadline has passed (between steps)."""
        if time.monotonic() > self.stop:
            raise timeout_error(self.timeout_s)

    def error(self) -> QueryLimitError:
        if self.server_bound_s is not None:
            return QueryLimitError(
                f"the query ran past the database's statement timeout of {self.server_bound_s:g} s (your role's or "
                "the lab's bound; --timeout can only lower it)",
                hint="narrow the query (fewer models or layers, a stricter condition), or ask the atlas's "
                "administrator for a longer bound (atlas kb init --timeout S)",
            )
        return timeout_error(self.timeout_s)


def arm(conn: Connection, clock: Clock) -> None:
    """Hold the next statements of ``conn`` to the time left (PostgreSQL; SQLite's progress
    handler reads the clock itself). Raises the time-limit error when none is left."""
    clock.check()
    if conn.dialect.name == "postgresql":
        ms = max(1, int(clock.left() * 1000))
        applied = int(conn.execute(select_set_timeout(ms)).first()[0])
        clock.server_bound_s = applied / 1000 if applied < ms else None


@contextmanager
def deadline(conn: Connection, *, timeout_s: float | None = None, clock: Clock | None = None) -> Iterator[None]:
    """Interrupt statements of ``conn`` that run past the deadline (in this block).

    Give ``clock`` (one deadline for several steps) or ``timeout_s`` (a new one). Ctrl-C during
    a SQLite statement interrupts it and raises :class:`KeyboardInterrupt` (not a time-out).

    Raises:
        QueryLimitError: a statement ran past the deadline, or ``timeout_s`` is not above 0.
    """
    clock = clock if clock is not None else Clock(timeout_s)  # type: ignore[arg-type]
    if conn.dialect.name == "postgresql":
        arm(conn, clock)
        try:
            yield
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == "57014":  # query_canceled
                raise clock.error() from None
            raise
        return
    raw = conn.connection.driver_connection
    interrupted: list[bool] = []

    def progress() -> int:
        try:
            return 1 if time.monotonic() > clock.stop else 0
        except KeyboardInterrupt:  # Ctrl-C arrived in the handler: stop the statement, say so after
            interrupted.append(True)
            return 1

    raw.set_progress_handler(progress, 2000)
    try:
        yield
    except OperationalError as exc:
        if "interrupted" in str(exc.orig):
            if interrupted:
                raise KeyboardInterrupt from None
            raise clock.error() from None
        raise
    finally:
        raw.set_progress_handler(None, 0)


#: ``SET LOCAL statement_timeout`` to the least of ``:ms``, the session's default (the role's;
#: 0 is none) and the lab's bound recorded by ``atlas kb init``; returns the value set.
_SET_TIMEOUT = """SELECT b.ms, set_config('statement_timeout', CAST(b.ms AS text), true) FROM (SELECT LEAST(
    :ms,
    (SELECT NULLIF(CAST(reset_val AS integer), 0) FROM pg_settings WHERE name = 'statement_timeout'),
    (SELECT CAST(value AS integer) FROM atlas_info WHERE key = 'kb_statement_timeout_ms')) AS ms) AS b"""


def select_set_timeout(ms: int) -> Any:
    """The statement that bounds the next statements of a PostgreSQL transaction (see :data:`_SET_TIMEOUT`)."""
    from sqlalchemy import bindparam, text

    return text(_SET_TIMEOUT).bindparams(bindparam("ms", int(ms)))


def fetch(engine: Engine | Connection, plan: Plan, *, timeout_s: float = 30, clock: Clock | None = None) -> pd.DataFrame:
    """Run ``plan`` in a read transaction with a deadline and return its answer.

    ``engine`` may be an open connection already inside :func:`deadline` (then ``clock`` is
    its clock). ``frame.attrs["cut"]`` is True when the plan's limit left rows out.
    """
    if isinstance(engine, Connection):
        assert clock is not None
        return _fetch(engine, plan, clock)
    clock = clock if clock is not None else Clock(timeout_s)
    with engine.connect() as conn:
        with conn.begin():
            with deadline(conn, clock=clock):
                return _fetch(conn, plan, clock)


def utc_times(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Time columns as UTC-aware timestamps: SQLite hands back naive UTC times, PostgreSQL aware
    ones, and an answer must read the same on both."""
    for name in columns:
        if name in frame.columns:
            frame[name] = pd.to_datetime(frame[name], utc=True)
    return frame


def _fetch(conn: Connection, plan: Plan, clock: Clock) -> pd.DataFrame:
    arm(conn, clock)
    result = conn.execute(plan.select)
    columns = list(result.keys())
    rows = result.all()
    cut = plan.kind in ("neurons", "top_tokens", "show", "probes", "notes", "similar", "agreement") and not plan.composite_refs and len(rows) > plan.limit
    if cut:
        rows = rows[: plan.limit]
    extra: Any = None
    if plan.kind == "top_tokens":
        extra = _context(conn, plan, rows, columns)
    elif plan.totals is not None or plan.median is not None:
        arm(conn, clock)
        second = conn.execute(plan.totals if plan.totals is not None else plan.median)
        extra = pd.DataFrame([tuple(r) for r in second.all()], columns=list(second.keys()))
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    frame = shape(plan, frame, extra)
    if plan.kind == "notes":
        utc_times(frame, "created_at")
    frame.attrs["cut"] = cut
    return frame


def _context(conn: Connection, plan: Plan, rows: list[Any], columns: list[str]) -> dict[int, list[tuple[int, str]]]:
    sid = columns.index("sentence_id")
    ids = sorted({r[sid] for r in rows})
    out: dict[int, list[tuple[int, str]]] = {i: [] for i in ids}
    if ids:
        t = Token.__table__
        for s, pos, form in conn.execute(
            select(t.c.sentence_id, t.c.position, t.c.form).where(t.c.sentence_id.in_(ids)).order_by(t.c.sentence_id, t.c.position)
        ):
            out[s].append((pos, form))
    return out


def _ints(frame: pd.DataFrame, names: list[str]) -> None:
    for name in names:
        if name in frame.columns:
            frame[name] = frame[name].astype("int64")


def shape_explanations(frame: pd.DataFrame) -> pd.DataFrame:
    """Explanation rows as shown: the search's parameters (``params``) become ``search``
    (``beam 10`` or ``exact``) and ``mask`` columns."""
    params = [p if isinstance(p, dict) else {} for p in frame["params"]] if "params" in frame.columns else []
    frame = frame.drop(columns=["params"], errors="ignore")
    if params:
        frame["search"] = [f"beam {p['beam']}" if s == "beam" and "beam" in p else (s or "") for s, p in zip(frame["search"], params)]
        frame["mask"] = pd.Series([str(p.get("mask", "")) for p in params], dtype=object)
    else:
        frame["mask"] = pd.Series([], dtype=object)
    _ints(frame, ["max_length", "length", "run"])
    _floats(frame, ["iou", "score"])
    return frame


def _floats(frame: pd.DataFrame, names: list[str]) -> None:
    for name in names:
        if name in frame.columns:
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")


def _depth_labels(frame: pd.DataFrame) -> pd.DataFrame:
    """``bucket`` 0..3 → a ``depth`` column ``0.00-0.25``, ..."""
    if "bucket" in frame.columns:
        width = 1.0 / DEPTH_BUCKETS
        frame["bucket"] = [f"{b * width:.2f}-{(b + 1) * width:.2f}" for b in frame["bucket"]]
        frame = frame.rename(columns={"bucket": "depth"})
    return frame


def _shape_aggregate(plan: Plan, frame: pd.DataFrame, median: pd.DataFrame | None) -> pd.DataFrame:
    """model [, layer | depth], n_neurons, n_values, then the aggregate (``max ap(noun)``) at the
    precision scores are stored (float32), so both backends print the same value."""
    keys = [c for c in frame.columns if c not in ("n_neurons", "n_values", "value")]
    if median is not None:
        found = {tuple(r[:-1]): r[-1] for r in median.itertuples(index=False)}
        frame["value"] = [found.get(tuple(k)) for k in frame[keys].itertuples(index=False)]
    _ints(frame, ["layer", "bucket", "n_neurons", "n_values"])
    _floats(frame, ["value"])
    frame["value"] = as_stored_array(frame["value"].to_numpy(dtype="float64"))
    frame = _depth_labels(frame).rename(columns=plan.rename)
    return frame.reset_index(drop=True)


def _shape_probes(plan: Plan, frame: pd.DataFrame) -> pd.DataFrame:
    """model, method, params (JSON text), site, layer, task, metric, value; ``by layer``: one row
    per (model, method, params, site, layer, task) and a column per metric (sorted by name)."""
    frame["params"] = [params_json(p if isinstance(p, dict) else json.loads(p) if p else {}) for p in frame["params"]]
    _ints(frame, ["layer"])
    _floats(frame, ["value"])
    if plan.by != "layer" or frame.empty:
        return frame
    keys = ["model", "method", "params", "site", "layer", "task"]
    wide = frame.pivot_table(index=keys, columns="metric", values="value", aggfunc="first", dropna=False, sort=True)
    wide = wide.reindex(columns=sorted(wide.columns)).reset_index()
    wide.columns.name = None
    order = frame[keys].drop_duplicates()
    return order.merge(wide, on=keys, how="left").reset_index(drop=True)


def _layer_matrix(plan: Plan, frame: pd.DataFrame) -> pd.DataFrame:
    """``layers of A vs B``: a row per layer of A (``layer``), a column per layer of B
    (``B.0``, ``B.1``, ...); empty cells where a pair has no value."""
    assert plan.bound is not None
    other = plan.bound.models[1].name
    _ints(frame, ["layer", "other_layer"])
    _floats(frame, ["value"])
    if frame.empty:
        return pd.DataFrame({"layer": pd.Series([], dtype="int64")})
    wide = frame.pivot(index="layer", columns="other_layer", values="value")
    wide = wide.reindex(columns=sorted(wide.columns))
    wide.columns = [f"{other}.{int(c)}" for c in wide.columns]
    wide = wide.reset_index()
    wide["layer"] = wide["layer"].astype("int64")
    return wide


def _shape_agreement(plan: Plan, frame: pd.DataFrame) -> pd.DataFrame:
    """model, site, method_a, params_a, method_b, params_b, n, n_units, jaccard, spearman: each
    pair oriented and labelled as the query named its methods (the first named is method_a),
    rows sorted by model, site, n and the pair's place in the query."""
    methods = plan.parts["methods"]
    out = []
    for row in frame.itertuples(index=False):
        known = methods.get(row.model, {})
        a, b = known.get(row.method_a), known.get(row.method_b)
        if a is None or b is None or a.order == b.order:
            continue
        if (a.order, a.label) > (b.order, b.label):
            a, b = b, a
        out.append((row.model, row.site, a.label, a.params, b.label, b.params, row.n, row.n_units, row.jaccard, row.spearman,
                    a.order, b.order, a.label, b.label))
    columns = ["model", "site", "method_a", "params_a", "method_b", "params_b", "n", "n_units", "jaccard", "spearman"]
    shaped = pd.DataFrame(out, columns=columns + ["_oa", "_ob", "_la", "_lb"])
    shaped = shaped.sort_values(["model", "site", "n", "_oa", "_ob", "_la", "_lb"], kind="stable")
    shaped = shaped[columns].reset_index(drop=True)
    _ints(shaped, ["n", "n_units"])
    _floats(shaped, ["jaccard", "spearman"])
    for name in ("model", "site", "method_a", "params_a", "method_b", "params_b"):
        shaped[name] = shaped[name].astype(object)
    return shaped


def shape(plan: Plan, frame: pd.DataFrame, extra: Any = None) -> pd.DataFrame:
    """Turn fetched rows into the answer's columns, with the same dtypes on both backends."""
    if plan.kind == "neurons":
        _ints(frame, ["neuron_id", "layer", "unit"])
        _floats(frame, list(plan.rename) + (["depth"] if "depth" in frame.columns else []))
        frame = frame.rename(columns=plan.rename)
        neuron = frame["model"].astype(str) + "/" + frame["site"].astype(str) + "." + frame["layer"].astype(str) + "/" + frame["unit"].astype(str)
        frame.insert(0, "neuron", neuron.astype(object))
        return frame
    if plan.kind in ("count", "compare"):
        if extra is not None:  # count: every group, 0 where nothing matches
            keys = [c for c in extra.columns if c != "n_neurons"]
            matching = {tuple(r[:-1]): r[-1] for r in frame[keys + ["n_matching"]].itertuples(index=False)}
            extra["n_matching"] = [matching.get(tuple(k), 0) for k in extra[keys].itertuples(index=False)]
            frame = extra
        _ints(frame, ["layer", "bucket", "n_neurons", "n_matching"])
        frame = _depth_labels(frame)
        if plan.kind == "compare":
            frame["fraction"] = (frame["n_matching"] / frame["n_neurons"]).astype("float64")
        return frame.reset_index(drop=True)
    if plan.kind == "aggregate":
        return _shape_aggregate(plan, frame, extra)
    if plan.kind == "probes":
        return _shape_probes(plan, frame)
    if plan.kind == "explanations":
        return shape_explanations(frame)
    if plan.kind == "similar":
        _ints(frame, ["layer", "unit", "rank", "run", "correlation"])
        _floats(frame, ["value", "abs"])
        ids = frame["model"].astype(str) + "/" + frame["site"].astype(str) + "." + frame["layer"].astype(str) + "/" + frame["unit"].astype(str)
        frame.insert(0, "neuron", ids.astype(object))
        return frame
    if plan.kind == "layers":
        return _layer_matrix(plan, frame)
    if plan.kind == "agreement":
        return _shape_agreement(plan, frame)
    if plan.kind == "top_tokens":
        contexts = []
        for sid, pos in zip(frame["sentence_id"], frame["position"]):
            words = [f"[[{form}]]" if p == pos else form for p, form in (extra or {}).get(sid, [])]
            contexts.append(" ".join(words))
        frame["context"] = pd.Series(contexts, dtype=object)
        _ints(frame, ["rank", "sentence", "position", "run"])
        _floats(frame, ["value"])
        return frame.drop(columns=["sentence_id"])
    # show
    for name in ("random_init", "higher_is_more", "has_scores"):
        if name in frame.columns:
            frame[name] = frame[name].astype(bool)
    _ints(frame, ["n_layers", "d_model", "d_mlp", "n_neurons", "n_tokens", "id", "n_words"])
    _floats(frame, ["value_min", "value_max"])
    return frame
