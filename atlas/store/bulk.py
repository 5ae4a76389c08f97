"""The bulk write path for the big tables (tokens, annotations, scores, top activations).

One function, two implementations, same result:

* PostgreSQL: binary ``COPY ... FROM STDIN`` through psycopg 3, on the connection underneath
  the caller's SQLAlchemy transaction (so a failure rolls back with everything else).
* SQLite: one ``executemany`` on the raw DB-API connection, inside the caller's transaction.

Columns are passed column-wise (lists or numpy arrays), which is how the producers (numpy
methods, parsers) hold them.

Example::

    with engine.begin() as conn:
        bulk_insert(conn, Score.__table__, {"run_id": run_ids, "method_id": ..., "value": values})
"""

from __future__ import annotations

import itertools

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, Boolean, Connection, Float, Integer, Table

_PG_TYPES = ((BigInteger, "int8"), (Integer, "int4"), (Float, "float8"), (Boolean, "bool"))
#: numpy layouts of fixed-width PostgreSQL binary COPY fields (big-endian, as the protocol wants).
_PG_NUMPY = {"int8": ">i8", "int4": ">i4", "float8": ">f8", "bool": "u1"}
_PG_SIZES = {"int8": 8, "int4": 4, "float8": 8, "bool": 1}
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
COPY_TRAILER = b"\xff\xff"
_BLOCK_ROWS = 200_000


def _pg_type(column: Any) -> str:
    for sa_type, pg_name in _PG_TYPES:
        if isinstance(column.type, sa_type):
            return pg_name
    return "text"


def _as_list(values: Any) -> list[Any]:
    if isinstance(values, np.ndarray):
        if values.dtype.kind == "f":
            # NaN means "no value": stored as NULL on both backends.
            out: list[Any] = values.astype(np.float64).tolist()
            if np.isnan(values).any():
                out = [None if v != v else v for v in out]
            return out
        return values.tolist()
    return list(values)


def bulk_insert(conn: Connection, table: Table, columns: Mapping[str, Sequence[Any] | np.ndarray]) -> int:
    """Insert rows given column-wise into ``table`` inside ``conn``'s transaction.

    Args:
        conn: an open SQLAlchemy connection in a transaction (``engine.begin()``).
        table: the target table (``Score.__table__``).
        columns: column name -> values, all of the same length. NaN floats become NULL.

    Returns:
        The number of rows written.
    """
    names = list(columns)
    if not names:
        return 0
    n = len(columns[names[0]])
    if any(len(columns[name]) != n for name in names):
        raise ValueError(f"bulk_insert into {table.name}: columns have different lengths")
    if n == 0:
        return 0
    unknown = [name for name in names if name not in table.c]
    if unknown:
        raise ValueError(f"bulk_insert into {table.name}: unknown columns {unknown}")
    preparer = conn.dialect.identifier_preparer
    quoted_table = preparer.format_table(table)
    quoted_cols = ", ".join(preparer.quote(name) for name in names)
    raw = conn.connection.driver_connection
    assert raw is not None
    if conn.dialect.name == "postgresql":
        types = [_pg_type(table.c[name]) for name in names]
        arrays = _fixed_width_arrays(columns, names, types)
        if arrays is not None:
            _copy_numpy(raw, quoted_table, quoted_cols, arrays, types, n)
            return n
    data = [_as_list(columns[name]) for name in names]
    rows = zip(*data)
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur:
            with cur.copy(f"COPY {quoted_table} ({quoted_cols}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
    else:
        _sqlite_insert(raw, quoted_table, quoted_cols, len(names), rows, n)
    return n


#: SQLite binds at most 999 parameters per statement before 3.32 (32766 after).
SQLITE_MAX_PARAMS = 999
#: Rows per multi-row ``INSERT ... VALUES (...), (...)`` on SQLite.
SQLITE_ROWS_PER_STATEMENT = 200


def _sqlite_insert(raw: Any, quoted_table: str, quoted_cols: str, n_cols: int, rows: Any, n: int) -> None:
    """``executemany`` of multi-row INSERTs: half the time of one statement per row (measured:
    230,400 five-column rows in 0.10 s instead of 0.21 s), as the per-row statement reset and
    Python-to-C call are paid once per group."""
    per = max(1, min(SQLITE_ROWS_PER_STATEMENT, SQLITE_MAX_PARAMS // n_cols))
    one = "(" + ", ".join("?" * n_cols) + ")"
    flat = list(itertools.chain.from_iterable(rows))
    width = per * n_cols
    full = (n // per) * per
    cur = raw.cursor()
    try:
        if full:
            stmt = f"INSERT INTO {quoted_table} ({quoted_cols}) VALUES " + ", ".join([one] * per)
            cur.executemany(stmt, (flat[i : i + width] for i in range(0, full * n_cols, width)))
        if full < n:
            stmt = f"INSERT INTO {quoted_table} ({quoted_cols}) VALUES " + ", ".join([one] * (n - full))
            cur.execute(stmt, flat[full * n_cols :])
    finally:
        cur.close()


def _fixed_width_arrays(
    columns: Mapping[str, Sequence[Any] | np.ndarray], names: list[str], types: list[str]
) -> list[np.ndarray] | None:
    """The columns as numpy arrays when every field is fixed-width and non-NULL, else ``None``."""
    arrays = []
    for name, pg in zip(names, types):
        if pg not in _PG_NUMPY:
            return None
        values = columns[name]
        arr = values if isinstance(values, np.ndarray) else np.asarray(values)
        if arr.dtype == object or arr.dtype.kind not in "biuf":
            return None
        if arr.dtype.kind == "f" and np.isnan(arr).any():
            return None
        arrays.append(arr)
    return arrays


def _copy_numpy(raw: Any, table: str, cols: str, arrays: list[np.ndarray], types: list[str], n: int) -> None:
    """Binary COPY built by numpy: one structured array per block of rows, no Python loop per row.

    Each row is ``int16 field count`` then, per field, ``int32 length`` and the big-endian value.
    """
    fields: list[tuple[str, str]] = [("count", ">i2")]
    for i, pg in enumerate(types):
        fields += [(f"len{i}", ">i4"), (f"val{i}", _PG_NUMPY[pg])]
    layout = np.dtype(fields)
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(COPY_HEADER)
        for start in range(0, n, _BLOCK_ROWS):
            stop = min(n, start + _BLOCK_ROWS)
            block = np.empty(stop - start, dtype=layout)
            block["count"] = len(types)
            for i, (arr, pg) in enumerate(zip(arrays, types)):
                block[f"len{i}"] = _PG_SIZES[pg]
                block[f"val{i}"] = arr[start:stop]
            copy.write(block.tobytes())
        copy.write(COPY_TRAILER)
