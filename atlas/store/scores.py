"""Score sets: the atomic, resumable unit in which scores are written, replaced and read.

A scoring job opens one set per (run, method row, concept) it computes, writes each layer's
values for all its sets in one transaction (so a killed job keeps every finished layer), and
completes all its sets in one last transaction, which also removes the older complete sets it
replaces. Queries read complete sets only, so they never see half a job.

>>> import numpy as np
>>> pack(np.array([0.5, np.nan], np.float32), "sqlite")
b'\\x00\\x00\\x00?\\x00\\x00\\xc0\\x7f'
>>> unpack(pack(np.array([0.5, 2.0]), "sqlite"), "sqlite").tolist()
[0.5, 2.0]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import Connection, and_, delete, func, insert, select, update

from atlas.store.bulk import COPY_HEADER, COPY_TRAILER
from atlas.store.tables import SCORE_BLOCK, ScoreSet, ScoreVector


def pack(values: np.ndarray, dialect: str) -> Any:
    """A block of values as the backend stores it (float32; NaN = no value)."""
    arr = np.asarray(values, dtype="<f4")
    return arr.tolist() if dialect == "postgresql" else arr.tobytes()


def unpack(stored: Any, dialect: str) -> np.ndarray:
    """The inverse of :func:`pack`."""
    if dialect == "postgresql":
        return np.asarray(stored, dtype=np.float32)
    return np.frombuffer(stored, dtype="<f4")


def open_sets(conn: Connection, run_id: int, method_id: int, concept_ids: Sequence[int]) -> list[int]:
    """The ``building`` set of (run, method, concept) for each concept, created where none exists.

    A set left ``building`` by an interrupted job is reused, so a rerun resumes it.
    """
    wanted = [int(c) for c in concept_ids]
    found = dict(
        conn.execute(
            select(ScoreSet.concept_id, func.max(ScoreSet.id))
            .where(ScoreSet.run_id == run_id, ScoreSet.method_id == method_id, ScoreSet.status == "building")
            .group_by(ScoreSet.concept_id)
        ).all()
    )
    missing = [c for c in wanted if c not in found]
    if missing:
        now = dt.datetime.now(dt.timezone.utc)
        conn.execute(
            insert(ScoreSet),
            [{"run_id": run_id, "method_id": method_id, "concept_id": c, "status": "building", "created_at": now}
             for c in missing],
        )
        found.update(
            conn.execute(
                select(ScoreSet.concept_id, func.max(ScoreSet.id))
                .where(ScoreSet.run_id == run_id, ScoreSet.method_id == method_id, ScoreSet.status == "building",
                       ScoreSet.concept_id.in_(missing))
                .group_by(ScoreSet.concept_id)
            ).all()
        )
    return [int(found[c]) for c in wanted]


def layers_written(conn: Connection, set_ids: Iterable[int]) -> dict[int, set[int]]:
    """``{set_id: {layer_id, ...}}``: the layers already written for each set."""
    ids = [int(s) for s in set_ids]
    out: dict[int, set[int]] = {s: set() for s in ids}
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        rows = conn.execute(
            select(ScoreVector.set_id, ScoreVector.layer_id).where(ScoreVector.set_id.in_(part)).distinct()
        )
        for set_id, layer_id in rows:
            out[int(set_id)].add(int(layer_id))
    return out


def write_layer(conn: Connection, set_ids: Sequence[int], layer_id: int, values: np.ndarray) -> int:
    """Write one layer of several sets: ``values[unit, i]`` is set ``set_ids[i]``'s value of ``unit``.

    Replaces what those sets held for the layer (idempotent). Returns the number of values.
    """
    values = np.asarray(values, dtype=np.float32)
    n_units, n_sets = values.shape
    if n_sets != len(set_ids):
        raise ValueError(f"write_layer: {n_sets} value columns for {len(set_ids)} sets")
    ids = np.asarray(set_ids, dtype=np.int64)
    conn.execute(delete(ScoreVector).where(ScoreVector.layer_id == layer_id, ScoreVector.set_id.in_(ids.tolist())))
    writer = _copy_vectors if conn.dialect.name == "postgresql" else _insert_vectors
    for block, start in enumerate(range(0, n_units, SCORE_BLOCK)):
        # rows of one block: one per set, each the set's values of units start..start+255
        writer(conn, ids, int(layer_id), block, np.ascontiguousarray(values[start : start + SCORE_BLOCK].T))
    return n_units * n_sets


def _insert_vectors(conn: Connection, set_ids: np.ndarray, layer_id: int, block: int, vals: np.ndarray) -> None:
    raw = conn.connection.driver_connection
    cur = raw.cursor()  # type: ignore[union-attr]
    try:
        cur.executemany(
            "INSERT INTO score_vector (set_id, layer_id, block, vals) VALUES (?, ?, ?, ?)",
            [(int(s), layer_id, block, row.astype("<f4").tobytes()) for s, row in zip(set_ids, vals)],
        )
    finally:
        cur.close()


#: The oid of PostgreSQL's ``real`` (float4), the element type of ``score_vector.vals``.
_FLOAT4_OID = 700


def _copy_vectors(conn: Connection, set_ids: np.ndarray, layer_id: int, block: int, vals: np.ndarray) -> None:
    """Binary COPY of ``real[]`` rows built by numpy (no Python loop per value): 38 M scores in
    seconds, where COPY of Python lists took two minutes."""
    n_rows, n = vals.shape
    i4 = ">i4"
    layout = np.dtype([
        ("count", ">i2"), ("l_set", i4), ("set", i4), ("l_layer", i4), ("layer", i4), ("l_block", i4), ("block", i4),
        ("l_vals", i4), ("ndim", i4), ("flags", i4), ("oid", i4), ("dim", i4), ("lbound", i4),
        ("el", [("len", i4), ("val", ">f4")], (n,)),
    ])
    rows = np.zeros(n_rows, dtype=layout)
    rows["count"] = 4
    rows["l_set"] = rows["l_layer"] = rows["l_block"] = 4
    rows["set"], rows["layer"], rows["block"] = set_ids, layer_id, block
    rows["l_vals"] = 20 + 8 * n
    rows["ndim"], rows["oid"], rows["dim"], rows["lbound"] = 1, _FLOAT4_OID, n, 1
    rows["el"]["len"] = 4
    rows["el"]["val"] = vals
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:  # type: ignore[union-attr]
        with cur.copy("COPY score_vector (set_id, layer_id, block, vals) FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(COPY_HEADER + rows.tobytes() + COPY_TRAILER)


def complete_sets(conn: Connection, set_ids: Sequence[int]) -> int:
    """Make sets visible to queries, replacing the older complete sets of the same (run,
    method, concept). Returns how many older sets were replaced."""
    ids = [int(s) for s in set_ids]
    if not ids:
        return 0
    replaced = 0
    now = dt.datetime.now(dt.timezone.utc)
    for start in range(0, len(ids), 500):
        part = ids[start : start + 500]
        mine = ScoreSet.__table__.alias("mine")
        older = (
            select(ScoreSet.id)
            .join(mine, and_(mine.c.run_id == ScoreSet.run_id, mine.c.method_id == ScoreSet.method_id,
                             mine.c.concept_id == ScoreSet.concept_id))
            .where(mine.c.id.in_(part), ScoreSet.status == "complete", ScoreSet.id.not_in(part))
        )
        old_ids = [int(i) for i in conn.execute(older).scalars()]
        if old_ids:
            replaced += conn.execute(delete(ScoreSet).where(ScoreSet.id.in_(old_ids))).rowcount or 0
        conn.execute(
            update(ScoreSet).where(ScoreSet.id.in_(part)).values(status="complete", finished_at=now)
        )
    return replaced


def read_set(conn: Connection, set_id: int) -> dict[int, np.ndarray]:
    """``{layer_id: values by unit}`` of one set."""
    dialect = conn.dialect.name
    out: dict[int, list[np.ndarray]] = {}
    rows = conn.execute(
        select(ScoreVector.layer_id, ScoreVector.block, ScoreVector.vals)
        .where(ScoreVector.set_id == set_id)
        .order_by(ScoreVector.layer_id, ScoreVector.block)
    )
    for layer_id, _block, vals in rows:
        out.setdefault(int(layer_id), []).append(unpack(vals, dialect))
    return {k: np.concatenate(v) for k, v in out.items()}


def analyze(conn: Connection, tables: Iterable[str] = ("score_set", "score_vector")) -> None:
    """Refresh the planner's statistics after a bulk load (``ANALYZE``; ``PRAGMA optimize`` on SQLite)."""
    if conn.dialect.name == "postgresql":
        for table in tables:
            conn.exec_driver_sql(f"ANALYZE {conn.dialect.identifier_preparer.quote(table)}")
    else:
        conn.exec_driver_sql("PRAGMA optimize")
