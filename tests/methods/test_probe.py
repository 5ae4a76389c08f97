"""The ElasticNet probe, top/random/bottom neurons and control tasks on synthetic data."""

from __future__ import annotations

import numpy as np
import pytest

from atlas.errors import MethodError
from atlas.methods import registry
from atlas.methods.probe import control_labels

from .helpers import planted


def _distributed(seed=0):
    """UPOS-like labels spread over 8 of 40 neurons, the rest noise."""
    rng = np.random.default_rng(seed)
    n_sent, length, d = 300, 10, 40
    n = n_sent * length
    lab = rng.integers(0, 4, n)
    Y = np.zeros((n, 4), bool)
    Y[np.arange(n), lab] = True
    X = rng.normal(size=(n, d))
    proto = rng.normal(size=(4, 8)) * 1.5
    X[:, :8] += proto[lab]
    return X.astype(np.float16), Y, ["upos:A", "upos:B", "upos:C", "upos:D"], np.repeat(np.arange(n_sent), length)


def test_probe_accuracy_and_top_random_bottom():
    X, Y, names, sent = _distributed()
    est = registry.get("probe").make({"top_k": 0.2}).fit(X, Y, names=names, sentence_index=sent)
    res = est.results_["upos"]
    assert res["classes"] == 4
    assert res["accuracy"] > res["majority"] + 0.3
    assert res["top"] > res["random"] > res["bottom"] - 1e-9
    assert res["top"] > res["bottom"] + 0.2
    # the informative neurons carry the weight
    assert len(set(est.ranking_["upos"][:8].tolist()) & set(range(8))) >= 7
    assert np.all(est.scores_[:8].mean(0) > est.scores_[8:].mean(0))


def test_probe_retrain_evaluation():
    X, Y, names, sent = _distributed(1)
    res = registry.get("probe").make({"top_k": 0.2, "evaluation": "retrain"}).fit(
        X, Y, names=names, sentence_index=sent
    ).results_["upos"]
    assert res["top"] > res["bottom"] + 0.2


def test_split_is_by_sentence():
    X, Y, names, sent = _distributed(2)
    est = registry.get("probe").make({"test_size": 0.25}).fit(X, Y, names=names, sentence_index=sent)
    res = est.results_["upos"]
    assert res["n_test"] % 10 == 0 and res["n_train"] % 10 == 0  # whole sentences of 10 words
    assert res["n_test"] == pytest.approx(0.25 * X.shape[0], rel=0.05)


def test_control_labels_are_fixed_per_type_and_follow_the_distribution():
    rng = np.random.default_rng(0)
    n = 20000
    types = rng.integers(0, 2000, n)
    lab = rng.choice(3, size=n, p=[0.6, 0.3, 0.1])
    Y = np.zeros((n, 3), bool)
    Y[np.arange(n), lab] = True
    C = control_labels(Y, ["upos:A", "upos:B", "upos:C"], types, seed=3)
    assert (C.sum(1) == 1).all()
    ctrl = C.argmax(1)
    for t in np.unique(types)[:50]:
        assert len(np.unique(ctrl[types == t])) == 1
    per_type = np.array([ctrl[types == t][0] for t in np.unique(types)])
    np.testing.assert_allclose(np.bincount(per_type, minlength=3) / per_type.size, [0.6, 0.3, 0.1], atol=0.04)


def test_control_selectivity_positive_for_a_real_property():
    X, Y, names, sent = _distributed(3)
    types = np.random.default_rng(0).integers(0, 1000, X.shape[0])  # types unrelated to the label
    est = registry.get("control_selectivity").make().fit(X, Y, names=names, sentence_index=sent, word_types=types)
    res = est.results_["upos"]
    assert res["selectivity"] > 0.3
    assert est.scores_[:8].mean() > est.scores_[8:].mean()


def test_control_selectivity_needs_word_types():
    p = planted(n_sent=50)
    with pytest.raises(MethodError, match="word_types"):
        registry.get("control_selectivity").make().fit(p.X, p.Y, names=p.names)


def test_bad_probe_parameters():
    p = planted(n_sent=50)
    with pytest.raises(MethodError):
        registry.get("probe").make({"evaluation": "guess"}).fit(p.X, p.Y)


def test_weight_mass_count_and_accuracy_curve():
    from atlas.methods.probe import mass_count

    assert mass_count(np.array([5.0, 3.0, 1.0, 1.0]), 0.5) == 1
    assert mass_count(np.array([1.0, 1.0, 1.0, 1.0]), 0.5) == 2
    assert mass_count(np.zeros(3), 0.5) == 0
    X, Y, names, sent = _distributed(3)
    est = registry.get("probe").make({"curve": "2,8,20"}).fit(X, Y, names=names, sentence_index=sent)
    res = est.results_["upos"]
    # the curve: k = 2, 8, 20 and the whole layer; it rises, and 8 neurons carry the labels
    assert [key for key in res if key.startswith("acc_at_k=")] == ["acc_at_k=40", "acc_at_k=20", "acc_at_k=8", "acc_at_k=2"]
    assert res["acc_at_k=40"] == pytest.approx(res["accuracy"])
    assert res["acc_at_k=8"] > res["acc_at_k=2"]
    assert res["minimal_k"] in (8, 20, 40)
    # weight mass: the union over classes, and per value its class's count and curve
    assert 1 <= res["n_neurons_50"] <= 40
    for name in names:
        per = est.results_[name]
        assert 1 <= per["n_neurons_50"] <= res["n_neurons_50"]
        assert set(per) == {"n_neurons_50", "acc_at_k=2", "acc_at_k=8", "acc_at_k=20", "acc_at_k=40"}
    with pytest.raises(MethodError):
        registry.get("probe").make({"curve": "a,b"}).fit(X, Y, names=names, sentence_index=sent)


def test_probe_ranking_is_seed_stable_on_synthetic_data():
    from scipy.stats import spearmanr

    X, Y, names, sent = _distributed(4)
    a = registry.get("probe").make({"seed": 0}).fit(X, Y, names=names, sentence_index=sent)
    b = registry.get("probe").make({"seed": 1}).fit(X, Y, names=names, sentence_index=sent)
    wa, wb = np.nanmean(a.weights_, axis=1), np.nanmean(b.weights_, axis=1)
    assert spearmanr(wa[:8], wb[:8]).statistic > 0.5 or set(a.ranking_["upos"][:8]) == set(b.ranking_["upos"][:8])
