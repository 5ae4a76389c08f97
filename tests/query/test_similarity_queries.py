"""Cross-model search in the language (issue 16) against references read straight from the
fixture's correlation tables: which correlation a query reads (the latest complete one, never
the stale run's or the one still building), maxcorr / mincorr / linreg per neuron, joins with
concept scores, ``similar to``, ``layers of A vs B``, the neuron view's ``similar`` section and
the facade."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from atlas.store.tables import Correlation, Layer, LayerSimilarity, Neuron, NeuronSimilarity, Run, Similarity


def _latest(db: Any, a: str, b: str, site: str = "mlp") -> int:
    """The correlation a query must read: complete, over done runs, covering the site, newest."""
    from atlas.store.tables import Model

    with db.engine.connect() as conn:
        runs = {m: set(conn.execute(select(Run.id).join(Model, Model.id == Run.model_id)
                                    .where(Model.name == m, Run.status == "done")).scalars()) for m in (a, b)}
        rows = conn.execute(select(Correlation.id, Correlation.run_id, Correlation.other_run_id, Correlation.sites)
                            .where(Correlation.status == "complete")).all()
    ok = [cid for cid, ra, rb, sites in rows if site in sites.split(",")
          and ((ra in runs[a] and rb in runs[b]) or (ra in runs[b] and rb in runs[a]))]
    return max(ok)


def _per_neuron(db: Any, cid: int, method: str) -> pd.Series:
    with db.engine.connect() as conn:
        rows = conn.execute(select(NeuronSimilarity.neuron_id, NeuronSimilarity.value)
                            .where(NeuronSimilarity.correlation_id == cid, NeuronSimilarity.method == method)).all()
    return pd.Series({int(n): float(v) for n, v in rows})


def test_maxcorr_reads_the_latest_complete_correlation(fx: tuple[Any, Any]) -> None:
    db, data = fx
    cid = _latest(db, "bert", "gpt2")
    with db.engine.connect() as conn:
        statuses = dict(conn.execute(select(Correlation.id, Correlation.status)).all())
    assert statuses[cid] == "complete" and max(statuses) != cid  # a newer one is still building
    ref = _per_neuron(db, cid, "maxcorr")
    got = db.query("neurons in bert where maxcorr(gpt2) > 0.5 limit 10000")
    bert = data.neurons[(data.neurons["model"] == "bert") & (data.neurons["site"] == "mlp")]["id"]
    want = sorted(int(n) for n in bert if ref.get(int(n), 0) > 0.5)
    nid = {f"bert/mlp.{r.layer}/{r.unit}": int(r.id) for r in data.neurons[data.neurons["model"] == "bert"].itertuples()
           if r.site == "mlp"}
    assert sorted(nid[n] for n in got["neuron"]) == want
    assert np.allclose(got["maxcorr(gpt2)"].to_numpy(), [ref[nid[n]] for n in got["neuron"]])


def test_join_with_concept_scores(fx: tuple[Any, Any]) -> None:
    db, data = fx
    ref = _per_neuron(db, _latest(db, "bert", "gpt2"), "maxcorr")
    got = db.query("neurons in bert where maxcorr(gpt2) > 0.7 and ap(noun) > 0.5 limit 10000")
    ap = data.scores[(data.scores["method"] == "ap") & (data.scores["concept"] == "noun")].set_index("neuron_id")["value"]
    bert = data.neurons[(data.neurons["model"] == "bert") & (data.neurons["site"] == "mlp")]["id"].astype(int)
    want = sorted(n for n in bert if ref.get(n, 0) > 0.7 and ap.get(n, np.nan) > 0.5)
    assert len(got) == len(want) > 0


def test_mincorr_over_models_and_linreg(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    # minilm is correlated with gpt2 only: mincorr(*) = maxcorr(*) = maxcorr(gpt2)
    a = db.query("neurons in minilm where has maxcorr(gpt2) limit 10000")
    b = db.query("neurons in minilm where mincorr(*) >= 0 limit 10000")
    c = db.query("neurons in minilm where maxcorr(*) >= 0 limit 10000")
    assert a["maxcorr(gpt2)"].tolist() == b["mincorr(*)"].tolist() == c["maxcorr(*)"].tolist()
    # gpt2 is correlated with bert and minilm: mincorr(*) is the smaller of the two maxcorrs
    mb = _per_neuron(db, _latest(db, "gpt2", "bert"), "maxcorr")
    mm = _per_neuron(db, _latest(db, "gpt2", "minilm"), "maxcorr")
    got = db.query("neurons in gpt2 where mincorr(*) > 0.3 limit 10000")
    ids = {f"gpt2/mlp.{layer}/{unit}": int(n) for n, layer, unit in _units(db, "gpt2", "mlp")}
    want = sorted(n for n in ids.values() if min(mb[n], mm[n]) > 0.3)
    assert sorted(ids[x] for x in got["neuron"]) == want
    assert np.allclose(got["mincorr(*)"], [min(mb[ids[x]], mm[ids[x]]) for x in got["neuron"]])
    lin = db.query("neurons in gpt2 where linreg(*) > 0 limit 10000")
    lb = _per_neuron(db, _latest(db, "gpt2", "bert"), "linreg")
    lm = _per_neuron(db, _latest(db, "gpt2", "minilm"), "linreg")
    assert np.allclose(lin["linreg(*)"], [min(lb[ids[x]], lm[ids[x]]) for x in lin["neuron"]])


def _units(db: Any, model: str, site: str) -> list[tuple[int, int, int]]:
    from atlas.store.tables import Model

    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(Neuron.id, Neuron.layer, Neuron.unit).join(Model, Model.id == Neuron.model_id)
                                                 .where(Model.name == model, Neuron.site == site))]


def test_similar_to_lists_the_stored_partners(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    cid = _latest(db, "bert", "gpt2")
    [(nid, _, _)] = [u for u in _units(db, "bert", "mlp") if u[1:] == (11, 7)]
    with db.engine.connect() as conn:
        rows = conn.execute(select(Similarity.other_neuron_id, Similarity.value).where(Similarity.correlation_id == cid,
                                                                                       Similarity.neuron_id == nid)).all()
    names = {n: f"gpt2/mlp.{layer}/{unit}" for n, layer, unit in _units(db, "gpt2", "mlp")}
    want = [names[o] for o, v in sorted(rows, key=lambda r: -abs(r[1]))]
    got = db.similar("bert/mlp.11/7", "gpt2", limit=2)
    assert got["neuron"].tolist() == want[:2]
    assert db.query("similar to bert/mlp.11/7")["neuron"].tolist() == want
    assert (got["abs"] == got["value"].abs()).all()


def test_layer_matrix(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    cid = _latest(db, "minilm", "gpt2", "resid")
    with db.engine.connect() as conn:
        rows = conn.execute(select(Layer.index, LayerSimilarity.other_layer_id, LayerSimilarity.value)
                            .join(Layer, Layer.id == LayerSimilarity.layer_id)
                            .where(LayerSimilarity.correlation_id == cid, LayerSimilarity.method == "pwcca",
                                   Layer.site == "resid")).all()
        index = dict(conn.execute(select(Layer.id, Layer.index)).all())
        model_of = dict(conn.execute(select(Layer.id, Layer.model_id)).all())
        minilm = conn.execute(select(Layer.model_id).join(Neuron, Neuron.layer_id == Layer.id)).first()
    got = db.layer_similarity("minilm", "gpt2", "pwcca", site="resid")
    assert list(got.columns) == ["layer"] + [f"gpt2.{i}" for i in range(6)]
    gpt2_layers = {lid for lid, m in model_of.items() if m == 2}
    for layer, other, value in rows:
        if other in gpt2_layers:
            assert got.loc[got["layer"] == layer, f"gpt2.{index[other]}"].item() == pytest.approx(value)
    assert minilm is not None
    small = db.query("layers of minilm vs gpt2 layer < 2 by maxcorr")
    assert small.shape == (2, 3)


def test_neuron_view_similar_section(fx: tuple[Any, Any]) -> None:
    db, _ = fx
    part = db.neuron("gpt2/mlp.1/3")["similar"]
    assert set(part["model"]) == {"bert", "minilm"}  # gpt2 is correlated with both
    assert (part.groupby("model").size() == 3).all()
    for _, rows in part.groupby("model"):
        assert rows["abs"].is_monotonic_decreasing
    assert db.neuron("minilm/resid.0/1")["similar"]["model"].tolist() == ["gpt2"] * 3
