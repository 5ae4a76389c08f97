"""Probing methods: ElasticNet linear probes, top/random/bottom neurons, control tasks.

* ``probe`` (METHODS.md §3.2, §7.2): the probe of the literature, NeuroX's linear probe with an
  elastic-net penalty ``λ1 = λ2 = 1e-3`` — a multinomial (softmax) logistic regression on
  z-normalised activations of one layer, trained on a split by sentence; scikit-learn's
  ``LogisticRegression(penalty="elasticnet", solver="saga")``. How it matches NeuroX's objective
  ``mean cross-entropy + λ1 Σ|W| + λ2 ‖W‖``: scikit-learn minimises ``C Σ loss + ρ Σ|W| +
  (1 − ρ)/2 ‖W‖²``; dividing by ``C·N`` gives ``mean loss + ρ/(C N) Σ|W| + (1 − ρ)/(2 C N) ‖W‖²``,
  so ``ρ = λ1 / (λ1 + λ2)`` and ``C = ρ / (λ1 N)`` make the L1 term exactly NeuroX's and the L2
  term ``(λ2 / 2)‖W‖²`` — squared, where NeuroX's is the Frobenius norm itself (no solver of
  scikit-learn takes a non-squared norm; both shrink the weights uniformly, and the L1 term,
  which makes the weights sparse and decides the ranking, is the same). The problem is convex
  and solved to tolerance ``tol`` (NeuroX: 10 epochs of Adam), so the ranking depends on the
  seed only through the train/test split and the row sample. A multi-valued property
  (``upos:*``, ``feat:Number=*``, ...; see :func:`~atlas.methods.base.property_of`) gets one
  multi-class probe over its values; any other concept a one-vs-rest binary probe. The score of
  neuron ``n`` for concept ``c`` is ``|W_{c,n}| / max_n' |W_{c,n'}|`` (in ``[0, 1]``; the class
  row of the multi-class probe for a property value). ``results_`` holds, per probe, the
  held-out accuracy, the majority baseline and the Dalvi et al. evaluation (§7.2): accuracy with
  the top-k neurons, a random k and the bottom k (ranked by ``|W|``, averaged over classes for
  a property, as Antverg & Belinkov's ``sort_neurons_by_avg_weights``), by ablation (the other
  neurons set to their training mean, i.e. 0 after standardising) or by retraining; the
  accuracy-vs-k curve ``acc_at_k=K`` for ``K`` in ``curve`` (and ``minimal_k``, the smallest
  ``K`` whose accuracy is within 0.01 of the full probe's, Dalvi et al.'s minimal neuron
  subset); and the weight-mass neuron count ``n_neurons_50`` (NeuroX ``get_top_neurons``: the
  fewest neurons whose ``|W|`` make up ``mass`` = 50 % of a class's total). The task's entry
  holds the union over its classes; each value of a property (``upos:NOUN``) gets its own entry
  with its class's count and its class accuracy (recall on its test words) at each ``K``.
* ``control_selectivity`` (METHODS.md §4.2, Hewitt & Liang): the same probe trained on a control
  task where each word type gets a fixed random label drawn from the task's empirical label
  distribution (``sample_from='same'``). Per neuron the stored value is
  ``(|W_task| − |W_control|) / max_n |W_task|`` clipped to ``[-1, 1]``: how much more weight the
  neuron gets for the concept than for memorising word types, in units of the task probe's
  largest weight (an atlas adaptation of the accuracy-based selectivity to single neurons);
  ``results_`` holds the probe-level selectivity ``acc(task) − acc(control)`` itself.

Probes read the whole layer for up to ``max_rows`` words (whole sentences, chosen at random), so
they are opt-in (not in the default set, ``registry.select(default=True)``) and declare
``needs_probe``: the scoring job fits them on the named concepts and ``upos:*`` unless told
which concepts, and stores their ``results_`` as ``probe_result`` rows.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from atlas.errors import MethodError
from atlas.methods.base import ScoreMethod, property_groups, register_method

#: NeuroX's elastic-net strengths (``lambda_l1``, ``lambda_l2``).
NEUROX_LAMBDA = 1e-3

PROBE_DEFAULTS: dict[str, Any] = {
    "lambda_l1": NEUROX_LAMBDA,
    "lambda_l2": NEUROX_LAMBDA,
    "max_iter": 100,
    "tol": 1e-3,
    "test_size": 0.2,
    "top_k": 0.1,
    "evaluation": "ablate",
    "max_rows": 50_000,
    "seed": 0,
    "mass": 0.5,
    "curve": "10,20,50,100,200",
}

PROBE_PARAMS = {
    "lambda_l1": "L1 strength (NeuroX: 1e-3), on the mean cross-entropy",
    "lambda_l2": "L2 strength (NeuroX: 1e-3; squared norm, halved, as scikit-learn's elastic net)",
    "max_iter": "most passes of the saga solver",
    "tol": "the solver's stopping tolerance",
    "test_size": "fraction of sentences held out",
    "top_k": "fraction of neurons in the top/random/bottom evaluation",
    "evaluation": "'ablate' (other neurons at their mean) or 'retrain' (a probe on the k neurons)",
    "max_rows": "most words the probe reads (whole sentences, sampled with the seed)",
    "seed": "the split and sample's seed",
    "mass": "weight-mass fraction for the neuron count n_neurons_<mass%> (NeuroX get_top_neurons)",
    "curve": "comma-separated k of the accuracy-vs-k curve (acc_at_k=K)",
}


def _tasks(Y: np.ndarray, names: list[str] | None) -> list[tuple[str, list[int]]]:
    """Probe tasks: ``(property, columns)`` for multi-valued properties, ``(name, [col])`` otherwise."""
    c = Y.shape[1]
    names = names if names is not None else [f"concept_{i}" for i in range(c)]
    groups = {p: cols for p, cols in property_groups(names).items() if len(cols) >= 2}
    grouped = {i for cols in groups.values() for i in cols}
    tasks = [(p, cols) for p, cols in groups.items()]
    tasks += [(names[i], [i]) for i in range(c) if i not in grouped]
    return tasks


def _labels(Y: np.ndarray, cols: list[int]) -> np.ndarray:
    """Class index per row (−1: no value) for a property, or 0/1 for a binary concept."""
    if len(cols) == 1:
        return Y[:, cols[0]].astype(np.int64)
    sub = Y[:, cols]
    lab = np.argmax(sub, axis=1).astype(np.int64)
    lab[~sub.any(axis=1)] = -1
    return lab


def _sample_rows(sentence_index: np.ndarray, max_rows: int, rng: np.random.Generator) -> np.ndarray:
    n = sentence_index.shape[0]
    if n <= max_rows:
        return np.arange(n)
    sents = np.unique(sentence_index)
    order = rng.permutation(sents)
    lengths = np.bincount(sentence_index)[order]
    keep = order[np.cumsum(lengths) <= max_rows]
    return np.flatnonzero(np.isin(sentence_index, keep))


def _fit_classifier(Xtr: np.ndarray, ytr: np.ndarray, params: dict[str, Any]) -> Any:
    """NeuroX's elastic-net softmax probe as a scikit-learn problem (module docstring)."""
    from sklearn.linear_model import LogisticRegression

    l1, l2 = float(params["lambda_l1"]), float(params["lambda_l2"])
    if l1 < 0 or l2 < 0 or l1 + l2 == 0:
        raise MethodError(f"lambda_l1={l1}, lambda_l2={l2}: both must be >= 0 and not both 0", hint="NeuroX: 1e-3 each")
    rho = l1 / (l1 + l2)
    C = (l1 + l2) ** -1 / max(1, Xtr.shape[0]) if rho == 0 else rho / (l1 * max(1, Xtr.shape[0]))
    clf = LogisticRegression(
        penalty="elasticnet",
        solver="saga",
        l1_ratio=rho,
        C=C,
        max_iter=int(params["max_iter"]),
        tol=float(params["tol"]),
        random_state=int(params["seed"]),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(Xtr, ytr)
    return clf


def mass_count(weights: np.ndarray, mass: float) -> int:
    """The fewest neurons whose ``|w|`` sum to at least ``mass`` of the total (NeuroX
    ``get_top_neurons`` for one class).

    >>> mass_count(np.array([5.0, 3.0, 1.0, 1.0]), 0.5), mass_count(np.array([1.0, 1.0, 1.0, 1.0]), 0.5)
    (1, 2)
    """
    w = np.sort(np.abs(np.asarray(weights, np.float64)))[::-1]
    total = w.sum()
    if total <= 0:
        return 0
    return int(np.searchsorted(np.cumsum(w), mass * total - 1e-12 * total) + 1)


def _curve_ks(curve: Any, d: int) -> list[int]:
    try:
        ks = sorted({int(k) for k in str(curve).split(",") if k.strip()})
    except ValueError:
        raise MethodError(f"curve={curve!r} is not a comma-separated list of neuron counts", hint="e.g. 10,20,50") from None
    return [k for k in ks if 0 < k < d] + [d]


class _ProbeBase(ScoreMethod):
    def _check(self) -> dict[str, Any]:
        p = self.get_params()
        if p["evaluation"] not in ("ablate", "retrain"):
            raise MethodError(f"evaluation={p['evaluation']!r} is not known", hint="use 'ablate' or 'retrain'")
        if not 0.0 < float(p["test_size"]) < 1.0:
            raise MethodError(f"test_size={p['test_size']!r} is outside (0, 1)")
        if not 0.0 < float(p["top_k"]) <= 1.0:
            raise MethodError(f"top_k={p['top_k']!r} is outside (0, 1]", hint="a fraction of the layer's neurons")
        return p


@register_method(
    "probe",
    description="weight share of the neuron in an ElasticNet logistic probe for the concept (or its property)",
    family="probing",
    needs_probe=True,
    value_range=(0.0, 1.0),
    defaults=PROBE_DEFAULTS,
    param_docs=PROBE_PARAMS,
    version="2",
    reference="METHODS.md §3.2, §7.2",
)
class LinearProbe(_ProbeBase):
    """ElasticNet linear probe per concept (binary) or per property (multi-class); see the module
    docstring (METHODS.md §3.2 for the weight ranking, §7.2 for top/random/bottom).

    Attributes:
        scores_: ``[n_neurons, n_concepts]`` ``|W| / max|W|``.
        results_: per task (property or concept name): ``accuracy``, ``majority``, ``top``,
            ``random``, ``bottom``, ``k``, ``n_train``, ``n_test``, ``classes``.
        ranking_: per task, neuron indices by decreasing ``|W|``.
        weights_: ``[n_neurons, n_concepts]`` the raw ``|W|``.
    """

    def fit(self, X: Any, Y: np.ndarray, **context: Any) -> ScoreMethod:
        p = self._check()
        n, d = X.shape
        Y = np.asarray(Y, bool)
        sentence_index = context.get("sentence_index")
        if sentence_index is None:
            sentence_index = np.arange(n) // 20  # pseudo-sentences of 20 words
        sentence_index = np.asarray(sentence_index)
        rng = np.random.default_rng(int(p["seed"]))
        rows = _sample_rows(sentence_index, int(p["max_rows"]), rng)
        Xs = np.asarray(X[rows] if rows.shape[0] < n else X[:], dtype=np.float32)
        Ys, sent = Y[rows], sentence_index[rows]
        sents = np.unique(sent)
        n_test = max(1, int(round(float(p["test_size"]) * sents.shape[0])))
        test = np.isin(sent, rng.permutation(sents)[:n_test])
        train = ~test
        mean = Xs[train].mean(0)
        std = Xs[train].std(0)
        std[std == 0] = 1.0
        Z = (Xs - mean) / std
        names = context.get("names")
        names = list(names) if names is not None else [f"concept_{i}" for i in range(Y.shape[1])]
        self.scores_ = np.full((d, Y.shape[1]), np.nan)
        self.results_: dict[str, dict[str, Any]] = {}
        self.ranking_: dict[str, np.ndarray] = {}
        self.weights_ = np.full((d, Y.shape[1]), np.nan)
        for task, cols in _tasks(Ys, names):
            y = _labels(Ys, cols)
            keep = y >= 0
            tr, te = train & keep, test & keep
            if len(np.unique(y[tr])) < 2 or te.sum() == 0:
                self.results_[task] = {"skipped": "fewer than two classes in the training split or no test words"}
                continue
            clf = _fit_classifier(Z[tr], y[tr], p)
            W = np.abs(clf.coef_)  # [n_classes or 1, d]
            class_cols = [cols[int(z)] for z in clf.classes_] if len(cols) > 1 else cols
            W_rows = W if len(cols) == 1 or W.shape[0] == len(class_cols) else np.repeat(W, len(class_cols), 0)
            with np.errstate(invalid="ignore", divide="ignore"):
                share = W_rows / W_rows.max(axis=1, keepdims=True)
            for row, w_row, col in zip(share, W_rows, class_cols):
                self.scores_[:, col] = np.nan_to_num(row)
                self.weights_[:, col] = w_row
            order = np.argsort(-W.mean(axis=0), kind="stable")
            self.ranking_[task] = order
            data = (Z[tr], y[tr], Z[te], y[te])
            self.results_[task] = _evaluate(clf, data, order, p, rng)
            labels = [int(z) for z in clf.classes_] if len(cols) > 1 else [1]
            self.results_.update(_weight_mass(W_rows, class_cols, labels, names, p, self.results_[task]))
        return self


def _predict_with(clf: Any, data: tuple[np.ndarray, ...], idx: np.ndarray, p: dict[str, Any]) -> np.ndarray:
    """Test predictions using only the neurons ``idx``: the others ablated (set to their training
    mean, 0 after z-normalising) or a probe retrained on ``idx``."""
    Ztr, ytr, Zte, _ = data
    if p["evaluation"] == "ablate":
        Zt = np.zeros_like(Zte)
        Zt[:, idx] = Zte[:, idx]
        return clf.predict(Zt)
    return _fit_classifier(Ztr[:, idx], ytr, p).predict(Zte[:, idx])


def _evaluate(
    clf: Any, data: tuple[np.ndarray, ...], order: np.ndarray, p: dict[str, Any], rng: np.random.Generator
) -> dict[str, Any]:
    """Accuracy, majority baseline, top/random/bottom k, the accuracy-vs-k curve and ``minimal_k``;
    ``_class_acc`` keeps each class's accuracy at each curve point (for :func:`_weight_mass`)."""
    _, ytr, Zte, yte = data
    d = order.shape[0]
    k = max(1, int(round(float(p["top_k"]) * d)))
    accuracy = float(np.mean(clf.predict(Zte) == yte))
    res: dict[str, Any] = {
        "accuracy": accuracy,
        "majority": float(np.mean(yte == np.bincount(ytr).argmax())),
        "k": k,
        "n_train": int(ytr.shape[0]),
        "n_test": int(yte.shape[0]),
        "classes": len(clf.classes_),
    }
    sets = {"top": order[:k], "random": rng.choice(d, size=k, replace=False), "bottom": order[::-1][:k]}
    for label, idx in sets.items():
        res[label] = float(np.mean(_predict_with(clf, data, idx, p) == yte))
    class_acc: dict[int, dict[int, float]] = {}
    minimal = d
    for kk in reversed(_curve_ks(p["curve"], d)):
        pred = _predict_with(clf, data, order[:kk], p)
        acc = float(np.mean(pred == yte))
        res[f"acc_at_k={kk}"] = acc
        if acc >= accuracy - 0.01:
            minimal = kk
        class_acc[kk] = {int(z): float(np.mean(pred[yte == z] == z)) for z in np.unique(yte)}
    res["minimal_k"] = minimal
    res["_class_acc"] = class_acc
    return res


def _weight_mass(
    W_rows: np.ndarray, class_cols: list[int], labels: list[int], names: list[str], p: dict[str, Any],
    res: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    """``n_neurons_<mass%>`` for the task (the union over its classes, as NeuroX's
    ``get_top_neurons``) and, for a property, per value: its class's count and curve."""
    mass = float(p["mass"])
    metric = f"n_neurons_{int(round(mass * 100))}"
    class_acc = res.pop("_class_acc")
    union: set[int] = set()
    extra: dict[str, dict[str, Any]] = {}
    for w_row, col, label in zip(W_rows, class_cols, labels):
        count = mass_count(w_row, mass)
        union.update(np.argsort(-w_row, kind="stable")[:count].tolist())
        if len(class_cols) > 1:
            curve = {f"acc_at_k={kk}": acc.get(label, float("nan")) for kk, acc in class_acc.items()}
            extra[names[col]] = {metric: count, **curve}
    res[metric] = len(union)
    return extra


def control_labels(Y: np.ndarray, names: list[str] | None, word_types: np.ndarray, seed: int) -> np.ndarray:
    """A control task for ``Y`` (Hewitt & Liang, METHODS.md §4.2): every word type gets one fixed
    label drawn from the task's empirical label distribution; words without a value keep none.

    Returns a bool matrix shaped like ``Y``.
    """
    rng = np.random.default_rng(seed)
    word_types = np.asarray(word_types)
    _, type_id = np.unique(word_types, return_inverse=True)
    n_types = int(type_id.max()) + 1 if type_id.size else 0
    out = np.zeros_like(Y, dtype=bool)
    for _task, cols in _tasks(Y, names):
        y = _labels(Y, cols)
        has = y >= 0
        if not has.any():
            continue
        values, counts = np.unique(y[has], return_counts=True)
        per_type = rng.choice(values, size=n_types, p=counts / counts.sum())
        yc = per_type[type_id]
        if len(cols) == 1:
            out[:, cols[0]] = yc.astype(bool)
        else:
            rows = np.flatnonzero(has)
            out[rows, np.asarray(cols)[yc[rows]]] = True
    return out


@register_method(
    "control_selectivity",
    description="probe weight share on the concept minus on a word-type control task (Hewitt & Liang)",
    family="probing",
    needs_probe=True,
    needs=("word_types",),
    value_range=(-1.0, 1.0),
    defaults=PROBE_DEFAULTS,
    param_docs=PROBE_PARAMS,
    version="2",
    reference="METHODS.md §4.2",
)
class ControlSelectivity(_ProbeBase):
    """Control-task selectivity (METHODS.md §4.2); see the module docstring.

    Needs ``context["word_types"]`` (one id or string per word, e.g. the lower-cased form).

    Attributes:
        scores_: ``[n_neurons, n_concepts]`` ``(|W_task| − |W_control|) / max |W_task|``.
        results_: per task: ``accuracy``, ``control_accuracy``, ``selectivity`` (their difference).
    """

    def fit(self, X: Any, Y: np.ndarray, **context: Any) -> ScoreMethod:
        p = self._check()
        word_types = context.get("word_types")
        if word_types is None:
            raise MethodError("control_selectivity needs the word type of each word (word_types)")
        Y = np.asarray(Y, bool)
        real = LinearProbe(**p).fit(X, Y, **context)
        ctrl_y = control_labels(Y, context.get("names"), word_types, int(p["seed"]) + 1)
        control = LinearProbe(**p).fit(X, ctrl_y, **context)
        self.real_, self.control_ = real, control
        # Both probes' |W| in units of the real probe's largest weight for the concept.
        scale = np.nanmax(real.weights_, axis=0, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            diff = (real.weights_ - np.nan_to_num(control.weights_)) / scale
        self.scores_ = np.where(np.isfinite(diff), np.clip(diff, -1.0, 1.0), np.nan)
        self.results_ = {}
        for task, res in real.results_.items():
            cres = control.results_.get(task, {})
            if "accuracy" in res and "accuracy" in cres:
                self.results_[task] = {
                    "accuracy": res["accuracy"],
                    "control_accuracy": cres["accuracy"],
                    "selectivity": res["accuracy"] - cres["accuracy"],
                }
        return self
