"""The named views of schema/ (migration 0005) on both backends: what the migration creates is
what atlas/store/views.py defines, and each view answers what the tables hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import text

from atlas.store.views import DETECTOR_THRESHOLDS, REPORT_VIEWS, VIEWS


def _frame(db, sql: str) -> pd.DataFrame:
    with db.engine.connect() as conn:
        result = conn.execute(text(sql))
        return pd.DataFrame([tuple(r) for r in result.all()], columns=list(result.keys()))


def test_the_migrated_views_are_the_defined_views(db):
    dialect = db.engine.dialect.name
    for view in VIEWS:
        stored = _frame(db, f"SELECT * FROM {view.name} LIMIT 0").columns.tolist()
        defined = _frame(db, f"SELECT * FROM ({view.sql[dialect]}) AS q LIMIT 0").columns.tolist()
        assert stored == defined, view.name
    for view in REPORT_VIEWS:
        assert view.sql["sqlite"] == view.sql["postgresql"], f"{view.name}: one SQL text on both backends"


def test_neuron_card_and_top_words_in_context(fx):
    db, data = fx
    card = _frame(db, "SELECT * FROM neuron_card WHERE run_status = 'done' ORDER BY run_id, neuron_id")
    current = card[card["run_id"].isin(list(data.runs.values()))]
    merged = current.merge(data.stats, on="neuron_id", suffixes=("", "_want"))
    assert len(merged) == len(data.stats)
    assert np.allclose(merged["mean"], merged["mean_want"]) and np.allclose(merged["fire_rate"], merged["fire_rate_want"])
    neurons = data.neurons.set_index("id")
    for row in current.head(20).itertuples():
        n = neurons.loc[row.neuron_id]
        assert row.neuron == f"{n.model}/{n.site}.{n.layer}/{n.unit}"
        assert abs(row.depth - n.layer / n.n_layers) < 1e-12
    top = _frame(db, "SELECT * FROM top_words_in_context ORDER BY run_id, neuron_id, rank")
    assert len(top) == len(data.extra["top"])
    tokens = {t[3]: t for t in data.extra["tokens"]}  # row -> (id, corpus, sentence, row, position, form, ...)
    for row in top.itertuples():
        tok = tokens[row.row]
        assert (row.word, row.position, row.sentence_index) == (tok[5], tok[4], tok[2] - 1)
        assert row.word in row.sentence.split()


def test_probe_curve_parses_k(fx):
    db, _ = fx
    with db.write() as conn:
        run_id, layer_id, method_id = conn.execute(text(
            "SELECT run_id, layer_id, method_id FROM probe_result LIMIT 1")).one()
        conn.execute(text("INSERT INTO probe_result (run_id, method_id, layer_id, task, metric, value) "
                          "VALUES (:r, :m, :l, 'upos', 'acc_at_k=12', 0.75)"), {"r": run_id, "m": method_id, "l": layer_id})
    curve = _frame(db, "SELECT metric, k, value, model, layer, depth FROM probe_curve")
    points = curve[curve["k"].notna()]
    assert points["metric"].tolist() == ["acc_at_k=12"] and int(points["k"].iloc[0]) == 12
    assert curve["k"].isna().sum() == len(curve) - 1
    assert ((curve["depth"] >= 0) & (curve["depth"] < 1)).all()


def test_layer_detector_counts_count_the_units_over_threshold(fx):
    db, data = fx
    got = _frame(db, "SELECT run_id, method_id, method, model, site, layer, n_units, threshold, n_detectors "
                     "FROM layer_detector_counts")
    got = got[got["run_id"].isin(list(data.runs.values())) & got["method_id"].isin(list(data.method_ids.values()))]
    scores = data.scores[data.scores["method"].isin(list(DETECTOR_THRESHOLDS))]  # the view counts these methods only
    scores = scores.merge(data.neurons, left_on="neuron_id", right_on="id")
    scores["threshold"] = scores["method"].map({m: t for m, (t, _) in DETECTOR_THRESHOLDS.items()})
    scores["hit"] = scores["value"] >= scores["threshold"]
    want = (scores[scores["hit"]].groupby(["model", "method", "site", "layer"])["neuron_id"].nunique()
            .rename("want").reset_index())
    merged = got.merge(want, on=["model", "method", "site", "layer"], how="left").fillna({"want": 0})
    assert len(got) == len(scores.groupby(["model", "method", "site", "layer"]))
    assert (merged["n_detectors"] == merged["want"]).all()
    assert merged["n_detectors"].sum() > 0
    widths = data.neurons.groupby(["model", "site", "layer"]).size().rename("width").reset_index()
    merged = merged.merge(widths, on=["model", "site", "layer"])
    assert (merged["n_units"] == merged["width"]).all()


def test_neuron_score_names_the_score_view(fx):
    db, data = fx
    sql = ("SELECT neuron_id, value FROM neuron_score WHERE model = 'gpt2' AND method = 'ap' AND concept = 'noun' "
           f"AND run_id = {data.runs['gpt2']} AND method_id = {data.method_ids['ap']}")
    got = _frame(db, sql).set_index("neuron_id")["value"]
    want = data.scores[(data.scores["method"] == "ap") & (data.scores["concept"] == "noun")]
    want = want[want["neuron_id"].isin(data.neurons.loc[data.neurons["model"] == "gpt2", "id"])].set_index("neuron_id")["value"]
    got, want = got.dropna().astype(float), want.dropna()  # a missing score is NULL in the view, absent in the fixture
    assert len(want) > 0 and sorted(got.index) == sorted(want.index)
    assert np.allclose(got.sort_index(), want.sort_index())
