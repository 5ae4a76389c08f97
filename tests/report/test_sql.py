"""``atlas sql``: reads the tables and views, refuses every kind of write, on both backends."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from atlas.cli import main
from atlas.errors import AtlasError, QueryLimitError
from atlas.report.sql import ReadOnlyError

WRITES = [
    "INSERT INTO note (author, text) VALUES ('x', 'y')",
    "DELETE FROM neuron",
    "UPDATE model SET name = 'x'",
    "DROP TABLE note",
    "CREATE TABLE evil (a INTEGER)",
    "CREATE VIEW evil AS SELECT 1",
    "WITH x AS (SELECT 1) DELETE FROM neuron",
]


def _count(db, table: str) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_sql_reads_tables_and_views(fx):
    db, data = fx
    frame = db.sql("SELECT name, n_layers FROM model ORDER BY name")
    assert frame["name"].tolist() == sorted(n for n, _ in (("bert", 12), ("gpt2", 6), ("minilm", 6)))
    frame = db.sql("SELECT method, threshold FROM detector_threshold ORDER BY method", limit=2)
    assert len(frame) == 2 and frame.attrs["cut"] and frame.attrs["warnings"]


def test_sql_refuses_writes(fx):
    db, _ = fx
    for statement in WRITES:
        before = {t: _count(db, t) for t in ("neuron", "note", "model")}
        with pytest.raises(ReadOnlyError, match="read-only"):
            db.sql(statement)
        assert {t: _count(db, t) for t in before} == before, statement
        # the pooled connection is itself again: writes through the library still work
        with db.write() as conn:
            conn.execute(text("INSERT INTO note (author, text) VALUES ('lab', 'still writable')"))
        assert _count(db, "note") == before["note"] + 1


def test_sql_refuses_backend_specific_escapes(fx):
    db, _ = fx
    if db.engine.dialect.name == "sqlite":
        for statement in ("PRAGMA query_only=OFF", "ATTACH DATABASE ':memory:' AS other", "PRAGMA foreign_keys=OFF"):
            with pytest.raises(ReadOnlyError):
                db.sql(statement)
        assert len(db.sql("PRAGMA table_info(neuron)")) > 0
    else:
        with pytest.raises(AtlasError):
            db.sql("SET TRANSACTION READ WRITE")
        with pytest.raises(ReadOnlyError):
            db.sql("SELECT 1; DELETE FROM neuron")
    assert _count(db, "neuron") > 0


def test_sql_errors_are_one_line(fx):
    db, _ = fx
    with pytest.raises(AtlasError, match="rejected the SQL") as err:
        db.sql("SELECT nothing FROM nowhere")
    assert "\n" not in str(err.value)
    with pytest.raises(QueryLimitError):
        db.sql("SELECT 1", limit=0)


def test_cli_sql_prints_a_table_and_refuses_a_write(fx, capsys):
    db, _ = fx
    url = db.engine.url.render_as_string(hide_password=False)
    assert main(["sql", "--db", url, "SELECT name FROM model ORDER BY name"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].strip() == "name" and "minilm" in out
    assert main(["sql", "--db", url, "--format", "csv", "SELECT method, threshold FROM detector_threshold WHERE method = 'ap'"]) == 0
    assert capsys.readouterr().out == "method,threshold\nap,0.5\n"
    assert main(["sql", "--db", url, "DELETE FROM neuron"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: atlas sql is read-only") and len(err.strip().splitlines()) == 1
