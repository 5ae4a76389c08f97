"""Probing methods: ElasticNet linear probes, top/random/bottom neurons, control tasks.

* ``probe`` (METHODS.md §3.2, §7.2): a logistic-regression probe with an elastic-net penalty
  (scikit-learn ``SGDClassifier(loss="log_loss", penalty="elasticnet")``) on standardised
  activations of one layer, trained on a split by sentence. A multi-valued property
  (``upos:*``, ``feat:Number=*``, ...; see :func:`~atlas.methods.base.property_of`) gets one
  multi-class probe over its values; any other concept a one-vs-rest binary probe. The score of
  neuron ``n`` for concept ``c`` is ``|W_{c,n}| / max_n' |W_{c,n'}|`` (in ``[0, 1]``; the class
  row of the multi-class probe for a property value). ``results_`` holds, per probe, the
  held-out accuracy, the majority baseline and the Dalvi et al. evaluation (§7.2): accuracy with
  the top-k neurons, a random k and the bottom k (ranked by ``|W|``, averaged over classes for
  a property, as Antverg & Belinkov's ``sort_neurons_by_avg_weights``), by ablation (the other
  neurons set to their training mean, i.e. 0 after standardising) or by retraining.
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

PROBE_DEFAULTS: dict[str, Any] = {
    "l1_ratio": 0.5,
    "reg": 1e-4,
    "epochs": 10,
    "test_size": 0.2,
    "top_k": 0.1,
    "evaluation": "ablate",
    "max_rows": 50_000,
    "seed": 0,
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
    from sklearn.linear_model import SGDClassifier

    clf = SGDClassifier(
        loss="log_loss",
        penalty="elasticnet",
        alpha=float(params["reg"]),
        l1_ratio=float(params["l1_ratio"]),
        max_iter=int(params["epochs"]),
        tol=None,
        random_state=int(params["seed"]),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(Xtr, ytr)
    return clf


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
        test_sents = rng.permutation(sents)[:n_test]
        test = np.isin(sent, test_sents)
        train = ~test
        mean = Xs[train].mean(0)
        std = Xs[train].std(0)
        std[std == 0] = 1.0
        Z = (Xs - mean) / std
        k = max(1, int(round(float(p["top_k"]) * d)))
        self.scores_ = np.full((d, Y.shape[1]), np.nan)
        self.results_: dict[str, dict[str, Any]] = {}
        self.ranking_: dict[str, np.ndarray] = {}
        self.weights_ = np.full((d, Y.shape[1]), np.nan)
        for task, cols in _tasks(Ys, context.get("names")):
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
            importance = W.mean(axis=0)
            order = np.argsort(-importance, kind="stable")
            self.ranking_[task] = order
            sets = {"top": order[:k], "random": rng.choice(d, size=k, replace=False), "bottom": order[::-1][:k]}
            majority = float(np.mean(y[te] == np.bincount(y[tr]).argmax()))
            res: dict[str, Any] = {
                "accuracy": float(clf.score(Z[te], y[te])),
                "majority": majority,
                "k": k,
                "n_train": int(tr.sum()),
                "n_test": int(te.sum()),
                "classes": len(clf.classes_),
            }
            for label, idx in sets.items():
                if p["evaluation"] == "ablate":
                    Zt = np.zeros_like(Z[te])
                    Zt[:, idx] = Z[te][:, idx]
                    res[label] = float(clf.score(Zt, y[te]))
                else:
                    sub = _fit_classifier(Z[tr][:, idx], y[tr], p)
                    res[label] = float(sub.score(Z[te][:, idx], y[te]))
            self.results_[task] = res
        return self


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
