"""Average precision of every neuron against every concept, vectorised (METHODS.md §2).

``AP_n(c) = Σ_k (R_k − R_{k−1}) · P_k`` over the distinct activation values of neuron ``n`` taken
as thresholds, descending — scikit-learn's ``average_precision_score``, ties included. Written
per positive word ``t`` of ``c``::

    AP_n(c) = (1 / P_c) · Σ_{t ∈ c} TP_c(≥ a_n(t)) / K_n(≥ a_n(t))

with ``K_n(≥ v)`` the number of words where ``a_n ≥ v`` and ``TP_c(≥ v)`` the number of those
that carry ``c``. Both are counts over *ranks*, so each neuron's values are first turned into
integer keys that sort like the values (for float16 activations, the 16 bits themselves;
otherwise dense ranks). Then, for a block of neurons at once:

* ``K`` comes from a histogram of keys (``bincount``) and its cumulative sum — no sort;
* the positive (word, concept) pairs are sorted by (concept, key) with two stable radix sorts on
  16-bit keys; ``TP`` is the position inside the concept's segment (the end of its run of
  ties);
* ``AP`` is a segment sum (``add.reduceat``) of ``TP / K``.

No Python loop over neurons or concepts; the work is ``O(nnz(Y) · n_neurons)``. Neurons are
processed in column blocks sized to a memory budget.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from atlas.methods.device import average_precision_torch, current_device

#: Bytes the AP pass may use for its blocks of neurons (all threads together).
MEMORY_BUDGET = 256 << 20

#: Threads for the AP pass (blocks of neurons in parallel).
THREADS = max(1, min(4, os.cpu_count() or 1))


def float16_keys(values: np.ndarray) -> np.ndarray:
    """uint16 keys that sort like float16 values (``−0`` is folded onto ``+0``).

    >>> v = np.array([-2, -0.0, 0, 0.5, 3], np.float16)
    >>> k = float16_keys(v); bool(np.all(np.diff(k.astype(int)) >= 0)), int(k[1]) == int(k[2])
    (True, True)
    """
    bits = np.ascontiguousarray(values, dtype=np.float16).view(np.uint16)
    sign = (bits.view(np.int16) >> 15).view(np.uint16)  # 0xFFFF for negatives, 0 otherwise
    keys = bits ^ (sign | np.uint16(0x8000))  # negatives: all bits flipped; positives: sign bit set
    keys += keys == np.uint16(0x7FFF)  # -0 (the only key 0x7FFF) onto +0 (0x8000)
    return keys


def dense_rank_keys(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Per-column dense ranks (0 = smallest) of any float array, and the number of key values.

    >>> dense_rank_keys(np.array([[0.5], [0.1], [0.5]]))[0].ravel().tolist()
    [1, 0, 1]
    """
    n, d = values.shape
    order = np.argsort(values, axis=0, kind="stable")
    srt = np.take_along_axis(values, order, axis=0)
    new = np.ones((n, d), bool)
    new[1:] = srt[1:] != srt[:-1]
    ranks_sorted = np.cumsum(new, axis=0) - 1
    keys = np.empty((n, d), np.int64)
    np.put_along_axis(keys, order, ranks_sorted, axis=0)
    dtype = np.uint16 if n <= 65536 else np.int64
    return keys.astype(dtype), n


def _descending_keys(block: np.ndarray) -> tuple[np.ndarray, int]:
    """Keys that sort *descending* in activation (0 = largest), and the key range."""
    if block.dtype == np.float16 and block.shape[0] >= 16384:
        return (np.uint16(0xFFFF) - float16_keys(block)).astype(np.uint16), 65536
    keys, r = dense_rank_keys(block)
    return (r - 1 - keys.astype(np.int64)).astype(keys.dtype), r


class PositivePairs:
    """The (word, concept) pairs where ``Y`` is true, grouped by concept (CSC layout)."""

    def __init__(self, Y: np.ndarray) -> None:
        Y = np.asarray(Y, bool)
        cols, rows = np.nonzero(Y.T)  # sorted by concept, then row
        self.rows = rows.astype(np.int64)
        self.concepts = cols.astype(np.uint16 if Y.shape[1] <= 65536 else np.int64)
        self.counts = Y.sum(0).astype(np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.counts)[:-1]]).astype(np.int64)
        self.n_concepts = Y.shape[1]

    @property
    def nnz(self) -> int:
        return int(self.rows.shape[0])


