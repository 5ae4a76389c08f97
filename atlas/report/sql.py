"""``atlas sql``: read-only SQL on the atlas (its tables and the named views of ``schema/``).

Every table and figure of a report names the SQL it came from; this runs such SQL again, and
refuses anything that writes:

* SQLite: the statement runs under ``PRAGMA query_only=ON`` and an authorizer that allows
  reading only (``SELECT``, reading tables and views, functions, reading a pragma), so an
  ``INSERT``, ``CREATE``, ``ATTACH`` or a pragma that sets a value is refused before it runs;
* PostgreSQL: in a transaction opened with ``SET TRANSACTION READ ONLY`` (fixed by a first
  query, so the statement cannot switch it back), as one prepared statement (one statement
  only), rolled back afterwards.

One statement per call, under the query language's time limit (30 s by default), at most
``limit`` rows (a cut is a warning). A refused write is one line:
``error: atlas sql is read-only: ...``.

Example::

    run_sql(db, "SELECT layer, n_detectors FROM layer_detector_counts WHERE model = 'minilm'")
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pandas as pd
from sqlalchemy.exc import DBAPIError

from atlas.errors import AtlasError, QueryLimitError
from atlas.query.execute import Clock, deadline

#: Rows ``atlas sql`` returns unless told (``limit``); at most :data:`MAX_SQL_ROWS`.
DEFAULT_SQL_ROWS = 1000
MAX_SQL_ROWS = 100_000


class ReadOnlyError(AtlasError):
    """A statement given to ``atlas sql`` would write (or is not one statement)."""


#: SQLite authorizer actions a read may use.
_READ_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_FUNCTION, getattr(sqlite3, "SQLITE_RECURSIVE", 33)}
#: Pragmas that take an argument and still only read.
_READ_PRAGMAS = {"table_info", "table_xinfo", "index_list", "index_info", "index_xinfo", "foreign_key_list",
                 "function_list", "pragma_list", "table_list", "database_list", "collation_list", "compile_options"}


def _authorize(action: int, arg1: str | None, arg2: str | None, _db: str | None, _src: str | None) -> int:
    if action in _READ_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_PRAGMA and (arg2 is None or (arg1 or "").lower() in _READ_PRAGMAS):
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def run_sql(db: Any, text: str, *, limit: int = DEFAULT_SQL_ROWS, timeout_s: float = 30) -> pd.DataFrame:
    """Run one read-only SQL statement on the atlas ``db`` and return its rows.

    Args:
        db: an :class:`~atlas.api.Atlas` (or anything with an ``engine``).
        text: one SQL statement that reads (``SELECT``, ``WITH ... SELECT``, ``EXPLAIN``, a pragma
            read on SQLite).
        limit: the most rows returned (1 to :data:`MAX_SQL_ROWS`); ``frame.attrs["cut"]`` and a
            warning say when rows were left out.
        timeout_s: the time limit (as ``atlas query``'s).

    Raises:
        ReadOnlyError: the statement writes, or is more than one statement.
        AtlasError: the database rejects the SQL (its message, on one line).
    """
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_SQL_ROWS:
        raise QueryLimitError(f"atlas sql returns 1 to {MAX_SQL_ROWS:,} rows, not {limit!r}", hint="give --limit N")
    if not text.strip():
        raise AtlasError("atlas sql needs a statement", hint='atlas sql "SELECT * FROM neuron_card LIMIT 5"')
    clock = Clock(timeout_s)
    engine = db.engine
    with engine.connect() as conn:
        postgres = conn.dialect.name == "postgresql"
        raw = conn.connection.driver_connection
        trans = conn.begin()
        try:
            with deadline(conn, clock=clock):
                if postgres:
                    conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                    conn.exec_driver_sql("SELECT 1")  # fixes the mode: SET TRANSACTION READ WRITE now fails
                    rows, columns = _run_postgres(raw, text, limit)
                else:
                    rows, columns = _run_sqlite(raw, text, limit)
        except DBAPIError as exc:
            raise _error(exc.orig or exc, text, clock) from None
        except (sqlite3.Error, _pg_error()) as exc:
            raise _error(exc, text, clock) from None
        finally:
            trans.rollback()
    cut = len(rows) > limit
    frame = pd.DataFrame([tuple(r) for r in rows[:limit]], columns=columns)
    frame.attrs["cut"] = cut
    frame.attrs["warnings"] = [f"the first {limit:,} rows are shown; give --limit N (limit=) for more"] if cut else []
    return frame


def _pg_error() -> type[BaseException]:
    import psycopg

    return psycopg.Error


def _run_sqlite(raw: Any, text: str, limit: int) -> tuple[list[Any], list[str]]:
    raw.execute("PRAGMA query_only=ON")
    raw.set_authorizer(_authorize)
    try:
        cur = raw.execute(text)
        rows = cur.fetchmany(limit + 1)
        columns = [d[0] for d in cur.description or ()]
        cur.close()
    finally:
        raw.set_authorizer(None)
        raw.execute("PRAGMA query_only=OFF")
    return rows, columns


def _run_postgres(raw: Any, text: str, limit: int) -> tuple[list[Any], list[str]]:
    with raw.cursor() as cur:
        cur.execute(text, prepare=True)  # a prepared statement is one statement
        if cur.description is None:
            return [], []
        return cur.fetchmany(limit + 1), [d.name for d in cur.description]


def _error(exc: BaseException, text: str, clock: Clock) -> AtlasError:
    """The database's complaint as one line; a write attempt as :class:`ReadOnlyError`, an
    interrupted statement as the time-limit error."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    lowered = message.lower()
    sqlstate = getattr(exc, "sqlstate", None)
    if sqlstate == "57014" or lowered == "interrupted":
        return clock.error()
    statement = " ".join(text.split())[:60]
    if sqlstate == "25006" or "not authorized" in lowered or "readonly" in lowered or "read-only" in lowered:
        return ReadOnlyError(f"atlas sql is read-only: the statement would write ({statement!r}: {message})",
                             hint="read with SELECT; change the atlas through the other atlas commands")
    if "one statement at a time" in lowered or "multiple commands" in lowered:
        return ReadOnlyError("atlas sql runs one statement at a time", hint="give the statements one by one")
    return AtlasError(f"the database rejected the SQL: {message}",
                      hint="the tables and views are listed in schema/sqlite.sql and schema/postgresql.sql")
