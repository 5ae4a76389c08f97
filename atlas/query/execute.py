"""Running a compiled plan: a read-only transaction with a deadline, rows → pandas.

Deadlines: on PostgreSQL ``set_config('statement_timeout', ..., true)`` (a ``SET LOCAL`` with
a bound value); on SQLite a progress handler that interrupts the statement once the deadline
has passed (Datasette's ``sqlite_timelimit``). Either way an overrun becomes a
:class:`~atlas.errors.QueryLimitError`.

Example::

    with deadline(conn, timeout_s=5):
        rows = conn.execute(plan.select).all()
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Engine, select
from sqlalchemy.exc import DBAPIError, OperationalError

from atlas.errors import QueryLimitError
from atlas.query.compiler import DEPTH_BUCKETS, Plan
from atlas.store.tables import Token


@contextmanager
def deadline(conn: Connection, *, timeout_s: float) -> Iterator[None]:
    """Interrupt statements of ``conn`` that run longer than ``timeout_s`` (in this block).

    Raises:
        QueryLimitError: a statement ran past the deadline.
    """
    if timeout_s is None or timeout_s <= 0:
        yield
        return
    if conn.dialect.name == "postgresql":
        conn.execute(select_set_timeout(max(1, int(timeout_s * 1000))))
        try:
            yield
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) == "57014":  # query_canceled
                raise _timeout(timeout_s) from None
            raise
        return
    raw = conn.connection.driver_connection
    stop = time.monotonic() + timeout_s
    raw.set_progress_handler(lambda: 1 if time.monotonic() > stop else 0, 2000)
    try:
        yield
    except OperationalError as exc:
        if "interrupted" in str(exc.orig):
            raise _timeout(timeout_s) from None
        raise
    finally:
        raw.set_progress_handler(None, 0)


def select_set_timeout(ms: int) -> Any:
    from sqlalchemy import func

    return select(func.set_config("statement_timeout", str(ms), True))


def _timeout(timeout_s: float) -> QueryLimitError:
    return QueryLimitError(
        f"the query ran past its time limit of {timeout_s:g} s",
        hint="narrow it (fewer models or layers, a stricter condition) or raise timeout_s",
    )


def fetch(engine: Engine, plan: Plan, *, timeout_s: float = 30) -> pd.DataFrame:
    """Run ``plan.select`` in a read transaction with a deadline and return its rows."""
    with engine.connect() as conn:
        with conn.begin():
            with deadline(conn, timeout_s=timeout_s):
                result = conn.execute(plan.select)
                columns = list(result.keys())
                rows = result.all()
                extra = _context(conn, plan, rows, columns) if plan.kind == "top_tokens" else None
    frame = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    return shape(plan, frame, extra)


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


def _floats(frame: pd.DataFrame, names: list[str]) -> None:
    for name in names:
        if name in frame.columns:
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")


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
        _ints(frame, ["layer", "bucket", "n_neurons", "n_matching"])
        if "bucket" in frame.columns:
            width = 1.0 / DEPTH_BUCKETS
            frame["bucket"] = [f"{b * width:.2f}-{(b + 1) * width:.2f}" for b in frame["bucket"]]
            frame = frame.rename(columns={"bucket": "depth"})
        if plan.kind == "compare":
            frame["fraction"] = (frame["n_matching"] / frame["n_neurons"]).astype("float64")
        return frame.reset_index(drop=True)
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
