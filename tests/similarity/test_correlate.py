"""End to end: extract tiny models over one corpus, correlate them, read what was stored."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from atlas.errors import AtlasError
from atlas.extract.job import extract
from atlas.similarity.job import correlate
from atlas.store.tables import ActivationFile, Correlation, Layer, LayerSimilarity, Neuron, NeuronSimilarity, Similarity
from tests.extract.helpers import make_sentences, store_corpus


def _array(db, run_id: int, site: str, layer: int) -> np.ndarray:
    with db.engine.connect() as conn:
        rel = conn.execute(
            select(ActivationFile.path).join(Layer, Layer.id == ActivationFile.layer_id)
            .where(ActivationFile.run_id == run_id, Layer.site == site, Layer.index == layer)
        ).scalar_one()
    return np.asarray(db.store.open(rel), dtype=np.float64)


def _units(db, model: str) -> dict[int, tuple[str, int, int]]:
    from atlas.store.tables import Model

    with db.engine.connect() as conn:
        rows = conn.execute(select(Neuron.id, Neuron.site, Neuron.layer, Neuron.unit).join(Model, Model.id == Neuron.model_id)
                            .where(Model.name == model)).all()
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _extract(db, folder, name: str) -> int:
    return extract(db, str(folder), corpus="t", name=name, sites="mlp,resid", batch_size=8, progress=False)


def test_permuted_mlp_units_are_found(db, tmp_path, tiny) -> None:
    """A function-preserving permutation of the MLP units: every unit's top partner is its
    permuted self with |r| = 1; CKA of every layer with its counterpart is 1."""
    store_corpus(db, "t", make_sentences(40, seed=4), tmp_path)
    _extract(db, tiny("bert"), "b")
    _extract(db, tiny("bert-permuted"), "bp")
    perms = tiny.perms
    out = correlate(db, "b", "bp", progress=False, top_k=3, block=37)
    assert out["layer_pairs"] == 8 and out["resumed_pairs"] == 0
    ua, ub = _units(db, "b"), _units(db, "bp")
    with db.engine.connect() as conn:
        top = conn.execute(select(Similarity.neuron_id, Similarity.other_neuron_id, Similarity.value)
                           .where(Similarity.rank == 0)).all()
        maxcorr = conn.execute(select(NeuronSimilarity.neuron_id, NeuronSimilarity.value)
                               .where(NeuronSimilarity.method == "maxcorr")).all()
        layers = conn.execute(select(LayerSimilarity.layer_id, LayerSimilarity.other_layer_id, LayerSimilarity.value)
                              .where(LayerSimilarity.method == "cka")).all()
        lids = dict(conn.execute(select(Layer.id, Layer.index)).all())
    assert len(top) == len(ua) + len(ub)
    for nid, oid, value in top:
        if nid in ua and ua[nid][0] == "mlp":
            site, layer, unit = ua[nid]
            assert ub[oid] == ("mlp", layer, int(np.argsort(perms[layer])[unit]))
        elif nid in ua:  # resid dims are untouched by the permutation
            assert ub[oid] == ua[nid]
        assert value == pytest.approx(1.0, abs=1e-4)
    assert len(maxcorr) == len(ua) + len(ub) and all(v == pytest.approx(1.0, abs=1e-4) for _, v in maxcorr)
    same = [v for la, lb, v in layers if lids[la] == lids[lb]]
    assert len(same) == 8 and all(v == pytest.approx(1.0, abs=1e-5) for v in same)


def test_self_correlation_and_corrcoef(db, tmp_path, tiny) -> None:
    """A run with itself: CKA 1 on every layer's diagonal; every stored value equals np.corrcoef."""
    store_corpus(db, "t", make_sentences(30, seed=5), tmp_path)
    run = _extract(db, tiny("bert"), "b")
    correlate(db, "b", "b", sites="mlp", progress=False, top_k=4)
    acts = np.concatenate([_array(db, run, "mlp", 0), _array(db, run, "mlp", 1)], axis=1)
    ref = np.corrcoef(acts.T)
    width = acts.shape[1] // 2
    units = _units(db, "b")
    with db.engine.connect() as conn:
        rows = conn.execute(select(Similarity.neuron_id, Similarity.other_neuron_id, Similarity.value, Similarity.rank)).all()
        cka = conn.execute(select(LayerSimilarity.layer_id, LayerSimilarity.other_layer_id, LayerSimilarity.value)
                           .where(LayerSimilarity.method == "cka")).all()
    assert len(rows) == 2 * width * 4
    col = {nid: layer * width + unit for nid, (_, layer, unit) in units.items()}
    for nid, oid, value, rank in rows:
        assert value == pytest.approx(ref[col[nid], col[oid]], abs=1e-5)
        if rank == 0:
            assert oid == nid  # itself, r = 1
    assert len(cka) == 4
    assert all(v == pytest.approx(1.0, abs=1e-9) for la, lb, v in cka if la == lb)
    assert all(v < 0.999 for la, lb, v in cka if la != lb)


