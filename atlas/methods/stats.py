"""Per-neuron statistics, quantile thresholds and the shared sufficient statistics, blockwise.

Everything here reads activations in blocks of rows (``block_rows`` words at a time), so memory
stays flat as the corpus grows (METHODS.md §10.1):

* :func:`neuron_stats` — count, mean, std, min, max, fire rate (``> 0``) and the NetDissect
  threshold ``T_n``, the per-neuron ``(1 − α)`` quantile (METHODS.md §1.1; α = 0.005). The
  quantile is exact (``numpy.quantile``'s linear rule): a running buffer keeps each neuron's top
  ``⌈α·N⌉ + 2`` values, never the whole column.
  It also keeps the neuron's top-mask cut ``C_n``, its ``k``-th largest value with
  ``k = top_count(N, α)`` (see below).
* :class:`CorpusStats` — per (neuron, concept) sums over concept rows ``Xᵀ Y`` and intersections
  ``|M_n ∧ y_c| = M_nᵀ Y``, both as float32 matrix products per block.

Neuron masks (the ``mask`` parameter of ``iou``, ``precision``, ``recall``, ``mi``):

* ``top`` (default): the neuron's top ``k = max(1, ⌊α·N + ½⌋)`` words by activation — a
  *rank-based* mask, so ``|M_n| = k`` exactly, also for discrete or tied activations (a
  quantile threshold ``a > T`` is empty when the top values tie, and a 0/1 indicator neuron
  would get IoU 0). **Tie rule:** words strictly above the cut value ``C_n`` (the ``k``-th
  largest) are in; the ``e_n`` words equal to ``C_n`` share the ``k − g_n`` remaining places,
  each counting ``(k − g_n) / e_n`` (``g_n`` = words above ``C_n``). This is the expectation of
  the mask over a uniformly random order of the tied words: deterministic, independent of row
  order, and equal to the plain top-``k`` when there is no tie at the cut.
* ``fires``: ``a > 0`` (compexp's NLI setting; alpha is not used).
* ``size``: per concept, the neuron's top ``|y_c|`` words (a concept-size-matched mask, same tie
  rule; computed in :func:`atlas.methods.ranking.size_matched_hits`; alpha is not used). Then
  precision = recall = ``I / |y_c|`` and IoU = ``I / (2|y_c| − I)``, whose ceiling is 1 for
  every concept size, while under ``top`` IoU is at most ``min(k, |y_c|) / max(k, |y_c|)``.

Example::

    st = neuron_stats(X, alpha=0.005)
    cs = CorpusStats.compute(X, Y, alpha=0.005)          # top mask, ties shared
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

#: Neuron mask rules of the threshold methods (module docstring): rank-based top alpha,
#: ``> 0``, concept-size-matched top.
MASKS = ("top", "fires", "size")


def top_count(n_rows: int, alpha: float) -> int:
    """``k``, the size of the top-alpha mask: ``alpha * n_rows`` rounded half up, at least 1.

    >>> top_count(21000, 0.005), top_count(10, 0.005), top_count(1000, 0.0025)
    (105, 1, 3)
    """
    return max(1, min(n_rows, int(math.floor(alpha * n_rows + 0.5))))


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

    ``threshold`` is the ``(1 − alpha)`` quantile ``T_n`` (what ``neuron_stat.threshold``
    stores); ``cut`` the ``k``-th largest value ``C_n`` with ``k = top_count(count, alpha)``
    (the top mask's cut, module docstring); ``fire_rate`` = fraction of words with ``a_n(t) > 0``.
    """

    count: int
    sum: np.ndarray
    sumsq: np.ndarray
    min: np.ndarray
    max: np.ndarray
    positive: np.ndarray
    threshold: np.ndarray
    alpha: float
    cut: np.ndarray | None = None

    @property
    def k(self) -> int:
        """Size of the top-alpha mask."""
        return top_count(self.count, self.alpha)

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
    m = max(top_buffer_size(n, alpha), top_count(n, alpha))
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
    threshold = quantile_from_top(top[top.shape[0] - top_buffer_size(n, alpha):], n, alpha)
    cut = top[top.shape[0] - top_count(n, alpha)].astype(np.float64)
    return NeuronStats(n, total, total_sq, lo, hi, pos, threshold, alpha, cut)


