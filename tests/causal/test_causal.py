"""Causal methods on tiny models with a planted neuron (tests/causal/planted.py): ablation and
attribution rank it first, batched ablation equals one neuron at a time, integrated gradients
are complete, top-k ablation hurts more than random-k and bottom-k, the scores are score sets
the query language and the neuron view read, curves are stored and replaced."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from atlas.causal.ablation import ablate_neurons, ablation_curves
from atlas.causal.attribution import integrated_gradients
from atlas.causal.model import encode, load_causal_model
from atlas.errors import MethodError

from .planted import PLANTED, build_encoder, build_gpt2, planted_atlas

SMALL = {"sentences": 16, "probe_sentences": 48, "progress": False}


def _column(res, method, concept="noun", layer=("mlp", 0)):
    return res["scores"][method][layer][:, res["concepts"].index(concept)]


def test_lm_ablation_ranks_the_planted_neuron_first_and_is_queryable(db, tmp_path) -> None:
    name = planted_atlas(db, tmp_path, "gpt2")
    res = db.ablate_neurons(name, concepts="noun,verb", group=8, **SMALL)
    assert res["objective"] == "clm" and set(res["methods"]) == {"ablation", "ablation_loss", "ablation_embedding"}
    for method in ("ablation", "ablation_loss", "ablation_embedding"):
        col = _column(res, method)
        assert int(np.nanargmax(col)) == PLANTED, (method, col)
        other = np.nanmax(res["scores"][method][("mlp", 1)][:, 0])  # no unit of layer 1 comes close
        assert col[PLANTED] > 3 * max(np.nanmax(np.delete(col, PLANTED)), other, 1e-6)
    # integrated gradients to the gold words' log-probability single it out as well
    att = db.attribute(name, concepts="noun", layers=[0, 1], steps=16, **SMALL)
    assert att["target"] == "logprob"
    col = att["scores"][("mlp", 0)][:, 0]
    others = max(np.abs(np.delete(col, PLANTED)).max(), np.abs(att["scores"][("mlp", 1)][:, 0]).max())
    assert int(np.argmax(col)) == PLANTED and col[PLANTED] > 100 * max(others, 1e-9)
    # the nouns' loss rises, the verbs' much less (the planted unit raises the noun logits)
    assert _column(res, "ablation_loss")[PLANTED] > 2 * _column(res, "ablation_loss", "verb")[PLANTED]
    top = db.query(f"neurons in {name} where ablation_loss(noun) > 0.01 order by ablation_loss(noun) desc limit 1")
    assert top["neuron"].tolist() == [f"{name}/mlp.0/{PLANTED}"]
    both = db.query(f"neurons in {name} where has ablation(noun) and ablation(noun) > 0.05")
    assert f"{name}/mlp.0/{PLANTED}" in both["neuron"].tolist()
    view = db.neuron(f"{name}/mlp.0/{PLANTED}")
    causal = view["causal"]
    assert set(causal["method"]) == {"ablation", "ablation_loss", "ablation_embedding", "attribution"}
    assert not set(view["concepts"]["method"]) & set(causal["method"])
    row = causal[(causal["method"] == "ablation_loss") & (causal["concept"] == "noun")]
    assert float(row["value"].iloc[0]) == pytest.approx(_column(res, "ablation_loss")[PLANTED], rel=1e-5)


def test_batched_ablation_equals_one_neuron_at_a_time(db, tmp_path) -> None:
    name = planted_atlas(db, tmp_path, "gpt2")
    kw = {**SMALL, "concepts": ["noun"], "layers": [0, 1], "write": False, "sentences": 12}
    one = ablate_neurons(db, name, group=1, **kw)
    many = ablate_neurons(db, name, group=5, **kw)  # 16 units: groups of 5, 5, 5, 1; fanned out at the layer
    tiled = ablate_neurons(db, name, group=5, fan_out=False, **kw)  # the whole tiled batch through every block
    for m in one["scores"]:
        for layer in (("mlp", 0), ("mlp", 1)):
            np.testing.assert_allclose(many["scores"][m][layer], one["scores"][m][layer], atol=2e-5)
            np.testing.assert_allclose(tiled["scores"][m][layer], one["scores"][m][layer], atol=2e-5)
    mean = ablate_neurons(db, name, group=4, value="mean", **kw)  # each unit clamped to its own mean
    assert not np.allclose(mean["scores"]["ablation_loss"][("mlp", 0)], one["scores"]["ablation_loss"][("mlp", 0)])
    with pytest.raises(MethodError, match="zero, mean or a number"):
        ablate_neurons(db, name, group=4, value="half", **kw)


def test_encoder_attribution_and_curves(db, tmp_path) -> None:
    name = planted_atlas(db, tmp_path, "encoder")
    res = db.ablate_neurons(name, concepts="noun", layers=[0], **SMALL)
    assert res["objective"] is None and "ablation_loss" not in res["methods"]
    for method in ("ablation", "ablation_embedding"):  # the output probe and the sentence embedding
        col = _column(res, method)
        assert int(np.nanargmax(col)) == PLANTED, (method, col)
        assert col[PLANTED] > 100 * max(np.nanmax(np.abs(np.delete(col, PLANTED))), 1e-6)
    assert _column(res, "ablation")[PLANTED] > 0.4  # without it the probe is near chance (0.5 drop)
    att = db.attribute(name, concepts="noun", layers=[0], steps=16, **SMALL)
    assert att["target"] == "probe"
    col = att["scores"][("mlp", 0)][:, 0]
    assert int(np.argmax(np.abs(col))) == PLANTED
    top = db.query(f"neurons in {name} where has attribution(noun) order by attribution(noun) desc limit 1")
    assert top["unit"].tolist() == [PLANTED] or col[PLANTED] < 0
    # curves: the planted unit is meandiff(noun)'s best neuron (ap ties: every unit of layer 0 separates nouns)
    db.score(name, methods="meandiff", concepts="noun", progress=False)
    curve = db.ablate(name, ranking="meandiff(noun)", k=[1, 3], sentences=16, probe_sentences=48, repeats=3)
    emb = curve[curve["metric"] == "embedding"].set_index(["selection", "k"])["value"]
    acc = curve[curve["metric"] == "accuracy"].set_index(["selection", "k"])["value"]
    assert acc[("none", 0)] > 0.9  # the probe of the (unablated) output
    for k in (1, 3):
        assert emb[("top", k)] > 5 * max(emb[("random", k)], emb[("bottom", k)], 1e-6)
        assert acc[("top", k)] < 0.6 and acc[("bottom", k)] > 0.9 and acc[("random", k)] > acc[("top", k)]
    # a set of neurons clamped in one copy of the tiled batch changes that copy's sentences only
    from atlas.causal.ablation import _set_interventions
    from atlas.causal.sample import build_sample, measure
    from atlas.store.runs import find_run

    run = find_run(db, name)
    sample = build_sample(db, load_causal_model(str(tmp_path / "model-encoder")), run.corpus_id, concepts=["noun"],
                          sentences=16, probe_sentences=48)
    sets = [{"layer": [0], "unit": [u], "neuron_id": [u]} for u in (1, 2, PLANTED, 3)]
    import pandas as pd

    n = sample.batches[0].n_items
    ivs = _set_interventions("mlp", [pd.DataFrame(x) for x in sets], dict.fromkeys((1, 2, PLANTED, 3), 0.0), n)
    dist = measure(sample, 0, 4, ivs)["emb_all"] / n
    assert dist[2] > 0.01 and max(abs(dist[0]), abs(dist[1]), abs(dist[3])) < 1e-3 * dist[2]
    assert emb[("top", 1)] == pytest.approx(dist[2], rel=1e-4)
    stored = ablation_curves(db, name)
    assert len(stored) == len(curve) and set(stored["selection"]) == {"none", "top", "random", "bottom"}
    db.ablate(name, ranking="meandiff(noun)", k=[1, 3], sentences=16, probe_sentences=48, repeats=3)  # replaces
    assert len(db.ablation_curves(name, "meandiff(noun)")) == len(curve)
    with pytest.raises(MethodError, match="no complete score set of selectivity"):
        db.ablate(name, ranking="selectivity(noun)", k=[1])


def test_ablate_command_line(db, tmp_path, capsys) -> None:
    from atlas.cli import main

    name = planted_atlas(db, tmp_path, "encoder")
    db.score(name, methods="ap", concepts="noun", progress=False)
    where = ["--db", db.engine.url.render_as_string(hide_password=False), "--store", str(db.store.root)]
    small = ["--sentences", "16", "--probe-sentences", "48"]
    assert main(["ablate", "--run", name, "--ranking", "ap(noun)", "--k", "1,2", "--repeats", "2", *small, *where]) == 0
    out = capsys.readouterr().out
    assert "ablation curve of ap(noun)" in out and "bottom" in out and "soft_accuracy" in out
    assert "random_std" in out and "concept_loss" not in out  # a wide table; an encoder has no LM loss
    assert main(["ablate", "--run", name, "--show", "--plot", str(tmp_path / "c.svg"), *where]) == 0
    assert "random" in capsys.readouterr().out
    svg = (tmp_path / "c.svg").read_text()
    assert svg.startswith("<svg") and "ap(noun): accuracy" in svg and "ap(noun): loss" not in svg  # an encoder: no LM loss
    code = main(["ablate", "--run", name, "--neurons", "--layers", "1", "--concepts", "noun", "-q", *small, *where])
    assert code == 0 and "stored ablation(c), ablation_embedding(c)" in capsys.readouterr().out
    assert len(db.query(f"neurons in {name} layer = 1 where has ablation(noun)")) == 16
    bad = {("--ranking", "ap(noun", "--k", "1"): "is not METHOD(CONCEPT)",
           ("--ranking", "ap(noun)", "--k", "abc"): "is not a comma-separated list of neuron counts",
           ("--ranking", "ap(nuon)", "--k", "1"): "unknown concept 'nuon' in ranking ap(nuon) (did you mean 'noun'?)",
           ("--ranking", "ap(noun)", "--k", "1", "--sentences", "0"): "sentences = 0: it must be at least 1",
           ("--neurons", "--layers", "0", "--probe-sentences", "0"): "the output probes need sentences to train on"}
    for args, message in bad.items():
        assert main(["ablate", "--run", name, *args, *where]) == 1
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, (args, err)


def test_integrated_gradients_are_complete(tmp_path) -> None:
    """Σ attributions = F(h) − F(0): the gap falls with the steps (the planted unit makes F
    steep near 0 on mlp.0) and is within 0.2 % at 64 steps."""
    cm = load_causal_model(str(build_encoder(tmp_path / "enc")))
    enc = encode(cm, [["the", "big", "dog", "sees", "a", "cat", "."], ["a", "bird", "does", "not", "run", "."]])

    def target(hidden: torch.Tensor) -> torch.Tensor:
        return (hidden[..., :4] ** 2).sum((1, 2)) * 0.1 + hidden[..., 1].sum(1)

    gaps = []
    for steps in (4, 64):
        attr, full, base = integrated_gradients(cm, enc.input_ids, enc.attention_mask, "mlp", 0, target, steps)
        gaps.append(float((attr.sum(1) - (full - base)).abs().max() / (full - base).abs().max()))
    assert gaps[1] < 0.002 and gaps[0] > 5 * gaps[1], gaps
    attr, full, base = integrated_gradients(cm, enc.input_ids, enc.attention_mask, "mlp", 1, target, 8)
    np.testing.assert_allclose(attr.sum(1).numpy(), (full - base).numpy(), rtol=1e-3, atol=1e-4)


def test_steer_shows_the_output_before_and_after(db, tmp_path, capsys) -> None:
    from atlas.cli import main

    name = planted_atlas(db, tmp_path, "gpt2")
    frame = db.steer(f"{name}/mlp.0/{PLANTED}", value=0.0, text="the big", top=5)
    assert frame.attrs["kind"] == "predictions" and len(frame) == 5
    assert frame["p_before"].tolist() != frame["p_after"].tolist()
    enc_name = planted_atlas(db, tmp_path, "encoder")
    shift = db.steer([f"{enc_name}/mlp.0/{PLANTED}"], scale=0.0, text="the dog sees a cat .", compare=["a bird runs ."])
    assert shift.attrs["kind"] == "embedding" and shift["after"].iloc[0] < 0.999
    url = db.engine.url.render_as_string(hide_password=False)
    store = str(db.store.root)
    code = main(["steer", f"{enc_name}/mlp.0/{PLANTED}", "--set", "0", "--text", "the dog .", "--db", url, "--store", store])
    out = capsys.readouterr().out
    assert code == 0 and "(itself)" in out and "shift" in out
    code = main(["steer", f"{enc_name}/mlp.9/{PLANTED}", "--set", "0", "--text", "x", "--db", url, "--store", store])
    err = capsys.readouterr().err
    assert code == 1 and "has no neuron mlp.9/5" in err and "Traceback" not in err
    code = main(["steer", f"{enc_name}/mlp.0/{PLANTED}", "--set", "nan", "--text", "x", "--db", url, "--store", store])
    assert code == 1 and "--set nan: give a finite number" in capsys.readouterr().err
    assert not shift.attrs["warnings"]  # a text that fits the window
    long = db.steer(f"{enc_name}/mlp.0/{PLANTED}", value=0.0, text="the dog . " * 40)  # the window is 64 tokens
    assert long.attrs["warnings"] == ["--text is 122 tokens: only the model's first 64 were read"]


def test_lm_head_is_found_and_kept_apart(tmp_path) -> None:
    cm = load_causal_model(str(build_gpt2(tmp_path / "g")))
    assert cm.objective == "clm" and cm.head is not None
    enc = encode(cm, [["the", "dog", "runs", "."], ["a", "cat", "."]])
    # this tokenizer puts [CLS] first, so every word has a prefix to be predicted from
    assert enc.lm_word is not None and enc.lm_word.all() and enc.n_words == 7
    assert enc.word_item.tolist() == [0, 0, 0, 0, 1, 1, 1]


def test_masked_lm_objective(tmp_path) -> None:
    """A BERT with an MLM head: a seeded 15 % of the words masked (at least one per sentence),
    losses on those words only, clamping a unit moves them; steering predicts at [MASK]."""
    from atlas.causal.model import tile, word_log_probs
    from atlas.extract.runner import Intervention

    from .planted import build_mlm

    cm = load_causal_model(str(build_mlm(tmp_path / "mlm")))
    assert cm.objective == "mlm"
    sents = [["the", "big", "dog", "sees", "a", "cat", "."], ["a", "bird", "runs", "."]]
    enc = encode(cm, sents, mask_seed=3)
    assert enc.masked_ids is not None and enc.lm_word is not None
    assert enc.lm_word[:7].sum() >= 1 and enc.lm_word[7:].sum() >= 1
    n_masked = int((enc.masked_ids == cm.loaded.tokenizer.mask_token_id).sum())
    assert n_masked == int(enc.lm_word.sum())  # one word piece each here
    assert torch.equal(encode(cm, sents, mask_seed=3).masked_ids, enc.masked_ids)  # seeded
    ids, mask = tile(enc, 1, masked=True)
    lp = word_log_probs(cm, cm.hidden(ids, mask), enc, 1)
    assert (lp[torch.from_numpy(~enc.lm_word)] == 0).all() and (lp[torch.from_numpy(enc.lm_word)] < 0).all()
    with cm.runner.intervene([Intervention("mlp", 1, units=list(range(16)), value=0.0)]):
        lp2 = word_log_probs(cm, cm.hidden(ids, mask), enc, 1)
    assert not torch.allclose(lp, lp2)
    # fanned out at the clamped layer: the same word vectors, embeddings and masked-LM losses as the tiled batch
    from atlas.causal.sample import _outputs

    n = enc.n_items
    ivs = [Intervention("mlp", 1, units=[u for u in (2, 9, 14) for _ in range(n)], items=list(range(3 * n)), value=0.0)]
    with cm.runner.intervene(ivs):
        tiled = _outputs(cm, enc, 3)
    with cm.runner.intervene(ivs, copies=3, batch=n):
        fanned = _outputs(cm, enc, 3, fanned=True)
    for a, b in zip(tiled, fanned):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert not torch.equal(tiled[0][: enc.n_words], tiled[0][enc.n_words : 2 * enc.n_words])  # each copy its own unit


def test_ranking_ties_are_broken_in_a_seeded_order_not_by_layer(db, tmp_path) -> None:
    """A ranking whose values all tie (a probe's zero weights): its last k are not all the last
    layer's units (whose ablation moves the output most), and the order is seeded."""
    from atlas.causal.ablation import ranking_values
    from atlas.methods import registry
    from atlas.methods.job import _activation_files, method_row
    from atlas.store import scores
    from atlas.store.runs import find_run
    from atlas.store.tables import Concept
    from sqlalchemy import select

    name = planted_atlas(db, tmp_path, "encoder")
    run = find_run(db, name)
    with db.write() as conn:
        cid = conn.execute(select(Concept.id).where(Concept.name == "noun")).scalar_one()
        set_id = scores.open_sets(conn, run.id, method_row(conn, registry.get("meandiff"), {}), [cid])[0]
        for f in _activation_files(db, run.id):
            if f["site"] == "mlp":
                scores.write_layer(conn, [set_id], f["layer_id"], np.zeros((f["width"], 1)))
        scores.complete_sets(conn, [set_id])
    frame, _ = ranking_values(db, run.id, "meandiff(noun)", "mlp", seed=0)
    assert len(frame) == 32 and set(frame["layer"].iloc[-8:]) == {0, 1}
    again, _ = ranking_values(db, run.id, "meandiff(noun)", "mlp", seed=0)
    other, _ = ranking_values(db, run.id, "meandiff(noun)", "mlp", seed=1)
    assert again[["layer", "unit"]].equals(frame[["layer", "unit"]]) and not other[["layer", "unit"]].equals(frame[["layer", "unit"]])


def test_atlas_score_points_causal_methods_to_their_commands(db, tmp_path) -> None:
    """``atlas score --methods ablation`` cannot compute a causal score: the error says which command does."""
    name = planted_atlas(db, tmp_path, "encoder")
    with pytest.raises(MethodError, match="causal method") as err:
        db.score(name, methods="ablation", progress=False)
    assert "compute it with: atlas ablate --run RUN --neurons" in err.value.hint
    with pytest.raises(MethodError) as err:
        db.score(name, methods="attribution", progress=False)
    assert "compute it with: atlas attribute --run RUN" in err.value.hint