def test_cross_architecture(db, tmp_path, tiny) -> None:
    """Tiny BERT, GPT-2 and Llama over one corpus (different tokenizers, the same words)."""
    store_corpus(db, "t", make_sentences(30, seed=6), tmp_path)
    runs = {f: _extract(db, tiny(f), f) for f in ("bert", "gpt2", "llama")}
    correlate(db, "bert", "gpt2", progress=False)
    out = correlate(db, "bert", "llama", sites="mlp", progress=False, top_k=2)
    bert = np.concatenate([_array(db, runs["bert"], "mlp", i) for i in (0, 1)], axis=1)
    llama = np.concatenate([_array(db, runs["llama"], "mlp", i) for i in (0, 1)], axis=1)
    ref = np.corrcoef(bert.T, llama.T)[: bert.shape[1], bert.shape[1]:]
    ub, ul = _units(db, "bert"), _units(db, "llama")
    col_b = {nid: layer * (bert.shape[1] // 2) + unit for nid, (site, layer, unit) in ub.items() if site == "mlp"}
    col_l = {nid: layer * (llama.shape[1] // 2) + unit for nid, (site, layer, unit) in ul.items() if site == "mlp"}
    with db.engine.connect() as conn:
        sims = conn.execute(select(Similarity.neuron_id, Similarity.other_neuron_id, Similarity.value, Similarity.rank)
                            .where(Similarity.correlation_id == out["correlation_id"])).all()
        per = conn.execute(select(NeuronSimilarity.neuron_id, NeuronSimilarity.method, NeuronSimilarity.value)
                           .where(NeuronSimilarity.correlation_id == out["correlation_id"])).all()
        n_corr = conn.execute(select(Correlation.id).where(Correlation.status == "complete")).all()
    assert len(n_corr) == 2
    assert len(sims) == 2 * (len(col_b) + len(col_l))
    for nid, oid, value, rank in sims:
        if nid in col_b:
            assert value == pytest.approx(ref[col_b[nid], col_l[oid]], abs=1e-5)
            if rank == 0:  # the best partner over every llama layer
                assert abs(value) == pytest.approx(np.abs(ref[col_b[nid]]).max(), abs=1e-5)
        else:
            assert value == pytest.approx(ref[col_b[oid], col_l[nid]], abs=1e-5)
            if rank == 0:
                assert abs(value) == pytest.approx(np.abs(ref[:, col_l[nid]]).max(), abs=1e-5)
    maxcorr = {n: v for n, m, v in per if m == "maxcorr"}
    assert set(maxcorr) == set(col_b) | set(col_l)
    assert all(0 <= v <= 1 for n, m, v in per if m == "linreg")
    assert all(maxcorr[n] == pytest.approx(np.abs(ref[col_b[n]]).max(), abs=1e-5) for n in col_b)


def test_mismatched_runs_are_errors(db, tmp_path, tiny) -> None:
    store_corpus(db, "t", make_sentences(10, seed=1), tmp_path)
    store_corpus(db, "u", make_sentences(10, seed=2), tmp_path)
    _extract(db, tiny("bert"), "b")
    extract(db, str(tiny("bert")), corpus="u", name="c", sites="mlp", progress=False)
    with pytest.raises(AtlasError, match="different corpora .'t', 'u'.*atlas extract MODEL --corpus t"):
        correlate(db, "b", "c", progress=False)
    with pytest.raises(AtlasError, match="run 2 has no resid layers"):
        correlate(db, "c", "c", sites="resid", progress=False)
    with pytest.raises(AtlasError, match="no model named 'bb'"):
        correlate(db, "b", "bb", progress=False)


def test_killed_job_resumes_to_the_same_rows(db, tmp_path, tiny, monkeypatch) -> None:
    """Interrupted after two layer pairs: the previous complete correlation stays the one
    queries see; the rerun computes only the missing pairs and ends with the same rows."""
    import atlas.similarity.job as job

    store_corpus(db, "t", make_sentences(20, seed=8), tmp_path)
    _extract(db, tiny("bert"), "b")
    _extract(db, tiny("bert-permuted"), "bp")
    first = correlate(db, "b", "bp", progress=False, top_k=2)

    def rows(cid: int) -> list[tuple]:
        with db.engine.connect() as conn:
            sims = conn.execute(select(Similarity.neuron_id, Similarity.other_neuron_id, Similarity.rank, Similarity.value)
                                .where(Similarity.correlation_id == cid).order_by(Similarity.neuron_id, Similarity.rank)).all()
            per = conn.execute(select(NeuronSimilarity.method, NeuronSimilarity.neuron_id, NeuronSimilarity.value)
                               .where(NeuronSimilarity.correlation_id == cid)
                               .order_by(NeuronSimilarity.method, NeuronSimilarity.neuron_id)).all()
            lay = conn.execute(select(LayerSimilarity.method, LayerSimilarity.layer_id, LayerSimilarity.other_layer_id,
                                      LayerSimilarity.value).where(LayerSimilarity.correlation_id == cid)
                               .order_by(LayerSimilarity.method, LayerSimilarity.layer_id, LayerSimilarity.other_layer_id)).all()
        return [tuple(r) for r in sims + per + lay]

    before = rows(first["correlation_id"])
    real, calls = job._pair, []

    def dying(*args, **kwargs):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(job, "_pair", dying)
    with pytest.raises(KeyboardInterrupt):
        correlate(db, "b", "bp", progress=False, top_k=2)
    with db.engine.connect() as conn:
        status = dict(conn.execute(select(Correlation.id, Correlation.status)).all())
    assert status == {first["correlation_id"]: "complete", first["correlation_id"] + 1: "building"}
    monkeypatch.setattr(job, "_pair", real)
    again = correlate(db, "b", "bp", progress=False, top_k=2)
    assert again["correlation_id"] == first["correlation_id"] + 1 and again["resumed_pairs"] == 2
    with db.engine.connect() as conn:
        assert dict(conn.execute(select(Correlation.id, Correlation.status)).all()) == {again["correlation_id"]: "complete"}
    assert rows(again["correlation_id"]) == before
    assert not db.store.path(f"similarity/{again['correlation_id']}").exists()


def test_cli_correlate_and_list(db, tmp_path, tiny, capsys) -> None:
    from atlas.cli import main

    store_corpus(db, "t", make_sentences(12, seed=3), tmp_path)
    _extract(db, tiny("bert"), "b")
    _extract(db, tiny("bert-permuted"), "bp")
    opts = ["--db", db.url, "--store", str(db.store.root)]
    assert main(["correlate", "b", "bp", "--sites", "mlp", "--top", "2", "-q", *opts]) == 0
    out = capsys.readouterr().out
    assert "correlation 1: b (run 1) x bp (run 2), sites mlp: 4 layer pairs" in out
    assert main(["correlate", "--list", *opts]) == 0
    assert "complete" in capsys.readouterr().out
    assert main(["correlate", "b", "nope", *opts]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no model named 'nope'") and "Traceback" not in err
    frame = db.correlations()
    assert frame[["model", "other_model", "sites", "status", "top_k"]].values.tolist() == [["b", "bp", "mlp", "complete", 2]]
