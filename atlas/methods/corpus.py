"""Corpus-based methods: all neurons × all concepts from sufficient statistics and ranks.

Registered names (the query language's): ``iou``, ``precision``, ``recall``, ``mi`` (threshold
masks, METHODS.md §1.1 and §7.1), ``selectivity``, ``meandiff`` (§4.1), ``probeless`` (§3.1),
``ap`` and ``ap_sentence`` (§2). Each ``fit(X, Y, **context)`` sets ``scores_``
``[n_neurons, n_concepts]``; the statistics methods share a :class:`~atlas.methods.stats.CorpusStats`
through ``context["stats"]`` (a dict the caller keeps per layer), so running them together reads
the activations twice (statistics, then ``Xᵀ Y`` and ``(X > T)ᵀ Y`` in one pass) whatever their number.

Example::

    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 4)).astype(np.float32); Y = rng.random((2000, 1)) < 0.1
    >>> X[:, 2] += 3 * Y[:, 0]
    >>> int(np.argmax(Selectivity().fit(X, Y).scores_[:, 0]))
    2

Every method here is in the default set of the scoring job (``default=True``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from atlas.errors import MethodError
from atlas.methods.base import ScoreMethod, property_groups, register_method
from atlas.methods.ranking import PositivePairs, average_precision, sentence_pool, size_matched_hits
from atlas.methods.stats import ALPHA, MASKS, CorpusStats, NeuronStats, accumulate, neuron_stats

#: Added to the activation range in the selectivity denominator (METHODS.md §4.1).
EPS = 1e-7


def shared_stats(
    X: Any, Y: np.ndarray, context: dict[str, Any], *, alpha: float, mask: str, sums: bool, intersections: bool
) -> CorpusStats:
    """The :class:`CorpusStats` of ``context["stats"]`` for ``(alpha, mask)``, computing what is missing.

    ``mask`` is ``top`` or ``fires`` (``size`` is per concept: :func:`size_hits`). Without a
    ``stats`` dict in ``context``, a private one is used (nothing is shared).
    """
    cache = context.get("stats")
    if cache is None:
        cache = {}
    _check_mask(alpha, mask)
    nkey = ("neurons", float(alpha))
    neurons: NeuronStats | None = cache.get(nkey)
    if neurons is None:
        neurons = neuron_stats(X, alpha=float(alpha))
        cache[nkey] = neurons
    key = ("corpus", float(alpha), mask)
    stats: CorpusStats | None = cache.get(key)
    if stats is None:
        stats = CorpusStats(neurons, np.asarray(Y, bool).sum(0).astype(np.int64), None, None, None, mask)
        cache[key] = stats
    stats.ensure(X, Y, sums=sums, intersections=intersections)
    return stats


def _check_mask(alpha: Any, mask: Any) -> None:
    if mask not in MASKS:
        raise MethodError(
            f"mask {mask!r} is not known",
            hint="use 'top' (the top alpha of words), 'fires' (> 0) or 'size' (the top |concept| words)",
        )
    if not 0.0 < float(alpha) < 1.0:
        raise MethodError(f"alpha={alpha!r} is outside (0, 1)", hint="NetDissect's default is 0.005")


def size_hits(X: Any, Y: np.ndarray, context: dict[str, Any]) -> np.ndarray:
    """Per (neuron, concept) the concept's words in the neuron's top ``|y_c|`` words (shared
    through ``context["stats"]``; :func:`~atlas.methods.ranking.size_matched_hits`)."""
    cache = context.get("stats")
    hits = cache.get("size_hits") if cache is not None else None
    if hits is None:
        pairs = cache.get("pairs") if cache is not None else None
        if pairs is None:
            pairs = PositivePairs(Y)
            if cache is not None:
                cache["pairs"] = pairs
        hits = size_matched_hits(X, Y, pairs=pairs)
        if cache is not None:
            cache["size_hits"] = hits
    return hits


class _MaskMethod(ScoreMethod):
    """Shared ``fit`` of the methods computed from the four counts of (neuron mask, concept)."""

    def fit(self, X: Any, Y: np.ndarray, **context: Any) -> ScoreMethod:
        alpha, mask = self._params["alpha"], self._params["mask"]
        _check_mask(alpha, mask)
        n_pos = np.asarray(Y, bool).sum(0)[None, :].astype(np.float64)
        if mask == "size":
            inter = size_hits(X, Y, context)
            fires, n = np.broadcast_to(n_pos, inter.shape), int(X.shape[0])
            self.thresholds_ = None
        else:
            stats = shared_stats(X, Y, context, alpha=alpha, mask=mask, sums=False, intersections=True)
            self.thresholds_ = stats.thresholds
            assert stats.intersect is not None and stats.fire_count is not None
            inter, fires, n = stats.intersect, stats.fire_count[:, None].astype(np.float64), stats.n
        with np.errstate(invalid="ignore", divide="ignore"):
            self.scores_ = self._formula(inter, fires, n_pos, n)
        return self

    def _formula(self, inter: np.ndarray, fires: np.ndarray, n_pos: np.ndarray, n: int) -> np.ndarray:
        raise NotImplementedError


#: Parameters of the mask methods (the query language's ``iou[alpha=0.05](noun)``, ``iou[fires](noun)``).
_MASK_DEFAULTS = {"alpha": ALPHA, "mask": "top"}

_MASK_VALUES = {"mask": MASKS}

_MASK_PARAMS = {
    "mask": "the neuron's mask: 'top' (its top alpha·N words, rank-based; words tied at the cut share "
    "the remaining places), 'fires' (activation > 0, compexp's NLP setting) or 'size' (its top |concept| "
    "words, so IoU can reach 1 for any concept size)",
    "alpha": "the top fraction of words in the 'top' mask (NetDissect: 0.005); unused by 'fires' and 'size'",
}


@register_method(
    "iou",
    default=True,
    stats=("intersections",),
    preposition="with",
    description="IoU of the neuron's top-alpha mask with the concept (NetDissect, Mu & Andreas)",
    value_range=(0.0, 1.0),
    defaults=_MASK_DEFAULTS,
    param_docs=_MASK_PARAMS,
    values=_MASK_VALUES,
    version="2",
    reference="METHODS.md §1.1",
)
class IoU(_MaskMethod):
    """``IoU(n, c) = |M_n ∧ y_c| / |M_n ∨ y_c|`` (METHODS.md §1.1).

    ``M_n`` is the neuron's mask (parameter ``mask``; :mod:`atlas.methods.stats`): its top
    ``alpha·N`` words by rank (``top``, alpha = 0.005, ties at the cut shared), its words with
    ``a > 0`` (``fires``, compexp's NLI rule) or its top ``|y_c|`` words (``size``). The union
    is ``|M_n| + |y_c| − |M_n ∧ y_c|``.
    """

    def _formula(self, inter: np.ndarray, fires: np.ndarray, n_pos: np.ndarray, n: int) -> np.ndarray:
        union = fires + n_pos - inter
        return np.where(union > 0, inter / np.maximum(union, 1), 0.0)


@register_method(
    "precision",
    default=True,
    stats=("intersections",),
    description="fraction of the neuron's top-alpha words that carry the concept",
    value_range=(0.0, 1.0),
    defaults=_MASK_DEFAULTS,
    param_docs=_MASK_PARAMS,
    values=_MASK_VALUES,
    version="2",
    reference="METHODS.md §1.1",
)
class Precision(_MaskMethod):
    """``|M_n ∧ y_c| / |M_n|`` (METHODS.md §1.1); 0 when the neuron never exceeds its threshold."""

    def _formula(self, inter: np.ndarray, fires: np.ndarray, n_pos: np.ndarray, n: int) -> np.ndarray:
        return np.where(fires > 0, inter / np.maximum(fires, 1), 0.0) * np.ones_like(n_pos)


@register_method(
    "recall",
    default=True,
    stats=("intersections",),
    description="fraction of the concept's words in the neuron's top-alpha mask",
    value_range=(0.0, 1.0),
    defaults=_MASK_DEFAULTS,
    param_docs=_MASK_PARAMS,
    values=_MASK_VALUES,
    version="2",
    reference="METHODS.md §1.1",
)
class Recall(_MaskMethod):
    """``|M_n ∧ y_c| / |y_c|`` (METHODS.md §1.1)."""

    def _formula(self, inter: np.ndarray, fires: np.ndarray, n_pos: np.ndarray, n: int) -> np.ndarray:
        return np.where(n_pos > 0, inter / np.maximum(n_pos, 1), np.nan)


@register_method(
    "mi",
    default=True,
    stats=("intersections",),
    description="mutual information of the neuron's top-alpha mask and the concept, over H(concept)",
    value_range=(0.0, 1.0),
    defaults=_MASK_DEFAULTS,
    param_docs=_MASK_PARAMS,
    values=_MASK_VALUES,
    version="2",
    reference="METHODS.md §7.1",
)
class MutualInformation(_MaskMethod):
    """Plug-in ``I(M_n; Y_c)`` from the four counts, normalised by ``H(Y_c)`` (METHODS.md §7.1).

    ``I = Σ_{m,y ∈ {0,1}} p(m,y) log₂ [p(m,y) / (p(m) p(y))]`` with ``0 log 0 = 0``; the stored
    value is ``I / H(Y_c)`` (the fraction of the concept's entropy the mask explains), in
    ``[0, 1]``; 0 for a concept on every or no word.
    """

    def _formula(self, inter: np.ndarray, fires: np.ndarray, n_pos: np.ndarray, n: int) -> np.ndarray:
        n11 = inter
        n10 = fires - inter
        n01 = n_pos - inter
        n00 = n - fires - n_pos + inter
        pm1, py1 = fires / n, n_pos / n
        total = np.zeros(np.broadcast_shapes(inter.shape, fires.shape, n_pos.shape))
        for count, pm, py in ((n11, pm1, py1), (n10, pm1, 1 - py1), (n01, 1 - pm1, py1), (n00, 1 - pm1, 1 - py1)):
            p = count / n
            with np.errstate(invalid="ignore", divide="ignore"):
                term = np.where(p > 0, p * np.log2(p / (pm * py)), 0.0)
            total += np.nan_to_num(term)
        h_y = _entropy(py1)
        return np.where(h_y > 0, np.clip(total / np.where(h_y > 0, h_y, 1), 0.0, 1.0), 0.0)


def _entropy(p: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        h = -(np.where(p > 0, p * np.log2(p), 0.0) + np.where(p < 1, (1 - p) * np.log2(1 - p), 0.0))
    return np.nan_to_num(h)


class _MeanMethod(ScoreMethod):
    def fit(self, X: Any, Y: np.ndarray, **context: Any) -> ScoreMethod:
        stats = shared_stats(X, Y, context, alpha=ALPHA, mask="top", sums=True, intersections=False)
        mu_pos, mu_neg = stats.means()
        self.mean_pos_, self.mean_neg_ = mu_pos, mu_neg
        self.scores_ = self._formula(stats, mu_pos, mu_neg, {**context, "_X": X})
        return self

    def _formula(self, stats: CorpusStats, mu_pos: np.ndarray, mu_neg: np.ndarray, context: dict[str, Any]) -> np.ndarray:
        raise NotImplementedError


@register_method(
    "selectivity",
    default=True,
    stats=("sums",),
    description="(mean on the concept − mean elsewhere) / (max − min), Na et al.",
    value_range=(-1.0, 1.0),
    defaults={},
    reference="METHODS.md §4.1",
)
class Selectivity(_MeanMethod):
    """``sel_n(c) = (μ⁺ − μ⁻) / (max_t a_n(t) − min_t a_n(t) + 1e-7)`` (METHODS.md §4.1).

    NaN when the concept covers every word (no ``μ⁻``).
    """

    def _formula(self, stats: CorpusStats, mu_pos: np.ndarray, mu_neg: np.ndarray, context: dict[str, Any]) -> np.ndarray:
        rng = (stats.neurons.max - stats.neurons.min)[:, None] + EPS
        return (mu_pos - mu_neg) / rng


@register_method(
    "meandiff",
    default=True,
    stats=("sums",),
    description="mean activation on the concept minus mean elsewhere (raw units)",
    value_range=(None, None),
    defaults={},
    reference="METHODS.md §4.1",
)
class MeanDiff(_MeanMethod):
    """``μ⁺ − μ⁻`` in activation units (METHODS.md §4.1, "raw mean difference")."""

    def _formula(self, stats: CorpusStats, mu_pos: np.ndarray, mu_neg: np.ndarray, context: dict[str, Any]) -> np.ndarray:
        return mu_pos - mu_neg


#: Antverg & Belinkov's minimum count: property values with fewer words are left out (METHODS.md §3).
PROBELESS_MIN_COUNT = 100


@register_method(
    "probeless",
    default=True,
    stats=("sums",),
    needs=("property_columns",),
    description="sum of |class-mean differences| over a property's values (Antverg & Belinkov)",
    value_range=(0.0, None),
    defaults={"min_count": PROBELESS_MIN_COUNT},
    param_docs={
        "min_count": "property values with fewer words are left out of the sum (Antverg & Belinkov: 100)",
    },
    version="2",
    reference="METHODS.md §3.1",
)
class Probeless(_MeanMethod):
    """Probeless ranking for multi-valued properties (METHODS.md §3.1), over the whole property.

    The scoring job stores ``property_scores_`` too (``property_level``): as the set of a
    concept of kind ``property`` named after the property (``upos``, ``feat:Number``; see
    :func:`atlas.methods.job.property_sets`), so ``probeless(upos)`` ranks neurons for UPOS as a whole.

    For a property (``upos``, ``xpos``, ``deprel``, ``feat:Key``; see
    :func:`~atlas.methods.base.property_of`), ``Z`` is the set of its values with at least
    ``min_count`` words in the corpus (default 100, Antverg & Belinkov's) and ``q(z)`` the
    neuron's mean over the words with value ``z``. The value stored on a concept ``z`` of the
    property is NeuroX's per-value score ``s_n(z) = Σ_{z' ∈ Z, z' ≠ z} |q(z) − q(z')|`` (also
    for a ``z`` below ``min_count``, whose own mean is still taken). ``Z`` comes from the full
    property (``context["property_columns"]``, which the scoring job passes), so the value does
    not depend on which other concepts are scored. A binary concept, and a value of a property
    with no other value of ``min_count`` words, gets ``|μ⁺ − μ⁻|`` (its value against the rest).
    Without ``property_columns`` (a direct ``fit``), the property's columns among ``Y`` are used.

    Attributes:
        scores_: ``[n_neurons, n_concepts]`` per-value scores.
        values_: per property, the value names in ``Z`` (what the sums used).
        property_scores_: per property with ``|Z| ≥ 2``, Antverg & Belinkov's property-level
            score ``Σ_{z<z'} |q(z) − q(z')|`` (``[n_neurons]``): the neuron's ranking for the
            property as a whole.
    """

    #: The scoring job also stores ``property_scores_``, one set per property (see above).
    property_level = True

    def _formula(self, stats: CorpusStats, mu_pos: np.ndarray, mu_neg: np.ndarray, context: dict[str, Any]) -> np.ndarray:
        out = np.abs(mu_pos - mu_neg)
        self.values_: dict[str, list[str]] = {}
        self.property_scores_: dict[str, np.ndarray] = {}
        names = context.get("names")
        if names is None:
            return out
        names = list(names)
        min_count = int(self._params.get("min_count", PROBELESS_MIN_COUNT))
        full = context.get("property_columns") or {}
        for prop, cols in property_groups(names).items():
            if prop in full:
                value_names, q_all, counts = _property_means(context, prop, full[prop])
            else:
                value_names = [names[c] for c in cols]
                q_all, counts = mu_pos[:, cols], stats.n_pos[cols]
            kept = [i for i, cnt in enumerate(counts) if cnt >= min_count]
            self.values_[prop] = [value_names[i] for i in kept]
            q = q_all[:, kept]  # [n_neurons, |Z|]
            if len(kept) >= 2:
                diffs = np.abs(q[:, :, None] - q[:, None, :])
                self.property_scores_[prop] = diffs.sum(axis=(1, 2)) / 2  # each unordered pair once
            for c in cols:
                others = [j for j, i in enumerate(kept) if value_names[i] != names[c]]
                if others:
                    out[:, c] = np.abs(mu_pos[:, c][:, None] - q[:, others]).sum(axis=1)
        return out


def _property_means(
    context: dict[str, Any], prop: str, columns: tuple[list[str], np.ndarray]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``(value names, q [n_neurons, n_values], word counts)`` of every value of ``prop`` from the
    full property columns, cached in ``context["stats"]`` for the layer."""
    cache = context.get("stats")
    key = ("property_means", prop)
    if cache is not None and key in cache:
        return cache[key]
    value_names, Yp = columns
    X = context["_X"]
    Yp = np.asarray(Yp, bool)
    sums = accumulate(X, Yp, None, sums=True).pos_sum
    assert sums is not None
    counts = Yp.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = sums / counts[None, :]
    out = (list(value_names), q, counts)
    if cache is not None:
        cache[key] = out
    return out


@register_method(
    "ap",
    default=True,
    description="average precision of the activation as a detector of the concept's words",
    value_range=(0.0, 1.0),
    defaults={},
    reference="METHODS.md §2",
)
class AveragePrecision(ScoreMethod):
    """Token-level AP: ``Σ_k (R_k − R_{k−1}) P_k`` over the neuron's activations as scores of
    the concept's words (METHODS.md §2; scikit-learn's ``average_precision_score``, exact with ties).
    Null value: the concept's base rate.
    """

    def fit(self, X: Any, Y: np.ndarray, **context: Any) -> ScoreMethod:
        cache = context.get("stats")
        pairs = cache.get("pairs") if cache is not None else None
        if pairs is None:
            pairs = PositivePairs(Y)
            if cache is not None:
                cache["pairs"] = pairs
        self.scores_ = average_precision(X, Y, pairs=pairs)
        return self


@register_method(
    "ap_sentence",
    default=True,
    needs=("sentence_index",),
    description="average precision of the sentence max-pooled activation for sentences with the concept",
    value_range=(0.0, 1.0),
    defaults={"pooling": "max"},
    level="sentence",
    reference="METHODS.md §2",
)
class SentenceAveragePrecision(ScoreMethod):
    """Sentence-level AP (Suau et al., METHODS.md §2): each neuron's activation is max-pooled over
    the words of each sentence; a sentence is positive when any of its words carries the concept
    (for a sentence-level concept: the sentence has it). Needs ``context["sentence_index"]``.
    """

    def fit(self, X: Any, Y: np.ndarray, **context: Any) -> ScoreMethod:
        if self._params.get("pooling", "max") != "max":
            raise MethodError(f"pooling {self._params['pooling']!r} is not supported", hint="use pooling=max")
        sentence_index = context.get("sentence_index")
        if sentence_index is None:
            raise MethodError("ap_sentence needs the sentence of each word (sentence_index)")
        cache = context.get("stats")
        pooled = cache.get("sentence_pool") if cache is not None else None
        if pooled is None:
            pooled = sentence_pool(X, Y, sentence_index)
            if cache is not None:
                cache["sentence_pool"] = pooled
        px, py = pooled
        self.n_sentences_ = px.shape[0]
        self.scores_ = average_precision(px, py)
        return self
