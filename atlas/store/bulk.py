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

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, Boolean, Connection, Float, Integer, Table

_PG_TYPES = ((BigInteger, "int8"), (Integer, "int4"), (Float, "float8"), (Boolean, "bool"))


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
    data = [_as_list(columns[name]) for name in names]
    n = len(data[0])
    if any(len(col) != n for col in data):
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
    rows = zip(*data)
    if conn.dialect.name == "postgresql":
        types = [_pg_type(table.c[name]) for name in names]
        with raw.cursor() as cur:
            with cur.copy(f"COPY {quoted_table} ({quoted_cols}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)
    else:
        marks = ", ".join("?" for _ in names)
        cur = raw.cursor()
        try:
            cur.executemany(f"INSERT INTO {quoted_table} ({quoted_cols}) VALUES ({marks})", rows)
        finally:
            cur.close()
    return n
