"""Bad databases get a clear one-line error and a non-zero exit, never a traceback."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from atlas.cli import main
from atlas.store.engine import make_engine


def _run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _assert_one_line_error(code, err, *fragments):
    assert code == 1
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("postgresql+psycopg://user@host:notaport/db", "malformed database URL"),
        ("://", "malformed database URL"),
        ("mysql://x@y/z", "unsupported database backend 'mysql'"),
        ("sqlite:////nonexistent-folder/x.db", "folder '/nonexistent-folder' does not exist"),
    ],
)
def test_malformed_url(capsys, url, fragment):
    code, _, err = _run(capsys, "init", "--db", url)
    _assert_one_line_error(code, err, fragment)


def test_unreachable_postgres(capsys):
    code, _, err = _run(capsys, "init", "--db", "postgresql+psycopg://postgres@127.0.0.1:1/atlas")
    _assert_one_line_error(code, err, "cannot", "127.0.0.1", "Connection refused")


def test_database_that_is_not_an_atlas(capsys, empty_db_url):
    engine = make_engine(empty_db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE invoices (id INTEGER PRIMARY KEY)"))
        conn.execute(text("INSERT INTO invoices (id) VALUES (1)"))
    for argv in (["init"],):
        code, _, err = _run(capsys, *argv, "--db", empty_db_url)
        _assert_one_line_error(code, err, "is not a Neuron Atlas database", "invoices")
    with engine.connect() as conn:  # nothing was touched
        assert conn.execute(text("SELECT count(*) FROM invoices")).scalar() == 1
        tables = conn.dialect.get_table_names(conn)
    assert tables == ["invoices"]
    engine.dispose()


def test_database_at_a_newer_schema(capsys, db_url):
    engine = make_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00dfeed9999'"))
    engine.dispose()
    code, _, err = _run(capsys, "init", "--db", db_url)
    _assert_one_line_error(code, err, "f00dfeed9999", "newer than this version")
    import atlas

    with pytest.raises(atlas.SchemaVersionError, match="newer"):
        atlas.connect(db_url).check()


def test_empty_database_asks_for_init(empty_db_url):
    import atlas

    with pytest.raises(atlas.StoreError, match="atlas init"):
        atlas.connect(empty_db_url).check()


def test_init_then_current(capsys, empty_db_url):
    code, out, _ = _run(capsys, "init", "--db", empty_db_url)
    assert code == 0 and "schema revision" in out
    code, out, _ = _run(capsys, "db", "current", "--db", empty_db_url)
    assert code == 0 and "up to date" in out


def test_missing_sqlite_file_is_not_created_by_a_read(capsys, tmp_path):
    target = tmp_path / "nothing-here.db"
    code, _, err = _run(capsys, "db", "current", "--db", f"sqlite:///{target}")
    code, _, err = _run(capsys, "query", "show models", "--db", f"sqlite:///{target}")
    _assert_one_line_error(code, err, "there is no atlas at", "atlas init")
    assert not target.exists()
