"""Score sets: packed, atomic, resumable; the long-form ``score`` view; ids never reused;
migration 0003 moves row-per-score atlases into sets with every value intact (both backends)."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import delete, func, insert, select, text

import atlas
from atlas.store import migrate, scores
from atlas.store.engine import make_engine
from atlas.store.tables import SCORE_BLOCK, Concept, Corpus, Layer, Method, Model, Neuron, Run, ScoreSet, ScoreVector

WIDTHS = {("mlp", 0): 300, ("resid", 0): 7}  # 300 units: two blocks, the second partial


def _seed(conn) -> dict[str, object]:
    """One model with two layers, a corpus, a run, a method and three concepts; returns their ids."""
    mid = conn.execute(insert(Model).values(name="m", source="x", architecture="A", family="bert", n_layers=1,
                                            d_model=7, d_mlp=300, random_init=False).returning(Model.id)).scalar_one()
    layers = {}
    for (site, index), width in WIDTHS.items():
        lid = conn.execute(insert(Layer).values(model_id=mid, index=index, site=site, width=width, hook_point="h",
                                                activation="post").returning(Layer.id)).scalar_one()
        conn.execute(insert(Neuron), [{"layer_id": lid, "model_id": mid, "site": site, "layer": index, "unit": u}
                                      for u in range(width)])
        layers[(site, index)] = lid
    cid = conn.execute(insert(Corpus).values(name="c", source="s", format="text", n_sentences=0,
                                             n_tokens=0).returning(Corpus.id)).scalar_one()
    rid = conn.execute(insert(Run).values(model_id=mid, corpus_id=cid, config_hash="x", config={}, status="done",
                                          store_path="r").returning(Run.id)).scalar_one()
    meth = conn.execute(insert(Method).values(name="iou", version="1", params={}, params_hash="h",
                                              higher_is_more=True).returning(Method.id)).scalar_one()
    concepts = [conn.execute(insert(Concept).values(name=n, kind="named", level="token", builtin=False)
                             .returning(Concept.id)).scalar_one() for n in ("noun", "verb", "neg")]
    return {"model": mid, "layers": layers, "run": rid, "method": meth, "concepts": concepts}


def _values(seed: int, width: int, n_sets: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal((width, n_sets)).astype(np.float32)
    v[::11] = np.nan
    return v


def _view(conn, set_id: int) -> dict[tuple[str, int], float | None]:
    rows = conn.execute(text(
        "SELECT n.site, n.unit, s.value FROM score AS s JOIN neuron AS n ON n.id = s.neuron_id WHERE s.set_id = :s"
    ), {"s": set_id})
    return {(site, unit): value for site, unit, value in rows}


def _write_all(conn, ids, set_ids, seed=0):
    want = {}
    for (site, index), lid in ids["layers"].items():
        vals = _values(seed + lid, WIDTHS[(site, index)], len(set_ids))
        scores.write_layer(conn, set_ids, lid, vals)
        want[(site, index)] = vals
    return want


def test_sets_are_invisible_until_complete_then_read_back_exactly(db):
    with db.write() as conn:
        ids = _seed(conn)
        sets = scores.open_sets(conn, ids["run"], ids["method"], ids["concepts"])
        want = _write_all(conn, ids, sets)
    with db.engine.connect() as conn:
        assert _view(conn, sets[0]) == {}  # building: not in the view
    with db.write() as conn:
        assert scores.complete_sets(conn, sets) == 0
    with db.engine.connect() as conn:
        for j, set_id in enumerate(sets):
            got = _view(conn, set_id)
            assert len(got) == sum(WIDTHS.values())
            for (site, index), vals in want.items():
                for unit in range(vals.shape[0]):
                    v = vals[unit, j]
                    assert got[(site, unit)] == (None if np.isnan(v) else pytest.approx(float(v), abs=0))
            packed = scores.read_set(conn, set_id)
            for (site, index), lid in ids["layers"].items():
                np.testing.assert_array_equal(packed[lid], want[(site, index)][:, j])
        blocks = conn.execute(select(func.count()).select_from(ScoreVector)).scalar_one()
    assert blocks == 3 * (2 + 1)  # 300 units: 2 blocks of 256; 7 units: 1 block


def test_reopening_resumes_building_sets_and_completing_replaces_older_ones(db):
    with db.write() as conn:
        ids = _seed(conn)
        first = scores.open_sets(conn, ids["run"], ids["method"], ids["concepts"])
        _write_all(conn, ids, first, seed=1)
        scores.complete_sets(conn, first)
        second = scores.open_sets(conn, ids["run"], ids["method"], ids["concepts"][:2])
        lid = ids["layers"][("mlp", 0)]
        scores.write_layer(conn, second, lid, _values(5, 300, 2))
    with db.write() as conn:  # an interrupted job: a rerun gets the same building sets and sees its layer
        again = scores.open_sets(conn, ids["run"], ids["method"], ids["concepts"][:2])
        assert again == second and not set(again) & set(first)
        assert scores.layers_written(conn, again) == {s: {lid} for s in again}
        scores.write_layer(conn, again, ids["layers"][("resid", 0)], _values(6, 7, 2))
        assert scores.complete_sets(conn, again) == 2  # noun and verb of the first job
    with db.engine.connect() as conn:
        live = conn.execute(select(ScoreSet.id).where(ScoreSet.status == "complete").order_by(ScoreSet.id)).scalars().all()
    assert live == sorted([first[2], *again])  # neg's set of the first job is untouched


def test_deleting_a_concept_or_run_deletes_its_sets_and_ids_are_not_reused(db):
    with db.write() as conn:
        ids = _seed(conn)
        sets = scores.open_sets(conn, ids["run"], ids["method"], ids["concepts"])
        _write_all(conn, ids, sets)
        scores.complete_sets(conn, sets)
        conn.execute(delete(Concept).where(Concept.id == ids["concepts"][2]))
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ScoreSet)).scalar_one() == 2
        assert conn.execute(select(func.count()).select_from(ScoreVector).where(ScoreVector.set_id == sets[2])).scalar_one() == 0
    with db.write() as conn:
        new = conn.execute(insert(Concept).values(name="newc", kind="named", level="token", builtin=False)
                           .returning(Concept.id)).scalar_one()
        assert new > ids["concepts"][2]  # the deleted concept's id is not handed out again
        conn.execute(delete(Run).where(Run.id == ids["run"]))
    with db.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ScoreSet)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(ScoreVector)).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM score")).scalar_one() == 0


def test_migration_0003_moves_scores_into_sets_and_back(empty_db_url, tmp_path):
    engine = make_engine(empty_db_url)
    migrate.upgrade(engine, "0002")
    rng = np.random.default_rng(3)
    with engine.begin() as conn:
        ids = _seed(conn)
        neurons = conn.execute(select(Neuron.id).order_by(Neuron.id)).scalars().all()
        rows = []
        for c in ids["concepts"][:2]:
            vals = rng.standard_normal(len(neurons)).astype(np.float32).astype(float)
            for nid, v in zip(neurons, vals):
                rows.append({"run_id": ids["run"], "method_id": ids["method"], "concept_id": c, "neuron_id": nid,
                             "value": None if nid % 13 == 0 else float(v)})
        conn.execute(text("INSERT INTO score (run_id, method_id, concept_id, neuron_id, value) "
                          "VALUES (:run_id, :method_id, :concept_id, :neuron_id, :value)"), rows)
    key = lambda r: (r[0], r[1])  # noqa: E731
    before = sorted(((r["concept_id"], r["neuron_id"]), r["value"]) for r in rows)
    query = "SELECT concept_id, neuron_id, value FROM score ORDER BY concept_id, neuron_id"
    for step in ("head", "0002", "head"):
        (migrate.upgrade if step == "head" else migrate.downgrade)(engine, step)
        with engine.connect() as conn:
            got = sorted(((c, n), v) for c, n, v in conn.execute(text(query)))
        assert [key(g) for g in got] == [key(b) for b in before], step
        assert [g[1] for g in got] == [b[1] for b in before], step
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(ScoreSet).where(ScoreSet.status == "complete")).scalar_one() == 2
    engine.dispose()


def test_scores_readable_from_a_fresh_connection_on_sqlite(tmp_path):
    """The ``score`` view needs ``atlas_value`` on SQLite: every connection Neuron Atlas opens has it."""
    db = atlas.connect(f"sqlite:///{tmp_path / 'v.db'}", store_root=tmp_path / "s")
    db.init()
    with db.write() as conn:
        ids = _seed(conn)
        sets = scores.open_sets(conn, ids["run"], ids["method"], ids["concepts"][:1])
        lid = ids["layers"][("resid", 0)]
        scores.write_layer(conn, sets, lid, np.arange(7, dtype=np.float32)[:, None] / 4)
        scores.complete_sets(conn, sets)
    db.close()
    db = atlas.connect(f"sqlite:///{tmp_path / 'v.db'}", store_root=tmp_path / "s")
    with db.engine.connect() as conn:
        got = conn.execute(text("SELECT value FROM score ORDER BY neuron_id")).scalars().all()
    assert got == [u / 4 for u in range(7)]
    assert SCORE_BLOCK == 256