@dataclass
class CorpusStats:
    """Sufficient statistics of one layer against a set of concepts (METHODS.md §10.1).

    Attributes:
        neurons: the per-neuron :class:`NeuronStats` (threshold and cut at ``alpha``).
        n_pos: ``[n_concepts]`` words with each concept.
        pos_sum: ``[n_neurons, n_concepts]`` sum of ``a_n`` over the concept's words (``Xᵀ Y``).
        intersect: ``[n_neurons, n_concepts]`` ``|M_n ∧ y_c|`` (for ``top``, tied words at the
            cut count fractionally: module docstring).
        fire_count: ``[n_neurons]`` ``|M_n|`` (``k`` for every neuron under ``top``).
        mask: ``top`` (rank-based top alpha) or ``fires`` (``a > 0``).
    """

    neurons: NeuronStats
    n_pos: np.ndarray
    pos_sum: np.ndarray | None
    intersect: np.ndarray | None
    fire_count: np.ndarray | None
    mask: str

    @property
    def n(self) -> int:
        return self.neurons.count

    @property
    def thresholds(self) -> np.ndarray:
        """The mask's cut per neuron: ``C_n`` for ``top`` (words at it count fractionally), 0 for ``fires``."""
        if self.mask == "fires":
            return np.zeros_like(self.neurons.threshold)
        assert self.neurons.cut is not None
        return self.neurons.cut

    @classmethod
    def compute(
        cls,
        X: Any,
        Y: np.ndarray,
        *,
        alpha: float = ALPHA,
        mask: str = "top",
        sums: bool = True,
        intersections: bool = True,
        neurons: NeuronStats | None = None,
        block_rows: int = BLOCK_ROWS,
    ) -> CorpusStats:
        """Two blockwise passes: neuron statistics, then ``Xᵀ Y`` and ``M_nᵀ Y`` together."""
        if neurons is None:
            neurons = neuron_stats(X, alpha=alpha, block_rows=block_rows)
        out = cls(neurons, np.asarray(Y, bool).sum(0).astype(np.int64), None, None, None, mask)
        out.ensure(X, Y, sums=sums, intersections=intersections, block_rows=block_rows)
        return out

    def ensure(
        self, X: Any, Y: np.ndarray, *, sums: bool = False, intersections: bool = False, block_rows: int = BLOCK_ROWS
    ) -> None:
        """Compute the parts not computed yet (one pass for both)."""
        need_sums = sums and self.pos_sum is None
        need_inter = intersections and self.intersect is None
        if not (need_sums or need_inter):
            return
        ties = self.mask == "top"
        acc = accumulate(
            X, Y, self.thresholds if need_inter else None, sums=need_sums, ties=ties, block_rows=block_rows
        )
        if need_sums:
            self.pos_sum = acc.pos_sum
        if need_inter:
            assert acc.inter is not None and acc.above is not None
            if ties:
                assert acc.inter_eq is not None and acc.equal is not None
                share = (self.neurons.k - acc.above) / np.maximum(acc.equal, 1)
                self.intersect = acc.inter + share[:, None] * acc.inter_eq
                self.fire_count = acc.above + share * acc.equal
            else:
                self.intersect, self.fire_count = acc.inter, acc.above.astype(np.float64)

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


