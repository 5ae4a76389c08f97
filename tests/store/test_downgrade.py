"""Destructive schema downgrades ask for force and say what they would delete (both backends)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, insert, select

from atlas.corpus.ingest import add_corpus
from atlas.errors import StoreError
from atlas.store import migrate
from atlas.store.engine import make_engine
from atlas.store.tables import Base, Corpus, Method, Token


def test_downgrade_to_base_refuses_and_counts_rows(db):
    add_corpus(db, "demo", builtin="demo", n_sentences=50, progress=False)
    with db.engine.connect() as conn:
        n_tokens = conn.execute(select(func.count()).select_from(Token.__table__)).scalar_one()
    with pytest.raises(StoreError) as info:
        migrate.downgrade(db.engine, "base")
    message = str(info.value)
    assert "drops every table of the atlas" in message
    assert "1 rows of corpus" in message and f"{n_tokens:,} rows of token" in message
    assert "--force" in message
    # the dry run was rolled back: schema and rows are untouched
    assert migrate.current_revision(db.engine) == migrate.head_revision(db.engine)
    assert set(Base.metadata.tables) <= set(inspect(db.engine).get_table_names())
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Corpus.__table__)).scalar_one() == 1
    migrate.downgrade(db.engine, "base", force=True)
    assert migrate.current_revision(db.engine) is None
    assert set(inspect(db.engine).get_table_names()) & set(Base.metadata.tables) == set()


def test_downgrade_to_base_of_an_empty_atlas_still_asks(empty_db_url):
    engine = make_engine(empty_db_url)
    migrate.init(engine)
    with pytest.raises(StoreError, match="drops every table of the atlas and would delete no rows"):
        migrate.downgrade(engine, "base")
    engine.dispose()


def test_downgrade_dropping_only_empty_tables_runs(db):
    add_corpus(db, "demo", builtin="demo", n_sentences=20, progress=False)
    assert migrate.downgrade_losses(db.engine, "0001") == {}  # 0003 and 0002 drop score and probe tables, empty here
    migrate.downgrade(db.engine, "0001")
    assert migrate.current_revision(db.engine) == "0001"
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Token.__table__)).scalar_one() > 0
    migrate.upgrade(db.engine)


def test_downgrade_moving_scores_back_is_not_a_loss(db):
    """0003 -> 0002 turns complete score sets back into score rows: nothing is lost, nothing asked."""
    from atlas.store import scores
    from atlas.store.tables import Concept

    from atlas.store.tables import Layer, Neuron

    run_id, method_id, layer_id = _fill_probe_result(db, probe=False)
    with db.engine.begin() as conn:
        model_id = conn.execute(select(Layer.model_id).where(Layer.id == layer_id)).scalar_one()
        conn.execute(insert(Neuron.__table__), [dict(layer_id=layer_id, model_id=model_id, site="mlp", layer=0, unit=u)
                                                for u in range(4)])
        concept = conn.execute(select(Concept.id).limit(1)).scalar_one()
        sets = scores.open_sets(conn, run_id, method_id, [concept])
        scores.write_layer(conn, sets, layer_id, [[0.25], [0.5], [0.75], [1.0]])
        scores.complete_sets(conn, sets)
    assert migrate.downgrade_losses(db.engine, "0002") == {}
    losses = migrate.downgrade_losses(db.engine, "base")  # no score table there: the sets would go
    assert losses["score_set"] == 1 and losses["score_vector"] == 1
    migrate.downgrade(db.engine, "0002")
    with db.engine.connect() as conn:
        assert sorted(conn.exec_driver_sql("SELECT value FROM score").scalars()) == [0.25, 0.5, 0.75, 1.0]
    migrate.upgrade(db.engine)


def test_downgrade_dropping_rows_refuses(db):
    _fill_probe_result(db)  # probe_result is what 0002 added and a downgrade to 0001 drops
    assert migrate.downgrade_losses(db.engine, "0001") == {"probe_result": 1}
    with pytest.raises(StoreError, match=r"to '0001' would delete 1 rows of probe_result"):
        migrate.downgrade(db.engine, "0001")
    assert migrate.current_revision(db.engine) == migrate.head_revision(db.engine)
    migrate.downgrade(db.engine, "0001", force=True)
    assert migrate.current_revision(db.engine) == "0001"


def test_agreement_migration_up_and_down(db):
    """0004 adds the agreement table; going back to 0003 drops its rows (asked first), and up again
    brings the table back, empty, with its keys."""
    from atlas.store.tables import Agreement, Concept

    run_id, method_id, _ = _fill_probe_result(db, probe=False)
    with db.engine.begin() as conn:
        other = conn.execute(insert(Method.__table__).values(name="ap", version="1", params={}, params_hash="q" * 64)
                             .returning(Method.__table__.c.id)).scalar_one()
        concept = conn.execute(select(Concept.id).limit(1)).scalar_one()
        conn.execute(insert(Agreement.__table__).values(run_id=run_id, concept_id=concept, site="mlp", method_a=method_id,
                                                        method_b=other, n=10, n_units=4, jaccard=0.5, spearman=None))
    assert migrate.downgrade_losses(db.engine, "0003") == {"agreement": 1}
    with pytest.raises(StoreError, match=r"to '0003' would delete 1 rows of agreement"):
        migrate.downgrade(db.engine, "0003")
    migrate.downgrade(db.engine, "0003", force=True)
    assert migrate.current_revision(db.engine) == "0003"
    assert "agreement" not in inspect(db.engine).get_table_names()
    migrate.upgrade(db.engine)
    assert "agreement" in inspect(db.engine).get_table_names()
    keys = inspect(db.engine).get_pk_constraint("agreement")["constrained_columns"]
    assert keys == ["run_id", "concept_id", "site", "method_a", "method_b", "n"]
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Agreement.__table__)).scalar_one() == 0


@pytest.mark.parametrize("revision", ["zzz", "0999", "-x", "0", ""])
def test_unknown_revision_lists_the_valid_ones(db, revision):
    with pytest.raises(StoreError) as info:
        migrate.downgrade(db.engine, revision)
    assert "valid targets: base, -1, 0001 (initial schema), 0002 (probe results), 0003 (score sets:" in str(info.value)


def test_too_many_steps(db):
    with pytest.raises(StoreError, match="cannot downgrade .* to '-50'.*valid targets"):
        migrate.downgrade(db.engine, "-50", force=True)


def _fill_probe_result(db, *, probe=True):
    from atlas.store.tables import Layer, Method, Model, ProbeResult, Run

    corpus_id = add_corpus(db, "tiny", builtin="demo", n_sentences=5, progress=False)["id"]
    with db.engine.begin() as conn:
        model_id = conn.execute(insert(Model.__table__).values(
            name="m", source="s", architecture="A", family="bert", n_layers=1, d_model=2, d_mlp=4
        ).returning(Model.__table__.c.id)).scalar_one()
        layer_id = conn.execute(insert(Layer.__table__).values(
            model_id=model_id, index=0, site="mlp", width=4, hook_point="h", activation="post"
        ).returning(Layer.__table__.c.id)).scalar_one()
        run_id = conn.execute(insert(Run.__table__).values(
            model_id=model_id, corpus_id=corpus_id, config_hash="c" * 64, config={}, store_path="r"
        ).returning(Run.__table__.c.id)).scalar_one()
        method_id = conn.execute(insert(Method.__table__).values(
            name="probe", version="1", params={}, params_hash="p" * 64
        ).returning(Method.__table__.c.id)).scalar_one()
        if probe:
            conn.execute(insert(ProbeResult.__table__).values(
                run_id=run_id, method_id=method_id, layer_id=layer_id, task="t", metric="acc", value=0.5))
    return run_id, method_id, layer_id
