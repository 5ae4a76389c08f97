"""The bulk write path gives the same rows as the ORM on both backends."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select

from atlas.store import bulk_insert
from sqlalchemy import Column, Float, Integer, MetaData, Table

from atlas.store.tables import Concept, Corpus, Method, Model

#: A fact table of the old row-per-score shape, made for these tests: the bulk path serves any
#: table (top activations, annotations, tokens), and its tests should not depend on one of them.
_FACTS = MetaData()
Score = Table(
    "bulk_fact", _FACTS,
    Column("run_id", Integer, primary_key=True),
    Column("method_id", Integer, primary_key=True),
    Column("concept_id", Integer, primary_key=True),
    Column("neuron_id", Integer, primary_key=True),
    Column("value", Float),
)


def _seed(db):
    _FACTS.create_all(db.engine)
    with db.write() as conn:
        conn.execute(Model.__table__.insert(), {"id": 1, "name": "m", "source": "x", "architecture": "A",
                                                "family": "bert", "n_layers": 1, "d_model": 4, "d_mlp": 8,
                                                "random_init": False})
        conn.execute(Corpus.__table__.insert(), {"id": 1, "name": "c", "source": "s", "format": "text",
                                                 "n_sentences": 0, "n_tokens": 0})
        conn.execute(Concept.__table__.insert(), {"id": 1, "name": "noun", "kind": "named", "level": "token",
                                                  "builtin": True})
        conn.execute(Method.__table__.insert(), {"id": 1, "name": "iou", "version": "1", "params": {},
                                                 "params_hash": "h", "higher_is_more": True})


def test_bulk_insert_roundtrip_with_nan_as_null(db):
    from atlas.store.tables import Layer, Neuron, Run

    _seed(db)
    with db.write() as conn:
        conn.execute(Layer.__table__.insert(), {"id": 1, "model_id": 1, "index": 0, "site": "mlp", "width": 5,
                                                "hook_point": "h", "activation": "post"})
        bulk_insert(conn, Neuron.__table__, {"id": np.arange(1, 6), "layer_id": [1] * 5, "model_id": [1] * 5,
                                             "site": ["mlp"] * 5, "layer": [0] * 5, "unit": np.arange(5)})
        conn.execute(Run.__table__.insert(), {"id": 1, "model_id": 1, "corpus_id": 1, "config_hash": "x",
                                              "config": {}, "status": "done", "store_path": "r"})
        values = np.array([0.5, np.nan, -1.25, 3.0, 0.0])
        n = bulk_insert(conn, Score, {"run_id": np.ones(5, dtype=np.int64), "method_id": [1] * 5,
                                                "concept_id": [1] * 5, "neuron_id": np.arange(1, 6),
                                                "value": values})
    assert n == 5
    with db.engine.connect() as conn:
        got = conn.execute(select(Score.c.neuron_id, Score.c.value).order_by(Score.c.neuron_id)).all()
        nulls = conn.execute(select(func.count()).where(Score.c.value.is_(None))).scalar()
    assert [v for _, v in got] == [0.5, None, -1.25, 3.0, 0.0]
    assert nulls == 1


def test_bulk_insert_rolls_back_with_the_transaction(db):
    _seed(db)
    from atlas.store.tables import Layer, Neuron

    with pytest.raises(RuntimeError):
        with db.write() as conn:
            conn.execute(Layer.__table__.insert(), {"id": 1, "model_id": 1, "index": 0, "site": "mlp",
                                                    "width": 3, "hook_point": "h", "activation": "post"})
            bulk_insert(conn, Neuron.__table__, {"id": [1, 2, 3], "layer_id": [1] * 3, "model_id": [1] * 3,
                                                 "site": ["mlp"] * 3, "layer": [0] * 3, "unit": [0, 1, 2]})
            raise RuntimeError("boom")
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Neuron)).scalar() == 0


def test_bulk_insert_rejects_ragged_columns(db):
    from atlas.store.tables import Neuron

    with db.write() as conn, pytest.raises(ValueError, match="different lengths"):
        bulk_insert(conn, Neuron.__table__, {"id": [1, 2], "unit": [1]})


def test_sqlite_pragmas(tmp_path):
    """SQLite only: WAL, foreign keys, synchronous=NORMAL, 16 KiB pages on a new atlas."""
    import atlas

    db = atlas.connect(f"sqlite:///{tmp_path / 'p.db'}")
    db.init()
    with db.engine.connect() as conn:
        pragma = lambda name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("synchronous") == 1  # NORMAL
        assert pragma("page_size") == 16384


@pytest.mark.parametrize("n", [1, 198, 199, 200, 399, 1000])  # around SQLite's rows per statement
def test_bulk_insert_row_counts_around_statement_groups(db, n):
    from atlas.store.bulk import SQLITE_MAX_PARAMS

    assert SQLITE_MAX_PARAMS // 5 == 199  # five columns: statements of 199 rows
    _seed(db)
    rng = np.random.default_rng(n)
    values = rng.standard_normal(n)
    values[:: 7] = np.nan
    neurons = rng.permutation(10 * n)[:n] + 1
    with db.write() as conn:
        assert bulk_insert(conn, Score, {"run_id": np.ones(n, np.int64), "method_id": [1] * n,
                                                   "concept_id": [1] * n, "neuron_id": neurons,
                                                   "value": values}) == n
    with db.engine.connect() as conn:
        got = conn.execute(select(Score.c.neuron_id, Score.c.value).order_by(Score.c.neuron_id)).all()
    order = np.argsort(neurons)
    assert [g.neuron_id for g in got] == neurons[order].tolist()
    want = [None if np.isnan(v) else v for v in values[order]]
    assert [g.value for g in got] == want
