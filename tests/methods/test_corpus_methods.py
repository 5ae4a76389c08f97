"""Each corpus method against an independent reference computed differently (METHODS.md)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, mutual_info_score

from atlas.methods import registry
from atlas.methods.ranking import average_precision, sentence_pool
from atlas.methods.stats import neuron_stats

from .helpers import planted


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(7)
    n, d = 3000, 9
    X = rng.normal(size=(n, d))
    X[:, 3] = np.maximum(X[:, 3], 0)  # ReLU-like: many ties at 0
    X[:, 4] = np.round(X[:, 4], 1)  # coarse values: ties everywhere
    X = X.astype(np.float16)
    Y = np.zeros((n, 5), bool)
    Y[:, 0] = rng.random(n) < 0.3
    Y[:, 1] = rng.random(n) < 0.02
    Y[:, 2] = X[:, 5] + rng.normal(size=n) > 1.5
    up = rng.integers(0, 2, n)
    Y[:, 3] = up == 0
    Y[:, 4] = up == 1
    sent = np.sort(rng.integers(0, 250, n))
    return X, Y, sent


def _fit(name, X, Y, **ctx):
    return registry.get(name).make().fit(X, Y, **ctx)


def _masks(X, alpha=0.005):
    """The top-alpha masks written out from the definition: each neuron's k = round(alpha * n)
    largest words; words tied at the k-th value share the places left (fractional membership)."""
    Xf = X.astype(np.float64)
    n = X.shape[0]
    k = max(1, int(np.floor(alpha * n + 0.5)))
    out = np.zeros(X.shape)
    for j in range(X.shape[1]):
        col = Xf[:, j]
        cut = np.sort(col)[::-1][k - 1]
        above, tied = col > cut, col == cut
        out[:, j] = above + tied * (k - above.sum()) / tied.sum()
    return out


def test_thresholds_match_numpy_quantile_streaming(data):
    X, _, _ = data
    for alpha in (0.005, 0.1, 0.5):
        st = neuron_stats(X, alpha=alpha, block_rows=97)
        ref = np.quantile(X.astype(np.float64), 1 - alpha, axis=0)
        np.testing.assert_allclose(st.threshold, ref, rtol=1e-6, atol=1e-6)
    Xf = X.astype(np.float64)
    np.testing.assert_allclose(st.mean, Xf.mean(0), atol=1e-9)
    np.testing.assert_allclose(st.std, Xf.std(0), atol=1e-6)
    np.testing.assert_array_equal(st.min, Xf.min(0))
    np.testing.assert_array_equal(st.fire_rate, (Xf > 0).mean(0))


def test_iou_precision_recall_from_boolean_arrays(data):
    X, Y, _ = data
    M = _masks(X)
    iou, prec, rec = (_fit(m, X, Y).scores_ for m in ("iou", "precision", "recall"))
    k = round(0.005 * X.shape[0])
    for n, c in itertools.product(range(X.shape[1]), range(Y.shape[1])):
        assert M[:, n].sum() == pytest.approx(k)  # exactly k words, ties or not
        inter = (M[:, n] * Y[:, c]).sum()
        union = M[:, n].sum() + Y[:, c].sum() - inter
        assert iou[n, c] == pytest.approx(inter / union)
        assert prec[n, c] == pytest.approx(inter / k)
        assert rec[n, c] == pytest.approx(inter / Y[:, c].sum())


def test_positive_threshold_rule(data):
    X, Y, _ = data
    est = registry.get("iou").make({"mask": "fires"}).fit(X, Y)
    M = X.astype(np.float64) > 0
    ref = (M[:, 3] & Y[:, 0]).sum() / (M[:, 3] | Y[:, 0]).sum()
    assert est.scores_[3, 0] == pytest.approx(ref)


def test_mi_matches_sklearn_mutual_info(data):
    X, Y, _ = data
    M = _masks(X, 0.05)
    est = registry.get("mi").make({"alpha": 0.05}).fit(X, Y)
    for n, c in itertools.product(range(X.shape[1]), range(Y.shape[1])):
        if not np.isin(M[:, n], (0.0, 1.0)).all():
            continue  # fractional ties at the cut: sklearn needs hard labels (see the next test)
        p = Y[:, c].mean()
        h = -(p * np.log(p) + (1 - p) * np.log(1 - p))
        assert est.scores_[n, c] == pytest.approx(mutual_info_score(M[:, n] > 0.5, Y[:, c]) / h, abs=1e-9)


def test_mi_with_ties_at_the_cut_is_the_expected_table(data):
    """With ties at the cut, MI is computed from the 2x2 table of expected counts."""
    X, Y, _ = data
    M = _masks(X, 0.05)
    tied = [n for n in range(X.shape[1]) if not np.isin(M[:, n], (0.0, 1.0)).all()]
    assert tied  # the coarse and ReLU-like columns tie at the cut
    est = registry.get("mi").make({"alpha": 0.05}).fit(X, Y)
    for n, c in itertools.product(tied, range(Y.shape[1])):
        y = Y[:, c].astype(float)
        table = np.array([[(M[:, n] * y).sum(), (M[:, n] * (1 - y)).sum()],
                          [((1 - M[:, n]) * y).sum(), ((1 - M[:, n]) * (1 - y)).sum()]]) / len(y)
        pm, py = table.sum(1), table.sum(0)
        mi = sum(table[i, j] * np.log2(table[i, j] / (pm[i] * py[j]))
                 for i in range(2) for j in range(2) if table[i, j] > 0)
        h = -(py[0] * np.log2(py[0]) + py[1] * np.log2(py[1]))
        assert est.scores_[n, c] == pytest.approx(mi / h, abs=1e-9)


def test_size_matched_mask_from_sorting(data):
    """mask=size: the concept's words among the neuron's top |concept| words, ties shared."""
    X, Y, _ = data
    iou = registry.get("iou").make({"mask": "size"}).fit(X, Y).scores_
    prec = registry.get("precision").make({"mask": "size"}).fit(X, Y).scores_
    Xf = X.astype(np.float64)
    for n, c in itertools.product(range(X.shape[1]), range(Y.shape[1])):
        size = int(Y[:, c].sum())
        col = Xf[:, n]
        cut = np.sort(col)[::-1][size - 1]
        above, tied = col > cut, col == cut
        m = above + tied * (size - above.sum()) / tied.sum()
        inter = (m * Y[:, c]).sum()
        assert prec[n, c] == pytest.approx(inter / size, abs=1e-9)
        assert iou[n, c] == pytest.approx(inter / (2 * size - inter), abs=1e-9)


def test_selectivity_and_meandiff_from_numpy_means(data):
    X, Y, _ = data
    sel, md = _fit("selectivity", X, Y).scores_, _fit("meandiff", X, Y).scores_
    Xf = X.astype(np.float64)
    for n, c in itertools.product(range(X.shape[1]), range(Y.shape[1])):
        diff = Xf[Y[:, c], n].mean() - Xf[~Y[:, c], n].mean()
        assert md[n, c] == pytest.approx(diff, abs=1e-6)
        assert sel[n, c] == pytest.approx(diff / (Xf[:, n].max() - Xf[:, n].min() + 1e-7), abs=1e-6)


def test_probeless_per_value_and_binary(data):
    X, Y, _ = data
    names = ["a", "b", "c", "upos:X", "upos:Y"]
    est = _fit("probeless", X, Y, names=names)
    Xf = X.astype(np.float64)
    for n in range(X.shape[1]):
        # binary concept: |mu+ - mu-|
        ref = abs(Xf[Y[:, 0], n].mean() - Xf[~Y[:, 0], n].mean())
        assert est.scores_[n, 0] == pytest.approx(ref, abs=1e-6)
        q = {z: Xf[Y[:, col], n].mean() for z, col in (("X", 3), ("Y", 4))}
        pair_sum = sum(abs(q[a] - q[b]) for a, b in itertools.combinations(q, 2))
        assert est.scores_[n, 3] == pytest.approx(pair_sum, abs=1e-6)
        # Antverg & Belinkov's property score is half the sum of the per-value scores.
        assert (est.scores_[n, 3] + est.scores_[n, 4]) / 2 == pytest.approx(pair_sum, abs=1e-6)


def test_ap_matches_sklearn_with_ties(data):
    X, Y, _ = data
    ap = _fit("ap", X, Y).scores_
    for n, c in itertools.product(range(X.shape[1]), range(Y.shape[1])):
        assert ap[n, c] == pytest.approx(average_precision_score(Y[:, c], X[:, n].astype(np.float64)), abs=1e-12)


def test_ap_general_float_path_and_tiny_blocks():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 5)).round(2)  # float64: dense-rank keys
    Y = rng.random((400, 3)) < [0.1, 0.5, 0.02]
    ap = average_precision(X, Y, memory_budget=1)
    ref = np.array([[average_precision_score(Y[:, c], X[:, n]) for c in range(3)] for n in range(5)])
    np.testing.assert_allclose(ap, ref, atol=1e-12)


def test_ap_sentence_maxpool_matches_pandas_and_sklearn(data):
    X, Y, sent = data
    ap = _fit("ap_sentence", X, Y, sentence_index=sent).scores_
    frame = pd.DataFrame(X.astype(np.float64))
    pooled = frame.groupby(sent).max().to_numpy()
    labels = pd.DataFrame(Y).groupby(sent).any().to_numpy()
    for n, c in itertools.product(range(X.shape[1]), range(Y.shape[1])):
        assert ap[n, c] == pytest.approx(average_precision_score(labels[:, c], pooled[:, n]), abs=1e-12)


def test_sentence_pool_blocks_cut_at_sentence_boundaries(data):
    X, Y, sent = data
    a = sentence_pool(X, Y, sent, block_rows=5)
    b = sentence_pool(X, Y, sent, block_rows=10_000)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_shared_statistics_give_the_same_values():
    p = planted(n_sent=100)
    cache: dict = {}
    ctx = {"names": p.names, "sentence_index": p.sentence_index}
    for name in ("iou", "selectivity", "mi", "probeless"):
        alone = registry.get(name).make().fit(p.X, p.Y, **ctx).scores_
        shared = registry.get(name).make().fit(p.X, p.Y, stats=cache, **ctx).scores_
        np.testing.assert_allclose(alone, shared)


def test_float16_threshold_test_is_exact():
    from atlas.methods.stats import _threshold_test

    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 40)).astype(np.float16)
    thr = rng.normal(size=40)
    thr[:10] = X[:10, :10].diagonal().astype(np.float64)  # thresholds that are float16 values
    np.testing.assert_array_equal(_threshold_test(X, thr), X.astype(np.float64) > thr)


def test_dense_threshold_rule_uses_the_dense_product(data):
    X, Y, _ = data
    est = registry.get("recall").make({"mask": "fires"}).fit(X, Y)
    M = X.astype(np.float64) > 0
    ref = np.array([[(M[:, n] & Y[:, c]).sum() / Y[:, c].sum() for c in range(Y.shape[1])] for n in range(X.shape[1])])
    np.testing.assert_allclose(est.scores_, ref)


def _property_data():
    rng = np.random.default_rng(11)
    n = 4000
    X = rng.normal(size=(n, 6)).astype(np.float32)
    z = rng.choice(4, size=n, p=[0.5, 0.3, 0.198, 0.002])  # the last value has ~8 words
    Yp = np.zeros((n, 4), bool)
    Yp[np.arange(n), z] = True
    X[:, 2] += 2 * Yp[:, 1]
    names = ["feat:P=A", "feat:P=B", "feat:P=C", "feat:P=D"]
    return X, Yp, names


def test_probeless_is_identical_whatever_subset_is_scored():
    """probeless(v) is a sum over the whole property's values with >= min_count words, so it
    does not change when other values are scored alongside (issue 13)."""
    X, Yp, names = _property_data()
    full = {"feat:P": (names, Yp)}
    values = {}
    for subset in ([1], [1, 3], [0, 1, 2, 3], [1, 2]):
        Y = np.column_stack([Yp[:, subset], np.arange(len(Yp)) % 7 == 0])
        sub_names = [names[i] for i in subset] + ["binary"]
        est = registry.get("probeless").make().fit(X, Y, names=sub_names, property_columns=full)
        values[tuple(subset)] = est.scores_[:, subset.index(1)]
        assert est.values_ == {"feat:P": names[:3]}  # D has fewer than 100 words
    ref = values[(1,)]
    for v in values.values():
        np.testing.assert_allclose(v, ref, atol=1e-9)
    # the definition: sum over the kept values other than B of |q(B) - q(z')|
    Xf = X.astype(np.float64)
    q = np.stack([Xf[Yp[:, j]].mean(0) for j in range(4)], axis=1)
    np.testing.assert_allclose(ref, np.abs(q[:, [1]] - q[:, [0, 2]]).sum(1), rtol=1e-5)
    assert int(np.argmax(ref)) == 2


def test_probeless_property_level_score_and_min_count():
    X, Yp, names = _property_data()
    est = registry.get("probeless").make().fit(X, Yp, names=names, property_columns={"feat:P": (names, Yp)})
    Xf = X.astype(np.float64)
    q = np.stack([Xf[Yp[:, j]].mean(0) for j in range(3)], axis=1)
    pair_sum = sum(np.abs(q[:, a] - q[:, b]) for a, b in itertools.combinations(range(3), 2))
    np.testing.assert_allclose(est.property_scores_["feat:P"], pair_sum, rtol=1e-5)
    # a value below min_count is scored against the kept values, and not used for the others
    np.testing.assert_allclose(est.scores_[:, 3], np.abs(Xf[Yp[:, 3]].mean(0)[:, None] - q).sum(1), rtol=1e-5)
    # min_count=1 keeps D
    est1 = registry.get("probeless").make({"min_count": 1}).fit(X, Yp, names=names, property_columns={"feat:P": (names, Yp)})
    assert est1.values_["feat:P"] == names
