"""Real database failures become one AtlasError subclass each, with what, where and a hint.

Every test provokes the failure for real (a second connection holding the SQLite write lock,
``pg_terminate_backend`` from an admin connection, a SELECT-only role, ``statement_timeout``,
``PRAGMA max_page_count``) and checks the error type, its message and that nothing was
half-written.
"""

from __future__ import annotations

import errno
import itertools
import os
import threading

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

import atlas
from atlas.corpus.ingest import add_corpus
from atlas.errors import (
    StoreBusyError,
    StoreConnectionError,
    StoreFullError,
    StorePermissionError,
    StoreTimeoutError,
    StoreValueError,
)
from atlas.store.engine import write
from atlas.store.failures import translate, translating
from tests.conftest import PG_ADMIN_URL
from tests.corpus.helpers import EDGE, row_counts
from tests.corpus.helpers import write as write_file

_roles = itertools.count()


def _sqlite_pragma(engine, statement: str) -> None:
    """Run ``statement`` on every new connection of ``engine`` (after the engine's own pragmas)."""

    @event.listens_for(engine, "connect")
    def _set(dbapi_conn, _record):
        cur = dbapi_conn.cursor()
        cur.execute(statement)
        cur.close()

    engine.dispose()


def _only(backend: str, wanted: str) -> None:
    if backend != wanted:
        pytest.skip(f"a {wanted} failure; the {backend} counterpart is tested beside it")


# -- SQLite ----------------------------------------------------------------------------------
def test_sqlite_locked_by_another_writer(db, tmp_path, backend):
    _only(backend, "sqlite")
    _sqlite_pragma(db.engine, "PRAGMA busy_timeout=200")  # fail after 0.2 s instead of 30 s
    path = write_file(tmp_path, "edge.conllu", EDGE)
    before = row_counts(db)
    other = atlas.connect(str(db.engine.url), store_root=tmp_path / "other")
    with write(other.engine) as holder:  # BEGIN IMMEDIATE: the other connection holds the write lock
        holder.execute(text("UPDATE corpus SET license = NULL WHERE 1 = 0"))
        with pytest.raises(StoreBusyError) as info:
            add_corpus(db, "edge", path, progress=False)
    message = str(info.value)
    assert "storing corpus 'edge'" in message
    assert "locked by another connection" in message
    assert str(tmp_path / "atlas.db") in message
    assert "wait for the other atlas command" in message
    assert "\n" not in message
    assert row_counts(db) == before
    other.close()


def test_sqlite_full_database_stays_intact(db, tmp_path, backend):
    _only(backend, "sqlite")
    with db.engine.connect() as conn:
        pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
    _sqlite_pragma(db.engine, f"PRAGMA max_page_count={pages + 8}")
    before = row_counts(db)
    with pytest.raises(StoreFullError) as info:
        add_corpus(db, "demo", builtin="demo", n_sentences=300, progress=False)
    assert "storing corpus 'demo'" in str(info.value)
    assert "full" in str(info.value)
    assert "free disk space" in str(info.value)
    assert row_counts(db) == before
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    db.engine.dispose()
    plain = atlas.connect(str(db.engine.url), store_root=tmp_path / "store2")  # no page limit: it fits
    assert add_corpus(plain, "demo", builtin="demo", n_sentences=300, progress=False)["n_sentences"] == 300
    plain.close()


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores file permissions")
def test_sqlite_read_only_file(db, tmp_path, backend):
    _only(backend, "sqlite")
    db.engine.dispose()
    db_file = tmp_path / "atlas.db"
    for p in (db_file, tmp_path):
        p.chmod(0o555 if p.is_dir() else 0o444)
    try:
        with pytest.raises(StorePermissionError):
            add_corpus(db, "edge", write_file(tmp_path / "store", "x.conllu", EDGE), progress=False)
    finally:
        tmp_path.chmod(0o755)
        db_file.chmod(0o644)


# -- PostgreSQL ------------------------------------------------------------------------------
def _admin():
    return create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")


def test_postgres_connection_lost_mid_corpus_add(db, tmp_path, backend):
    _only(backend, "postgresql")
    path = write_file(tmp_path, "edge.conllu", EDGE)
    before = row_counts(db)
    admin = _admin()
    killed = threading.Event()

    @event.listens_for(db.engine, "after_cursor_execute")
    def _kill(conn, _cursor, statement, *_args):
        if not killed.is_set() and statement.lstrip().upper().startswith("INSERT INTO corpus".upper()):
            pid = conn.connection.dbapi_connection.info.backend_pid
            worker = threading.Thread(target=_terminate, args=(admin, pid))  # as another client would
            worker.start()
            worker.join()
            killed.set()

    with pytest.raises(StoreConnectionError) as info:
        add_corpus(db, "edge", path, progress=False)
    event.remove(db.engine, "after_cursor_execute", _kill)
    assert killed.is_set()
    message = str(info.value)
    assert "storing corpus 'edge'" in message
    assert "nothing of this command was committed" in message
    assert "\n" not in message
    assert row_counts(db) == before
    admin.dispose()


