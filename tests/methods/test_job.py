"""score() on both backends: rows written, values equal to the estimators', atomic replacement,
parameters kept apart, errors leave the database as it was; score_mask agrees with stored scores."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import column, func, select, table

from atlas.errors import ConceptError, MethodError
from atlas.methods import registry
from atlas.methods.compute import score_mask
from atlas.methods.job import score
from atlas.store.tables import Concept, Method

from .fixtures import make_run

#: The long-form ``score`` view (atlas/store/views.py): what a SQL user reads.
Score = table("score", *(column(c) for c in ("set_id", "run_id", "method_id", "concept_id", "neuron_id", "value")))


def as_stored(values):
    """Scores are stored as float32: the value a reader gets back for ``values``."""
    return np.asarray(values, np.float64).astype(np.float32).astype(np.float64)


def _count(db, **where):
    stmt = select(func.count()).select_from(Score)
    for k, v in where.items():
        stmt = stmt.where(Score.c[k] == v)
    with db.engine.connect() as conn:
        return conn.execute(stmt).scalar_one()


def _stored(db, method_id, concept_name):
    with db.engine.connect() as conn:
        cid = conn.execute(select(Concept.id).where(Concept.name == concept_name)).scalar_one()
        rows = conn.execute(
            select(Score.c.neuron_id, Score.c.value).where(Score.c.method_id == method_id, Score.c.concept_id == cid)
        ).all()
    return dict(rows)


def test_score_writes_every_neuron_concept_pair(db, tmp_path):
    tiny = make_run(db, tmp_path)
    result = score(db, tiny.run_id, methods=["iou", "selectivity", "ap", "ap_sentence"], progress=False)
    n_neurons = 4 * 6
    assert result["n_neurons"] == n_neurons
    for name, info in result["methods"].items():
        assert info["rows"] == n_neurons * result["n_concepts"]
        assert _count(db, method_id=info["method_id"]) == info["rows"]
    # the planted unit of every layer is the best neuron for the concept
    sel = _stored(db, result["methods"]["selectivity"]["method_id"], "upos:NOUN")
    best = max(sel, key=sel.get)
    assert best in {int(ids[1]) for ids in tiny.neuron_ids.values()}


def test_stored_values_equal_the_estimators(db, tmp_path):
    tiny = make_run(db, tmp_path)
    from atlas.corpus.matrix import load_concept_matrix

    result = score(db, tiny.run_id, methods="iou,meandiff", concepts=["upos:NOUN", "upos:VERB", "negation"], progress=False)
    m = load_concept_matrix(db, tiny.corpus_id, concepts=["upos:NOUN", "upos:VERB", "negation"])
    X = tiny.arrays[("resid", 1)]
    ids = tiny.neuron_ids[("resid", 1)]
    for name in ("iou", "meandiff"):
        ref = registry.get(name).make().fit(X, m.mask).scores_
        for j, cname in enumerate(m.names):
            stored = _stored(db, result["methods"][name]["method_id"], cname)
            np.testing.assert_array_equal([stored[int(i)] for i in ids], as_stored(ref[:, j]))


def test_rerun_replaces_and_parameters_make_new_rows(db, tmp_path):
    tiny = make_run(db, tmp_path)
    first = score(db, tiny.run_id, methods="iou", concepts="upos:NOUN,negation", progress=False)
    again = score(db, tiny.run_id, methods="iou", concepts="upos:NOUN,negation", progress=False)
    mid = first["methods"]["iou"]["method_id"]
    assert again["methods"]["iou"]["method_id"] == mid
    assert _count(db, method_id=mid) == first["methods"]["iou"]["rows"]
    other = score(db, tiny.run_id, methods="iou", concepts="upos:NOUN", params={"iou": {"alpha": 0.05}}, progress=False)
    oid = other["methods"]["iou"]["method_id"]
    assert oid != mid
    assert _count(db, method_id=mid) == first["methods"]["iou"]["rows"]  # untouched
    with db.engine.connect() as conn:
        params = conn.execute(select(Method.params).where(Method.id == oid)).scalar_one()
    assert params["alpha"] == 0.05


def test_errors_leave_the_database_as_it_was(db, tmp_path):
    tiny = make_run(db, tmp_path)
    score(db, tiny.run_id, methods="selectivity", concepts="upos:NOUN", progress=False)
    before = _count(db)
    with pytest.raises(MethodError, match="did you mean"):
        score(db, tiny.run_id, methods="iou,selectivty", progress=False)
    with pytest.raises(ConceptError, match="unknown concept"):
        score(db, tiny.run_id, methods="iou", concepts="upos:NOUNN", progress=False)
    with pytest.raises(MethodError, match="no parameter"):
        score(db, tiny.run_id, methods="iou", params={"iou": {"alfa": 0.1}}, progress=False)
    with pytest.raises(MethodError, match="no run"):
        score(db, 999, progress=False)
    assert _count(db) == before


def test_failure_mid_write_keeps_previous_scores(db, tmp_path, monkeypatch):
    tiny = make_run(db, tmp_path)
    first = score(db, tiny.run_id, methods="iou", concepts="upos:NOUN", progress=False)
    import atlas.methods.job as job

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(job.scores, "write_layer", broken)
    with pytest.raises(RuntimeError):
        score(db, tiny.run_id, methods="iou", concepts="upos:NOUN", progress=False)
    assert _count(db, method_id=first["methods"]["iou"]["method_id"]) == first["methods"]["iou"]["rows"]


def test_probes_default_to_named_concepts_and_upos(db, tmp_path):
    tiny = make_run(db, tmp_path)
    result = score(db, tiny.run_id, methods="probe", progress=False)
    with db.engine.connect() as conn:
        names = conn.execute(
            select(Concept.name).join(Score, Score.c.concept_id == Concept.id)
            .where(Score.c.method_id == result["methods"]["probe"]["method_id"]).distinct()
        ).scalars().all()
    assert names and all(":" not in n or n.startswith("upos:") for n in names)
    assert "upos:NOUN" in names
    layer = result["probe_results"]["probe"]["mlp.0"]
    assert layer["upos"]["accuracy"] > layer["upos"]["majority"]
    # the same figures are stored per (run, method, layer, task, metric), and a re-run replaces them
    from atlas.store.tables import Layer, ProbeResult

    def stored():
        with db.engine.connect() as conn:
            return dict(conn.execute(
                select(ProbeResult.metric, ProbeResult.value).join(Layer, Layer.id == ProbeResult.layer_id)
                .where(ProbeResult.run_id == tiny.run_id, ProbeResult.task == "upos",
                       Layer.site == "mlp", Layer.index == 0)
            ).all())

    assert stored()["accuracy"] == pytest.approx(layer["upos"]["accuracy"])
    assert stored()["majority"] == pytest.approx(layer["upos"]["majority"])
    score(db, tiny.run_id, methods="probe", progress=False)
    assert stored()["accuracy"] == pytest.approx(layer["upos"]["accuracy"])


def test_score_mask_equals_stored_scores(db, tmp_path):
    tiny = make_run(db, tmp_path)
    from atlas.corpus.matrix import load_concept_matrix

    result = score(db, tiny.run_id, methods="iou,ap_sentence,selectivity", concepts="upos:NOUN", progress=False)
    mask = load_concept_matrix(db, tiny.corpus_id, concepts=["upos:NOUN"]).mask[:, 0]
    ids = [int(i) for key in (("mlp", 0), ("resid", 1)) for i in tiny.neuron_ids[key]][::-1]
    for name in ("iou", "ap_sentence", "selectivity"):
        stored = _stored(db, result["methods"][name]["method_id"], "upos:NOUN")
        got = score_mask(db, tiny.run_id, ids, mask, name)
        np.testing.assert_array_equal(as_stored(got), [stored[i] for i in ids])
    with pytest.raises(MethodError):
        score_mask(db, tiny.run_id, ids, mask, "probe")
    with pytest.raises(MethodError, match="words"):
        score_mask(db, tiny.run_id, ids, mask[:-1], "iou")


def test_scoring_a_subset_keeps_the_other_concepts_sets(db, tmp_path):
    tiny = make_run(db, tmp_path)
    first = score(db, tiny.run_id, methods="iou,selectivity", concepts="upos:NOUN,upos:VERB,negation", progress=False)
    before = {c: _stored(db, first["methods"]["iou"]["method_id"], c) for c in ("upos:VERB", "negation")}
    again = score(db, tiny.run_id, methods="iou", concepts="upos:NOUN", progress=False)
    mid = again["methods"]["iou"]["method_id"]
    assert mid == first["methods"]["iou"]["method_id"]
    for c, values in before.items():
        assert _stored(db, mid, c) == values  # not deleted, not changed
    per_concept = first["methods"]["iou"]["rows"] // 3
    assert _count(db, method_id=mid) == 3 * per_concept
    assert _count(db, method_id=first["methods"]["selectivity"]["method_id"]) == first["methods"]["selectivity"]["rows"]


def test_probeless_stored_values_do_not_depend_on_the_scored_subset(db, tmp_path):
    """The job passes every value of a property (context "property_columns"), so probeless of
    upos:NOUN is the same whether scored alone or with the other tags (issue 13)."""
    tiny = make_run(db, tmp_path)
    params = {"probeless": {"min_count": 1}}
    alone = score(db, tiny.run_id, methods="probeless", concepts="upos:NOUN", params=params, progress=False)
    first = _stored(db, alone["methods"]["probeless"]["method_id"], "upos:NOUN")
    both = score(db, tiny.run_id, methods="probeless", concepts="upos:NOUN,upos:VERB", params=params, progress=False)
    assert both["methods"]["probeless"]["method_id"] == alone["methods"]["probeless"]["method_id"]
    assert _stored(db, both["methods"]["probeless"]["method_id"], "upos:NOUN") == first
    used = alone["methods"]["probeless"]["values_used"]["upos"]
    assert "upos:NOUN" in used and len(used) > 2  # every tag of the corpus, not just the scored one


def test_probe_results_store_weight_mass_and_curve(db, tmp_path):
    tiny = make_run(db, tmp_path)
    score(db, tiny.run_id, methods="probe", params={"probe": {"curve": "2,4"}}, progress=False)
    from atlas.store.tables import ProbeResult

    with db.engine.connect() as conn:
        rows = conn.execute(select(ProbeResult.task, ProbeResult.metric, ProbeResult.value)).all()
    metrics = {(t, m) for t, m, _ in rows}
    assert {("upos", "n_neurons_50"), ("upos", "acc_at_k=2"), ("upos", "minimal_k")} <= metrics
    assert ("upos:NOUN", "n_neurons_50") in metrics and ("upos:NOUN", "acc_at_k=4") in metrics
