"""Per-neuron statistics, quantile thresholds and the shared sufficient statistics, blockwise.

Everything here reads activations in blocks of rows (``block_rows`` words at a time), so memory
stays flat as the corpus grows (METHODS.md §10.1):

* :func:`neuron_stats` — count, mean, std, min, max, fire rate (``> 0``) and the NetDissect
  threshold ``T_n``, the per-neuron ``(1 − α)`` quantile (METHODS.md §1.1; α = 0.005). The
  quantile is exact (``numpy.quantile``'s linear rule): a running buffer keeps each neuron's top
  ``⌈α·N⌉ + 2`` values, never the whole column.
* :class:`CorpusStats` — per (neuron, concept) sums over concept rows ``Xᵀ Y`` and intersections
  ``|M_n ∧ y_c| = (X > T)ᵀ Y``, both as float32 matrix products per block.

Example::

    st = neuron_stats(X, alpha=0.005)
    cs = CorpusStats.compute(X, Y, alpha=0.005)
    iou = cs.intersect / (cs.fire_count[:, None] + cs.n_pos[None, :] - cs.intersect)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Rows read at a time.
BLOCK_ROWS = 4096
#: NetDissect's top fraction: the threshold ``T_n`` is the ``1 - ALPHA`` quantile (METHODS.md §1.1).
ALPHA = 0.005


def iter_blocks(n_rows: int, block_rows: int = BLOCK_ROWS) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` row ranges covering ``n_rows``.

    >>> list(iter_blocks(10, 4))
    [(0, 4), (4, 8), (8, 10)]
    """
    for start in range(0, n_rows, block_rows):
        yield start, min(n_rows, start + block_rows)


def top_buffer_size(n_rows: int, alpha: float) -> int:
    """How many of a neuron's largest values determine its ``(1 − α)`` quantile (linear rule)."""
    lo = math.floor((n_rows - 1) * (1.0 - alpha))
    return min(n_rows, n_rows - lo)


def quantile_from_top(top_sorted: np.ndarray, n_rows: int, alpha: float) -> np.ndarray:
    """The ``(1 − α)`` quantile of each column given its ``m`` largest values sorted ascending.

    Matches ``np.quantile(col, 1 - alpha)`` (method ``linear``).
    """
    h = (n_rows - 1) * (1.0 - alpha)
    lo = math.floor(h)
    frac = h - lo
    m = top_sorted.shape[0]
    base = top_sorted[0].astype(np.float64)
    if frac == 0 or m < 2:
        return base
    return base + frac * (top_sorted[1].astype(np.float64) - base)


@dataclass
class NeuronStats:
    """Per-neuron statistics over the words of a run (arrays of shape ``[n_neurons]``).

    ``threshold`` is the ``(1 − alpha)`` quantile ``T_n``; ``fire_count`` = ``|{t: a_n(t) > T_n}|``;
    ``fire_rate`` = fraction of words with ``a_n(t) > 0``.
    """

    count: int
    sum: np.ndarray
    sumsq: np.ndarray
    min: np.ndarray
    max: np.ndarray
    positive: np.ndarray
    threshold: np.ndarray
    alpha: float

    @property
    def mean(self) -> np.ndarray:
        return self.sum / self.count

    @property
    def std(self) -> np.ndarray:
        var = np.maximum(self.sumsq / self.count - self.mean**2, 0.0)
        return np.sqrt(var)

    @property
    def fire_rate(self) -> np.ndarray:
        return self.positive / self.count


def neuron_stats(X: Any, *, alpha: float = ALPHA, block_rows: int = BLOCK_ROWS) -> NeuronStats:
    """Statistics and the ``(1 − α)`` quantile threshold of every column of ``X``, blockwise.

    Args:
        X: ``[n_words, n_neurons]`` array or memory map (any float dtype).
        alpha: top fraction above the threshold (NetDissect's 0.005, METHODS.md §1.1).
        block_rows: rows read at a time.

    Example::

        >>> X = np.arange(12, dtype=np.float32).reshape(6, 2)
        >>> st = neuron_stats(X, alpha=0.5)
        >>> st.threshold.tolist() == np.quantile(X, 0.5, axis=0).tolist()
        True
    """
    n, d = X.shape
    if n == 0:
        raise ValueError("no rows")
    m = top_buffer_size(n, alpha)
    total = np.zeros(d, np.float64)
    total_sq = np.zeros(d, np.float64)
    lo = np.full(d, np.inf)
    hi = np.full(d, -np.inf)
    pos = np.zeros(d, np.int64)
    top = np.empty((0, d), np.float32)
    for start, stop in iter_blocks(n, block_rows):
        block = np.asarray(X[start:stop], dtype=np.float32)
        total += block.sum(0, dtype=np.float64)
        total_sq += np.einsum("ij,ij->j", block, block, dtype=np.float64)
        np.minimum(lo, block.min(0), out=lo)
        np.maximum(hi, block.max(0), out=hi)
        pos += (block > 0).sum(0)
        merged = np.concatenate([top, block], axis=0)
        if merged.shape[0] > m:
            merged = np.partition(merged, merged.shape[0] - m, axis=0)[-m:]
        top = merged
    top.sort(axis=0)
    threshold = quantile_from_top(top, n, alpha)
    return NeuronStats(n, total, total_sq, lo, hi, pos, threshold, alpha)