def _terminate(admin, pid: int) -> None:
    with admin.connect() as conn:
        conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})


@pytest.fixture
def reader_url(db_url, backend):
    """A login role that may only SELECT from the atlas at ``db_url``."""
    _only(backend, "postgresql")
    role = f"atlas_reader_{os.getpid()}_{next(_roles)}"
    dbname = make_url(db_url).database
    admin = _admin()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
    owner = create_engine(db_url, isolation_level="AUTOCOMMIT")
    with owner.connect() as conn:
        conn.execute(text(f'GRANT CONNECT ON DATABASE "{dbname}" TO "{role}"'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA public TO "{role}"'))
        conn.execute(text(f'GRANT SELECT ON ALL TABLES IN SCHEMA public TO "{role}"'))
    yield make_url(db_url).set(username=role).render_as_string(hide_password=False)
    with owner.connect() as conn:
        conn.execute(text(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = :role"), {"role": role})
        conn.execute(text(f'DROP OWNED BY "{role}"'))
    owner.dispose()
    with admin.connect() as conn:
        conn.execute(text(f'DROP ROLE "{role}"'))
    admin.dispose()


def test_postgres_select_only_role(reader_url, tmp_path, backend):
    _only(backend, "postgresql")
    reader = atlas.connect(reader_url, store_root=tmp_path / "store")
    reader.check()  # reading works
    before = row_counts(reader)
    with pytest.raises(StorePermissionError) as info:
        add_corpus(reader, "edge", write_file(tmp_path, "edge.conllu", EDGE), progress=False)
    message = str(info.value)
    assert "storing corpus 'edge'" in message
    assert "lacks the privilege" in message
    assert "permission denied" in message
    assert "GRANT" in message
    assert row_counts(reader) == before
    reader.close()


def test_postgres_statement_timeout(db, backend):
    _only(backend, "postgresql")
    with pytest.raises(StoreTimeoutError) as info:
        with translating("scoring run 1", where="the test server"):
            with db.engine.connect() as conn:
                conn.execute(text("SET statement_timeout = 50"))
                conn.execute(text("SELECT pg_sleep(2)"))
    message = str(info.value)
    assert message.startswith("scoring run 1: the server cancelled the statement (at the test server)")
    assert "statement_timeout" in message


def test_postgres_value_too_long(db, backend):
    _only(backend, "postgresql")
    with pytest.raises(StoreValueError, match="longer than its column"):
        with translating("storing a corpus"):
            with db.engine.begin() as conn:
                conn.execute(text("INSERT INTO corpus (name, source, format, n_sentences, n_tokens) "
                                  "VALUES (:n, 's', 'text', 0, 0)"), {"n": "x" * 300})


def test_lock_timeout_is_busy(db, backend):
    """A lock another connection holds: SQLITE_BUSY on SQLite, lock_timeout (55P03) on PostgreSQL."""
    if backend == "sqlite":
        _sqlite_pragma(db.engine, "PRAGMA busy_timeout=100")
    other = atlas.connect(str(db.engine.url.render_as_string(hide_password=False)))
    with write(other.engine) as holder:
        holder.execute(text("LOCK TABLE corpus IN EXCLUSIVE MODE") if backend == "postgresql"
                       else text("UPDATE corpus SET license = NULL WHERE 1 = 0"))
        with pytest.raises(StoreBusyError, match="wait for the other atlas command"):
            with translating("removing corpus 'x'"):
                with write(db.engine) as conn:
                    if backend == "postgresql":
                        conn.execute(text("SET lock_timeout = 100"))
                    conn.execute(text("DELETE FROM corpus WHERE name = 'x'"))
    other.close()


# -- the classification itself ---------------------------------------------------------------
@pytest.mark.parametrize(
    "number, cls",
    [(errno.ENOSPC, StoreFullError), (errno.EDQUOT, StoreFullError), (errno.EACCES, StorePermissionError),
     (errno.EROFS, StorePermissionError)],
)
def test_os_errors(number, cls):
    err = translate(OSError(number, os.strerror(number), "/data/store/run-3/mlp.4.npy"), "writing run 3")
    assert type(err) is cls
    assert str(err).startswith("writing run 3: ")
    assert "/data/store/run-3/mlp.4.npy" in str(err)


def test_unknown_failures_pass_through():
    assert translate(ValueError("a bug")) is None
    assert translate(OSError(errno.ENOENT, "No such file")) is None
    with pytest.raises(KeyError):
        with translating("anything"):
            raise KeyError("a bug stays a bug")


def test_translated_error_keeps_its_cause():
    with pytest.raises(StoreFullError) as info:
        with translating("extracting run 1"):
            raise OSError(errno.ENOSPC, "No space left on device")
    assert isinstance(info.value.__cause__, OSError)