def average_precision(
    X: Any,
    Y: np.ndarray,
    *,
    pairs: PositivePairs | None = None,
    memory_budget: int = MEMORY_BUDGET,
    progress: Any = None,
) -> np.ndarray:
    """AP of every column of ``X`` (scores) against every column of ``Y`` (labels).

    Args:
        X: ``[n_words, n_neurons]`` activations (float16 keeps exact ties cheaply; any float works).
        Y: ``[n_words, n_concepts]`` bool labels.
        pairs: precomputed :class:`PositivePairs` of ``Y`` (shared between layers).
        memory_budget: bytes for one block of neurons.
        progress: optional callable ``progress(n_done)``.

    Returns:
        ``[n_neurons, n_concepts]`` float64; NaN for a concept without positives.

    Example::

        >>> from sklearn.metrics import average_precision_score
        >>> rng = np.random.default_rng(0); X = rng.normal(size=(50, 3)); Y = rng.random((50, 2)) < .3
        >>> ap = average_precision(X, Y)
        >>> bool(np.isclose(ap[1, 0], average_precision_score(Y[:, 0], X[:, 1])))
        True
    """
    n, d = X.shape
    if pairs is None:
        pairs = PositivePairs(Y)
    if current_device() is not None:  # atlas score --device: the sorts on the device (atlas.methods.device)
        return average_precision_torch(X, pairs, current_device(), progress=progress)
    c = pairs.n_concepts
    out = np.full((d, c), np.nan)
    nnz = pairs.nnz
    if nnz == 0 or d == 0:
        return out
    key_range = 65536 if X.dtype == np.float16 and n >= 16384 else n
    shift = 16 if key_range <= 65536 else 32
    key_dtype = np.uint32 if shift == 16 else np.uint64
    conc_shifted = (pairs.concepts.astype(key_dtype) << key_dtype(shift))[None, :]
    conc_idx = pairs.concepts.astype(np.int64)
    # TP of the element at sorted position j (before ties): its place in its concept's segment.
    tp_base = (np.arange(nnz, dtype=np.int64) - pairs.starts[conc_idx] + 1).astype(np.float64)
    threads = max(1, min(THREADS, d))
    per_col = nnz * 40 + key_range * 16 + n * 10
    width = int(max(1, min(-(-d // threads), memory_budget // threads // max(per_col, 1))))

    def block_ap(j0: int) -> int:
        j1 = min(d, j0 + width)
        block = np.asarray(X[:, j0:j1])
        if block.dtype not in (np.float16, np.float32, np.float64):
            block = block.astype(np.float64)
        keys, r = _descending_keys(block)  # [n, w], 0 = largest
        w = j1 - j0
        # K(≥ v): cumulative histogram of the descending keys, per column.
        offs = (np.arange(w, dtype=np.int64) * r)[None, :]
        cum = np.bincount((keys.astype(np.int64) + offs).ravel(), minlength=w * r).reshape(w, r)
        np.cumsum(cum, axis=1, out=cum)
        # (concept, key) of every positive pair, sorted per neuron: segments by concept, each
        # segment in descending activation.
        srt = np.sort(conc_shifted | keys[pairs.rows].T.astype(key_dtype), axis=1)
        # Runs of ties (same concept and value); a row's last element always ends a run. Only
        # the last element of a run contributes: run length × TP / K.
        ends = np.empty((w, nnz), bool)
        ends[:, -1] = True
        np.not_equal(srt[:, 1:], srt[:, :-1], out=ends[:, :-1])
        row, col = np.nonzero(ends)
        del ends
        flat = row * nnz + col
        run_len = np.empty_like(flat)
        run_len[0] = flat[0] + 1
        np.subtract(flat[1:], flat[:-1], out=run_len[1:])
        val = (srt.ravel()[flat] & key_dtype((1 << shift) - 1)).astype(np.int64)
        del srt, flat
        k = cum.ravel()[row * r + val]
        contrib = run_len * (tp_base[col] / k)
        sums = np.bincount(row * c + conc_idx[col], weights=contrib, minlength=w * c).reshape(w, c)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[j0:j1] = np.where(pairs.counts[None, :] > 0, sums / pairs.counts[None, :], np.nan)
        return w

    # Blocks are independent and numpy's sorts release the GIL: one thread per core.
    starts = range(0, d, width)
    if threads == 1:
        done = map(block_ap, starts)
    else:
        pool = ThreadPoolExecutor(max_workers=threads)
        done = pool.map(block_ap, starts)
    try:
        for w in done:
            if progress is not None:
                progress(w)
    finally:
        if threads > 1:
            pool.shutdown()
    return out


def sentence_pool(
    X: Any, Y: np.ndarray, sentence_index: np.ndarray, *, block_rows: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """Max-pool activations and OR-pool labels over sentences (METHODS.md §2: ``ap_sentence``).

    Rows must be in corpus order (a sentence's words contiguous). Reads ``X`` in row blocks cut
    at sentence boundaries.

    Returns:
        ``(pooled_X [n_sentences, n_neurons], pooled_Y [n_sentences, n_concepts])``; pooled_X keeps
        ``X``'s dtype.
    """
    sentence_index = np.asarray(sentence_index)
    n = sentence_index.shape[0]
    starts = np.flatnonzero(np.r_[True, sentence_index[1:] != sentence_index[:-1]])
    s = starts.shape[0]
    dtype = X.dtype if X.dtype in (np.float16, np.float32, np.float64) else np.float64
    px = np.empty((s, X.shape[1]), dtype)
    py = np.logical_or.reduceat(np.asarray(Y, bool), starts, axis=0)
    i = 0
    while i < s:
        j = int(np.searchsorted(starts, starts[i] + block_rows, side="left"))
        j = max(j, i + 1)
        row0 = starts[i]
        row1 = starts[j] if j < s else n
        block = np.asarray(X[row0:row1])
        px[i:j] = np.maximum.reduceat(block, starts[i:j] - row0, axis=0)
        i = j
    return px, py


def size_matched_hits(
    X: Any, Y: np.ndarray, *, pairs: PositivePairs | None = None, memory_budget: int = MEMORY_BUDGET
) -> np.ndarray:
    """For every neuron and concept, how many of the concept's words are among the neuron's top
    ``|y_c|`` words (the concept-size-matched mask, :mod:`atlas.methods.stats`).

    Tie rule (as the top-alpha mask): a word whose value ties with others across the cut counts
    ``(|y_c| − above) / tied``, the chance it is in the mask when the tied words are ordered at
    random. In rank terms: with ``lo`` words strictly above the word's value and ``hi`` at or
    above it, the word counts ``clip((|y_c| − lo) / (hi − lo), 0, 1)``.

    Returns:
        float64 ``[n_neurons, n_concepts]`` (0 for a concept without words).

    Example::

        >>> X = np.array([[3.], [2.], [2.], [0.]]); Y = np.array([[1, 0], [0, 1], [1, 0], [0, 1]], bool)
        >>> size_matched_hits(X, Y).tolist()   # concept 0: top-2 = {3, one of the two 2s}
        [[1.5, 0.5]]
    """
    n, d = X.shape
    if pairs is None:
        pairs = PositivePairs(Y)
    c = pairs.n_concepts
    out = np.zeros((d, c))
    if pairs.nnz == 0 or d == 0:
        return out
    size = pairs.counts[pairs.concepts.astype(np.int64)].astype(np.float64)  # |y_c| of each pair
    conc = pairs.concepts.astype(np.int64)
    per_col = pairs.nnz * 40 + n * 24
    width = int(max(1, min(d, memory_budget // max(per_col, 1))))
    for j0 in range(0, d, width):
        j1 = min(d, j0 + width)
        block = np.asarray(X[:, j0:j1])
        if block.dtype not in (np.float16, np.float32, np.float64):
            block = block.astype(np.float64)
        keys, r = _descending_keys(block)  # 0 = largest
        w = j1 - j0
        offs = (np.arange(w, dtype=np.int64) * r)[None, :]
        hist = np.bincount((keys.astype(np.int64) + offs).ravel(), minlength=w * r).reshape(w, r)
        at_or_above = np.cumsum(hist, axis=1)
        pk = keys[pairs.rows].astype(np.int64)  # [nnz, w]
        cols = np.arange(w)[None, :]
        hi = at_or_above[cols, pk].astype(np.float64)
        tied = hist[cols, pk].astype(np.float64)
        share = np.clip((size[:, None] - (hi - tied)) / tied, 0.0, 1.0)  # [nnz, w]
        hits = np.zeros((w, c))
        for i in range(w):
            hits[i] = np.bincount(conc, weights=share[:, i], minlength=c)
        out[j0:j1] = hits
    return out
