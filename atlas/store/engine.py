"""Engines for the two backends, with one behaviour.

* SQLite (the default, ``sqlite:///atlas.db``): WAL journal, ``synchronous=NORMAL``, foreign
  keys on, a busy timeout, and ``BEGIN IMMEDIATE`` for write transactions so that two writers
  queue instead of failing half-way.
* PostgreSQL (``postgresql+psycopg://user@host/db``): psycopg 3, which the bulk path uses for
  binary ``COPY``.

Connection problems become :class:`~atlas.errors.StoreError` with a one-line message.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

from atlas.errors import StoreError

DEFAULT_URL = "sqlite:///atlas.db"


def database_url(url: str | None = None) -> str:
    """The URL to use: ``url`` if given, else ``$ATLAS_DB``, else ``sqlite:///atlas.db``."""
    return url or os.environ.get("ATLAS_DB") or DEFAULT_URL


def _normalise(url: str) -> str:
    """Accept the URLs people type: ``postgresql://`` means psycopg 3, a bare path means SQLite."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    if "://" not in url:
        return "sqlite:///" + url
    return url


def make_engine(url: str | None = None, **kwargs: Any) -> Engine:
    """Create an engine for ``url`` (see :func:`database_url`), checking that it is well formed.

    Raises:
        StoreError: the URL is malformed or names a backend that is not supported.
    """
    raw = database_url(url)
    try:
        parsed = make_url(_normalise(raw))
    except (ArgumentError, ValueError) as exc:
        raise StoreError(
            f"malformed database URL {raw!r}",
            hint="use sqlite:///path/to/atlas.db or postgresql+psycopg://user@host:5432/dbname",
        ) from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise StoreError(
            f"unsupported database backend {backend!r} in {raw!r}",
            hint="Neuron Atlas runs on SQLite (sqlite:///atlas.db) or PostgreSQL (postgresql+psycopg://...)",
        )
    if backend == "postgresql" and parsed.get_driver_name() != "psycopg":
        parsed = parsed.set(drivername="postgresql+psycopg")
    try:
        if backend == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                parent = Path(parsed.database).expanduser().resolve().parent
                if not parent.is_dir():
                    raise StoreError(
                        f"cannot create the SQLite database {parsed.database!r}: folder {str(parent)!r} does not exist"
                    )
            engine = create_engine(parsed, **kwargs)
            _configure_sqlite(engine)
        else:
            kwargs.setdefault("pool_pre_ping", True)
            connect_args = kwargs.pop("connect_args", {})
            connect_args.setdefault("connect_timeout", 10)
            engine = create_engine(parsed, connect_args=connect_args, **kwargs)
    except NoSuchModuleError as exc:
        raise StoreError(f"unsupported database URL {raw!r}: {exc}") from exc
    except ArgumentError as exc:
        raise StoreError(f"malformed database URL {raw!r}: {exc}") from exc
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        # Take over transaction control from the sqlite3 module, so BEGIN IMMEDIATE is ours.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # 16 KiB pages for a new database (a no-op on an existing one): fewer B-tree pages to
        # split on bulk inserts (+10-15% rows/s into score) and to read on range scans.
        cur.execute("PRAGMA page_size=16384")
        if engine.url.database not in (None, "", ":memory:"):
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA temp_store=MEMORY")
        cur.execute("PRAGMA cache_size=-65536")  # 64 MiB page cache
        cur.close()
        # Decodes packed score vectors (the ``score`` view; atlas.store.views).
        dbapi_conn.create_function("atlas_value", 2, _atlas_value, deterministic=True)

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # Writers take the write lock up front (see write()), so concurrent writers queue on the
        # busy timeout instead of failing with SQLITE_BUSY half-way; readers stay deferred.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("atlas_write") else "BEGIN")


_F32 = struct.Struct("<f")


def _atlas_value(vals: bytes | None, i: int | None) -> float | None:
    """``atlas_value(vals, i)``: the ``i``-th float32 of a packed score vector; NULL for NaN or
    past the end."""
    if vals is None or i is None or i < 0 or 4 * i + 4 > len(vals):
        return None
    v: float = _F32.unpack_from(vals, 4 * i)[0]
    return None if v != v else v


def write(engine: Engine) -> Any:
    """A write transaction: ``with write(engine) as conn: ...`` (``BEGIN IMMEDIATE`` on SQLite)."""
    return engine.execution_options(atlas_write=True).begin()


def check_connection(engine: Engine) -> None:
    """Open one connection, turning failures into a one-line :class:`StoreError`."""
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    except (OperationalError, DBAPIError) as exc:
        raise StoreError(
            f"cannot connect to the database at {engine.url.render_as_string(hide_password=True)}: "
            f"{_first_line(exc.orig or exc)}",
            hint=_connect_hint(engine),
        ) from exc


def _connect_hint(engine: Engine) -> str:
    if engine.dialect.name == "postgresql":
        return "is the PostgreSQL server running, and does the database exist? (createdb NAME)"
    return "check that the file is a SQLite database and that you may write to it"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def table_names(engine: Engine) -> set[str]:
    """The tables present in the database."""
    try:
        return set(inspect(engine).get_table_names())
    except (OperationalError, DBAPIError) as exc:
        raise StoreError(
            f"cannot read the database at {engine.url.render_as_string(hide_password=True)}: "
            f"{_first_line(exc.orig or exc)}",
            hint=_connect_hint(engine),
        ) from exc
