"""Every family: stored activations equal plain ``transformers`` forward passes (float16 tolerance)."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from atlas.extract.job import extract, resolve_run
from atlas.store.tables import ActivationFile, Layer, Model, Neuron

from .conftest import FAMILIES
from .helpers import corpus_words, make_sentences, reference_vectors, store_corpus


def _array(db, run_id: int, site: str, layer: int) -> np.ndarray:
    with db.engine.connect() as conn:
        rel = conn.execute(
            select(ActivationFile.path).join(Layer, Layer.id == ActivationFile.layer_id)
            .where(ActivationFile.run_id == run_id, Layer.site == site, Layer.index == layer)
        ).scalar_one()
    return np.asarray(db.store.open(rel))


@pytest.mark.parametrize("family", FAMILIES)
def test_family_matches_plain_transformers(db, tmp_path, tiny_model, family: str) -> None:
    folder = tiny_model(family)
    cid = store_corpus(db, "t", make_sentences(9, seed=1), tmp_path)
    run_id = extract(db, str(folder), corpus="t", name=family, sites="mlp,resid,embed", batch_size=4,
                     progress=False, chunk_words=30)
    words = corpus_words(db, cid)
    # GPT-2, Llama and T5 apply a final norm to their last hidden state: compare resid there
    # on the blocks before; the mlp site is checked on every block.
    n_layers = 2
    final_norm = family in ("gpt2", "llama", "t5")
    for layer in range(n_layers):
        got = _array(db, run_id, "mlp", layer).astype(np.float32)
        ref = reference_vectors(folder, family, words, site="mlp", layer=layer)
        np.testing.assert_allclose(got, ref, rtol=1e-2, atol=2e-3)
        if not (final_norm and layer == n_layers - 1):
            got = _array(db, run_id, "resid", layer).astype(np.float32)
            ref = reference_vectors(folder, family, words, site="resid", layer=layer)
            np.testing.assert_allclose(got, ref, rtol=1e-2, atol=2e-3)
    got = _array(db, run_id, "embed", 0).astype(np.float32)
    ref = reference_vectors(folder, family, words, site="embed", layer=0)
    np.testing.assert_allclose(got, ref, rtol=1e-2, atol=2e-3)
    with db.engine.connect() as conn:
        model = conn.execute(select(Model.family, Model.n_layers, Model.d_mlp).where(Model.name == family)).one()
        layers = conn.execute(select(Layer.site, Layer.index, Layer.width, Layer.hook_point, Layer.activation)).all()
        n_neurons = conn.execute(select(Neuron.id)).all()
    assert model.n_layers == 2
    assert {(row.site, row.index) for row in layers} == {("embed", 0), ("mlp", 0), ("mlp", 1), ("resid", 0), ("resid", 1)}
    assert len(n_neurons) == sum(row.width for row in layers)
    assert all(row.activation == "post" for row in layers if row.site == "mlp")
    assert resolve_run(db, family).id == run_id


@pytest.mark.parametrize("aggregation", ["first", "last"])
def test_first_and_last_aggregation(db, tmp_path, tiny_model, aggregation: str) -> None:
    folder = tiny_model("bert")
    cid = store_corpus(db, "t", make_sentences(6, seed=2), tmp_path)
    run_id = extract(db, str(folder), corpus="t", name="b", sites="mlp", layers="1", aggregation=aggregation,
                     progress=False)
    words = corpus_words(db, cid)
    ref = reference_vectors(folder, "bert", words, site="mlp", layer=1, aggregation=aggregation)
    np.testing.assert_allclose(_array(db, run_id, "mlp", 1).astype(np.float32), ref, rtol=1e-2, atol=2e-3)
    mean_ref = reference_vectors(folder, "bert", words, site="mlp", layer=1, aggregation="mean")
    assert not np.allclose(ref, mean_ref, atol=1e-2)  # the corpus has multi-subword words


def test_long_sentences_use_windows(db, tmp_path, tiny_model) -> None:
    """max_position_embeddings=16: sentences of up to ~60 subwords go through several windows."""
    from transformers import AutoTokenizer

    from atlas.extract.align import plan_windows, special_tokens, subwords

    folder = tiny_model("bert", max_positions=16)
    sentences = make_sentences(5, seed=3, min_len=16, max_len=25) + [["cat", "sat"]]
    cid = store_corpus(db, "t", sentences, tmp_path)
    run_id = extract(db, str(folder), corpus="t", name="b16", sites="mlp,resid", progress=False, batch_size=3)
    words = corpus_words(db, cid)
    tok = AutoTokenizer.from_pretrained(folder)
    prefix, suffix = special_tokens(tok)
    budget = 16 - len(prefix) - len(suffix)
    windows = [plan_windows([len(x) for x in ids], budget, budget // 2) for ids in subwords(tok, words)]
    assert sum(len(w) > 1 for w in windows) >= 5  # the long ones really are split
    for site in ("mlp", "resid"):
        got = _array(db, run_id, site, 1).astype(np.float32)
        ref = reference_vectors(folder, "bert", words, site=site, layer=1, windows=windows)
        np.testing.assert_allclose(got, ref, rtol=1e-2, atol=2e-3)
        assert (np.abs(got).sum(axis=1) > 0).all()  # no word left out
    prov = resolve_run(db, run_id).provenance
    assert prov["plan"]["n_split_sentences"] >= 5 and prov["max_length"] == 16