@dataclass
class CorpusStats:
    """Sufficient statistics of one layer against a set of concepts (METHODS.md §10.1).

    Attributes:
        neurons: the per-neuron :class:`NeuronStats` (threshold at ``alpha``).
        n_pos: ``[n_concepts]`` words with each concept.
        pos_sum: ``[n_neurons, n_concepts]`` sum of ``a_n`` over the concept's words (``Xᵀ Y``).
        intersect: ``[n_neurons, n_concepts]`` ``|M_n ∧ y_c|`` with ``M_n = a_n > T_n``.
        fire_count: ``[n_neurons]`` ``|M_n|``.
        threshold_rule: ``quantile`` (``T_n``) or ``positive`` (``T_n = 0``).
    """

    neurons: NeuronStats
    n_pos: np.ndarray
    pos_sum: np.ndarray | None
    intersect: np.ndarray | None
    fire_count: np.ndarray | None
    threshold_rule: str

    @property
    def n(self) -> int:
        return self.neurons.count

    @property
    def thresholds(self) -> np.ndarray:
        if self.threshold_rule == "positive":
            return np.zeros_like(self.neurons.threshold)
        return self.neurons.threshold

    @classmethod
    def compute(
        cls,
        X: Any,
        Y: np.ndarray,
        *,
        alpha: float = 0.005,
        threshold_rule: str = "quantile",
        sums: bool = True,
        intersections: bool = True,
        neurons: NeuronStats | None = None,
        block_rows: int = BLOCK_ROWS,
    ) -> CorpusStats:
        """Two blockwise passes: neuron statistics, then ``Xᵀ Y`` and ``(X > T)ᵀ Y`` together."""
        if neurons is None:
            neurons = neuron_stats(X, alpha=alpha, block_rows=block_rows)
        out = cls(neurons, np.asarray(Y, bool).sum(0).astype(np.int64), None, None, None, threshold_rule)
        if sums or intersections:
            pos_sum, inter, fire = accumulate(
                X, Y, out.thresholds if intersections else None, sums=sums, block_rows=block_rows
            )
            out.pos_sum, out.intersect, out.fire_count = pos_sum, inter, fire
        return out

    def ensure(self, X: Any, Y: np.ndarray, *, sums: bool = False, intersections: bool = False) -> None:
        """Compute the parts not computed yet (one pass for both)."""
        need_sums = sums and self.pos_sum is None
        need_inter = intersections and self.intersect is None
        if need_sums or need_inter:
            pos_sum, inter, fire = accumulate(X, Y, self.thresholds if need_inter else None, sums=need_sums)
            if need_sums:
                self.pos_sum = pos_sum
            if need_inter:
                self.intersect, self.fire_count = inter, fire

    def means(self) -> tuple[np.ndarray, np.ndarray]:
        """``(μ⁺, μ⁻)``: mean activation on and off each concept, ``[n_neurons, n_concepts]``."""
        assert self.pos_sum is not None
        n_pos = self.n_pos[None, :].astype(np.float64)
        n_neg = self.n - n_pos
        with np.errstate(invalid="ignore", divide="ignore"):
            mu_pos = self.pos_sum / n_pos
            mu_neg = (self.neurons.sum[:, None] - self.pos_sum) / n_neg
        return mu_pos, mu_neg


def _threshold_test(block: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    """``block > thresholds`` per column; float16 blocks are compared on their 16-bit keys
    (exact: against the largest float16 not above each threshold), with no float conversion."""
    if block.dtype == np.float16:
        from atlas.methods.ranking import float16_keys

        t16 = thresholds.astype(np.float16)
        down = t16.astype(np.float64) > thresholds  # rounded up: step one float16 down
        t16 = np.where(down, np.nextafter(t16, np.float16(-np.inf)), t16)
        return float16_keys(block) > float16_keys(t16)[None, :]
    return np.asarray(block, dtype=np.float32) > thresholds.astype(np.float32)[None, :]


def accumulate(
    X: Any,
    Y: np.ndarray,
    thresholds: np.ndarray | None,
    *,
    sums: bool = True,
    block_rows: int = BLOCK_ROWS,
) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """One pass over row blocks: ``Xᵀ Y`` (if ``sums``) and ``(X > T)ᵀ Y``, ``|X > T|`` (if thresholds).

    ``Xᵀ Y`` is a float32 matrix product per block, added in float64. The threshold masks are
    sparse (a fraction alpha of the words), so their intersections are a sparse × dense product
    of the (word, neuron) pairs above threshold with ``Y``; a dense mask (more than 5 % of
    entries, e.g. the ``> 0`` rule) uses a float32 matrix product instead.
    """
    from scipy import sparse

    n, d = X.shape
    c = Y.shape[1]
    pos_sum = np.zeros((d, c), np.float64) if sums else None
    inter = np.zeros((d, c), np.float64) if thresholds is not None else None
    fire = np.zeros(d, np.int64) if thresholds is not None else None
    for start, stop in iter_blocks(n, block_rows):
        raw = np.asarray(X[start:stop])
        yb = np.asarray(Y[start:stop], dtype=np.float32)
        if pos_sum is not None:
            pos_sum += np.asarray(raw, dtype=np.float32).T @ yb
        if thresholds is not None:
            assert inter is not None and fire is not None
            fires = _threshold_test(raw, thresholds)
            rows, cols = np.nonzero(fires)
            fire += np.bincount(cols, minlength=d)
            if rows.shape[0] > 0.05 * fires.size:
                inter += fires.astype(np.float32).T @ yb
            elif rows.shape[0]:
                m = sparse.csr_matrix(
                    (np.ones(rows.shape[0], np.float32), (cols, rows)), shape=(d, stop - start)
                )
                inter += m @ yb
    return pos_sum, inter, fire