def _equal_test(block: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """``block == cuts`` per column; the cuts are values of the columns (exact in float32)."""
    return np.asarray(block, dtype=np.float32) == cuts.astype(np.float32)[None, :]


def _mask_product(fires: np.ndarray, yb: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """``(firesᵀ yb, |fires| per column)``: sparse × dense when the mask is sparse (under 5 % of
    entries), else a float32 matrix product."""
    from scipy import sparse

    rows, cols = np.nonzero(fires)
    count = np.bincount(cols, minlength=d)
    if rows.shape[0] > 0.05 * fires.size:
        return fires.astype(np.float32).T @ yb, count
    if not rows.shape[0]:
        return np.zeros((d, yb.shape[1]), np.float32), count
    m = sparse.csr_matrix((np.ones(rows.shape[0], np.float32), (cols, rows)), shape=(d, fires.shape[0]))
    return np.asarray(m @ yb), count


@dataclass
class Accumulated:
    """What :func:`accumulate` returns (``None`` where not asked for)."""

    pos_sum: np.ndarray | None  # Xᵀ Y
    inter: np.ndarray | None  # (X > T)ᵀ Y
    above: np.ndarray | None  # |X > T| per neuron
    inter_eq: np.ndarray | None = None  # (X == T)ᵀ Y (ties)
    equal: np.ndarray | None = None  # |X == T| per neuron


def accumulate(
    X: Any,
    Y: np.ndarray,
    thresholds: np.ndarray | None,
    *,
    sums: bool = True,
    ties: bool = False,
    block_rows: int = BLOCK_ROWS,
) -> Accumulated:
    """One pass over row blocks: ``Xᵀ Y`` (if ``sums``), ``(X > T)ᵀ Y`` and ``|X > T|`` (if
    thresholds), and with ``ties`` also ``(X == T)ᵀ Y`` and ``|X == T|``.

    ``Xᵀ Y`` is a float32 matrix product per block, added in float64. The masks are usually
    sparse (a fraction alpha of the words), so their intersections are a sparse × dense product
    of the (word, neuron) pairs in the mask with ``Y``; a dense mask (more than 5 % of entries,
    e.g. the ``> 0`` rule) uses a float32 matrix product instead.
    """
    n, d = X.shape
    c = Y.shape[1]
    has_t = thresholds is not None
    out = Accumulated(
        np.zeros((d, c), np.float64) if sums else None,
        np.zeros((d, c), np.float64) if has_t else None,
        np.zeros(d, np.int64) if has_t else None,
        np.zeros((d, c), np.float64) if has_t and ties else None,
        np.zeros(d, np.int64) if has_t and ties else None,
    )
    from atlas.methods.device import accumulate_block, current_device

    dev = current_device()
    for start, stop in iter_blocks(n, block_rows):
        raw = np.asarray(X[start:stop])
        yb = np.asarray(Y[start:stop], dtype=np.float32)
        if dev is not None:  # atlas score --device: the products on the device (atlas.methods.device)
            for name, value in accumulate_block(raw, yb, thresholds, sums, ties, dev).items():
                getattr(out, name).__iadd__(value)
            continue
        if out.pos_sum is not None:
            out.pos_sum += np.asarray(raw, dtype=np.float32).T @ yb
        if thresholds is not None:
            assert out.inter is not None and out.above is not None
            prod, count = _mask_product(_threshold_test(raw, thresholds), yb, d)
            out.inter += prod
            out.above += count
            if ties:
                assert out.inter_eq is not None and out.equal is not None
                prod, count = _mask_product(_equal_test(raw, thresholds), yb, d)
                out.inter_eq += prod
                out.equal += count
    return out


def binary_masks(
    X: Any, *, mask: str = "top", alpha: float = ALPHA, neurons: NeuronStats | None = None, block_rows: int = BLOCK_ROWS
) -> np.ndarray:
    """Every neuron's mask as plain booleans, ``bool [n_words, n_neurons]`` (for searches that
    combine masks with other masks, such as compositional explanations).

    ``mask`` is ``top`` (the top ``k = top_count(N, alpha)`` words, rank-based, so ``|M_n| = k``
    exactly) or ``fires`` (``a > 0``). A boolean mask cannot share the words tied at the cut
    ``C_n`` fractionally (the module docstring's rule for scores): here the tied words fill the
    ``k − g_n`` remaining places in row order. Without a tie at the cut both rules give the
    plain top-``k``, so the IoU of such a mask with a concept equals the ``iou`` score.

    Example::

        >>> X = np.array([[3.0, 0.0], [1.0, 2.0], [2.0, 2.0], [0.0, -1.0]], np.float32)
        >>> binary_masks(X, alpha=0.5).T.astype(int).tolist()
        [[1, 0, 1, 0], [0, 1, 1, 0]]
        >>> binary_masks(X, mask="fires").T.astype(int).tolist()
        [[1, 1, 1, 0], [0, 1, 1, 0]]
    """
    if mask not in ("top", "fires"):
        raise ValueError(f"a binary mask is 'top' or 'fires', not {mask!r}")
    n, d = X.shape
    out = np.zeros((n, d), dtype=bool)
    if mask == "fires":
        for start, stop in iter_blocks(n, block_rows):
            out[start:stop] = _threshold_test(np.asarray(X[start:stop]), np.zeros(d))
        return out
    k = top_count(n, alpha)
    cols = max(1, (BLOCK_ROWS * 256) // max(1, n))  # columns read at a time (whole columns: exact cuts)
    for lo in range(0, d, cols):
        block = np.asarray(X[:, lo : lo + cols], dtype=np.float32)
        cut = neurons.cut[lo : lo + cols] if neurons is not None and neurons.alpha == alpha and neurons.cut is not None \
            else np.partition(block, n - k, axis=0)[n - k]
        above = block > cut[None, :]
        tied = block == cut[None, :]
        room = k - above.sum(0)
        out[:, lo : lo + cols] = above | (tied & (np.cumsum(tied, axis=0) <= room[None, :]))
    return out
