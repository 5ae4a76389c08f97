"""Roles of a shared PostgreSQL atlas (issue 18): what a reader, an annotator and a writer can
and cannot do, through the CLI, the Python API and raw SQL; the statement timeout the client
cannot lift; row-level security of private notes. Real login roles, dropped after each test."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

import atlas
from atlas.cli import main
from atlas.errors import KnowledgeBaseError, QueryLimitError, StorePermissionError
from atlas.query.execute import Clock, arm, deadline

pytestmark = pytest.mark.usefixtures("pg_server")


def _raw(url: str) -> Any:
    return create_engine(url.replace("postgresql+psycopg", "postgresql+psycopg"))


def test_reader_cannot_write_through_cli_api_or_sql(lab: Any, capsys: pytest.CaptureFixture[str]) -> None:
    url = lab.user("reader")
    # the CLI: one line naming the role and who can grant more, never a traceback
    assert main(["concept", "define", "kbtest", "noun and not plural", "--db", url]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"your role {lab.prefix}_reader cannot write" in err and "--role writer" in err
    # it can still query
    assert main(["query", "neurons in bert where iou(noun) > 0.3 limit 3", "--db", url]) == 0
    assert "bert/mlp" in capsys.readouterr().out
    # the API
    with atlas.connect(url) as db, pytest.raises(StorePermissionError):
        db.define_concept("kbtest2", "noun and not plural")
    # raw SQL: read-only by default, and the privileges hold after lifting that
    eng = _raw(url)
    with eng.connect() as conn:
        with pytest.raises(DBAPIError, match="read-only"):
            conn.execute(text("DELETE FROM model"))
        conn.rollback()
        conn.execute(text("SET default_transaction_read_only = off"))
        conn.commit()  # a session setting, kept after the rollbacks below
        for stmt in ("DELETE FROM model", "INSERT INTO saved_query (name, text, author) VALUES ('x', 'y', current_user)",
                     "UPDATE neuron SET unit = unit", "CREATE TABLE kbt_evil (x int)", "TRUNCATE note"):
            with pytest.raises(DBAPIError, match="permission denied"):
                conn.execute(text(stmt))
            conn.rollback()
        assert conn.execute(text("SELECT count(*) FROM model")).scalar() == 3
    eng.dispose()


def test_annotator_writes_notes_only_and_private_notes_stay_private(lab: Any) -> None:
    ann, other, reader = lab.user("annotator"), lab.user("annotator"), lab.user("reader")
    user = ann.split("//")[1].split("@")[0]
    eng = _raw(ann)
    with eng.begin() as conn:
        nid = conn.execute(text("SELECT id FROM neuron ORDER BY id LIMIT 1")).scalar()
        conn.execute(text("INSERT INTO note (target_kind, neuron_id, author, visibility, text) VALUES "
                          "('neuron', :n, current_user, 'private', 'mine only'), ('neuron', :n, current_user, 'lab', 'for all')"),
                     {"n": nid})
    with eng.connect() as conn:
        with pytest.raises(DBAPIError, match="row-level security"):  # no notes under someone else's name
            conn.execute(text("INSERT INTO note (neuron_id, author, text) VALUES (:n, 'postgres', 'forged')"), {"n": nid})
        conn.rollback()
        with pytest.raises(DBAPIError, match="permission denied"):
            conn.execute(text("DELETE FROM score_set"))
    eng.dispose()
    for url, seen in ((ann, {"mine only", "for all"}), (other, {"for all"}), (reader, {"for all"})):
        e = _raw(url)
        with e.connect() as conn:
            assert set(conn.execute(text("SELECT text FROM note WHERE neuron_id = :n"), {"n": nid}).scalars()) == seen
            conn.rollback()
            # another annotator cannot change or delete the note (no rows are visible to its UPDATE)
            if url == other:
                with conn.begin():
                    assert conn.execute(text("UPDATE note SET text = 'defaced'")).rowcount == 0
                    assert conn.execute(text("DELETE FROM note")).rowcount == 0
        e.dispose()
    assert user.endswith("_annotator")


def test_writer_writes_the_atlas(lab: Any) -> None:
    with atlas.connect(lab.user("writer")) as db:
        db.define_concept("kb_writer_concept", "noun and not plural")
        assert "kb_writer_concept" in set(db.concepts()["name"])


def test_client_timeout_cannot_lift_the_roles_bound(lab: Any) -> None:
    url = lab.user("reader")
    eng = _raw(url)
    with eng.connect() as conn, conn.begin():
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "2s"  # the role's default
        clock = Clock(600)
        arm(conn, clock)
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "2s"  # not 600 s
        assert clock.server_bound_s == 2
        low = Clock(0.5)
        arm(conn, low)
        assert conn.execute(text("SHOW statement_timeout")).scalar().endswith("ms")  # lowering is fine (~500 ms)
        assert low.server_bound_s is None
    # a statement past the bound is stopped and the error names the database's bound
    with eng.connect() as conn, conn.begin(), pytest.raises(QueryLimitError, match="statement timeout of 2 s"):
        with deadline(conn, clock=Clock(600)):
            conn.execute(text("SELECT pg_sleep(5)"))
    # the lab's bound holds even where the session's default was lifted (a URL's options)
    lifted = _raw(url + "?options=-c%20statement_timeout%3D0")
    with lifted.connect() as conn, conn.begin():
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "0"
        arm(conn, Clock(600))
        assert conn.execute(text("SHOW statement_timeout")).scalar() == "2s"
    lifted.dispose()
    eng.dispose()
    with pytest.raises(QueryLimitError):
        Clock(0)  # and no client can ask for no bound at all


def test_kb_init_is_idempotent_and_grant_switches_roles(lab: Any, capsys: pytest.CaptureFixture[str]) -> None:
    url = lab.user("reader")
    user = url.split("//")[1].split("@")[0]
    assert main(["kb", "init", "--prefix", lab.prefix, "--timeout", "2", "--db", lab.admin.url]) == 0
    assert f"checked role {lab.prefix}_reader" in capsys.readouterr().out
    assert main(["kb", "whoami", "--db", url]) == 0
    assert capsys.readouterr().out.strip() == f"{user}: reader"
    assert main(["kb", "grant", user, "--role", "annotator", "--db", lab.admin.url]) == 0
    assert f"is now {lab.prefix}_annotator" in capsys.readouterr().out
    assert atlas.connect(url).whoami()["kind"] == "annotator"
    # a reader cannot grant itself more
    assert main(["kb", "grant", user, "--role", "writer", "--db", url]) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_roles_are_postgresql_only(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    assert main(["init", "--db", url]) == 0
    capsys.readouterr()
    for argv in (["kb", "init"], ["kb", "grant", "alice", "--role", "reader"]):
        assert main([*argv, "--db", url]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "roles are a PostgreSQL feature" in err
    with atlas.connect(url) as db, pytest.raises(KnowledgeBaseError, match="chmod"):
        db.kb_init()
