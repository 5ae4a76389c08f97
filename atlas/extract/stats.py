"""Per-neuron statistics and top-k words, accumulated while the activations stream by.

**Design choice.** Statistics are computed from the float16 rows exactly as they are stored,
chunk by chunk, right after a chunk is computed (:class:`StreamStats`), not by a final pass over
the files: the statistics describe what the methods will read (float16), not the float32 values
before rounding. Each chunk gives a :class:`PartialStats` (its sums, minima, maxima, counts
and top-value candidates), computed wherever the chunk ran; :class:`StatsMerger` merges the
partials in chunk order, so the values depend only on the rows and the chunk bounds, never on
which worker ran which chunk or in which order they finished. A chunk done by an earlier process
is read back from the array (same bytes, so the same partial), so a resumed run gets exactly the
values of an uninterrupted one. :func:`layer_stats` does the same over a stored file.

Per neuron: ``count``, ``mean``, ``std`` (population, ddof=0), ``min``, ``max``, ``fire_rate``
(fraction of words with activation > 0) and the ``k`` words with the highest activations (rank 0 first, ties broken by the lower row). Sums run in float64 (a float16
value and its square are exact in float64), over fixed groups of rows in row order, so they
depend only on the rows and on the blocks they were fed in (the job's chunks), never on threads
or cores.

How the top values are kept cheaply: a float16 value's magnitude bits, as an int16 negated for
negative numbers, order like the values (``_order_key``). The kept top ``k`` of a neuron are
int64 keys ``(value key + 2**15) << 32 | (2**32 - 1 - row)`` (value desc, then row asc). The
first block offers all its values; later blocks only the values above the neuron's current
``k``-th value (a handful per neuron). Candidates merge with one int64 sort of (neuron, key)
pairs (numpy's vectorised sort): no per-neuron partition or top-k is ever needed.

No quantile threshold here: an exact one needs ``alpha * n`` values per neuron, for every layer
at once (1.8 GB for BERT-base over a million words), so memory would grow with the corpus. The
scoring job, which reads one layer at a time, computes it (:mod:`atlas.methods.stats`) and
records it in ``neuron_stat.threshold``.

Example::

    merger = StatsMerger(width=1536, n_rows=21_176, k=20)
    for r0, r1 in chunks:                     # in row order
        acc = StreamStats(1536, r1 - r0, k=20, first_row=r0, floor=merger.floor())
        acc.update(block(r0, r1), first_row=r0)   # float16 [rows, 1536]
        merger.add(acc.partial())             # partials may be computed anywhere, merged in order
    stats = merger.result()
    stats.mean[:5], stats.top_rows[0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

#: Bytes of float64 scratch per group of rows reduced at once (fits in a CPU cache).
GROUP_BYTES = 1 << 20
#: Rows per block when :func:`layer_stats` reads a file without given bounds.
SUB_ROWS = 2048
_GRAIN = 32768  # elements: torch runs an elementwise op on one thread below this
_LOW = np.int64(0xFFFFFFFF)
_KEY_OFFSET = 1 << 15  # int16 order keys + this are 1..65535; a key of 0 marks an empty slot
_KEY_MASK = np.int64((1 << 48) - 1)


@dataclass
class LayerStats:
    """Statistics of the ``width`` neurons of one activation file (arrays of length ``width``)."""

    count: int
    mean: np.ndarray
    std: np.ndarray
    min: np.ndarray
    max: np.ndarray
    fire_rate: np.ndarray
    top_rows: np.ndarray  # [width, k] int64, rank 0 first
    top_values: np.ndarray  # [width, k] float64


def _order_key(block: np.ndarray) -> np.ndarray:
    """int16 keys that order like the float16 values: ``+mag`` or ``-mag`` of the magnitude bits
    (``-0`` and ``+0`` both give 0, as they compare equal)."""
    bits = block.view(np.int16)
    sign = bits >> 15  # 0 or -1
    return ((bits & np.int16(0x7FFF)) ^ sign) - sign


def _key_values(keys: np.ndarray) -> np.ndarray:
    """float64 values of int16 order keys."""
    keys = np.asarray(keys, dtype=np.int16)
    mags = np.abs(keys).view(np.float16).astype(np.float64)
    return np.where(keys < 0, -mags, mags)


@dataclass
class PartialStats:
    """The statistics of rows ``[first_row, first_row + count)`` of one file, ready to merge
    (:class:`StatsMerger`) with those of the rows before and after.

    ``total`` and ``total_sq`` are float64 sums over the rows; ``lo``/``hi`` minima and maxima;
    ``positive`` counts of values > 0; ``cols``/``keys`` the top-value candidates (neuron, key)
    of these rows: every value of them that can be among its neuron's ``k`` best over the whole
    file (each chunk's own top ``k``, or fewer when a ``floor`` ruled values out).
    """

    first_row: int
    count: int
    total: np.ndarray
    total_sq: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    positive: np.ndarray
    cols: np.ndarray
    keys: np.ndarray


class _TopK:
    """The kept top ``m`` keys of each neuron, with candidates pooled until a merge pays."""

    def __init__(self, width: int, m: int) -> None:
        self.width, self.m = width, m
        self.top = np.zeros((width, m), dtype=np.int64)  # keys, ascending; 0 = empty
        self.pool: list[tuple[np.ndarray, np.ndarray]] = []  # candidates not merged yet
        self.pool_n = 0

    def offer(self, cols: np.ndarray, keys: np.ndarray) -> None:
        if len(cols):
            self.pool.append((cols, keys))
            self.pool_n += len(cols)

    def merge(self) -> None:
        """Merge the pooled candidates into each neuron's kept top m: one sort of (neuron, key)
        pairs, then the last m of each neuron's run."""
        if not self.pool_n:
            return
        width, m = self.width, self.m
        cols = np.concatenate([c for c, _ in self.pool])
        cand = np.concatenate([k for _, k in self.pool])
        self.pool, self.pool_n = [], 0
        counts = np.bincount(cols, minlength=width)
        kept_cols = np.repeat(np.arange(width, dtype=np.int64), m)
        if width < (1 << 15):
            # neuron in the top 15 bits, key (48 bits) below: one int64 sort
            pairs = np.concatenate([(kept_cols << 48) | self.top.reshape(-1), (cols.astype(np.int64) << 48) | cand])
            pairs.sort()
            keys = pairs  # the neuron bits go with the mask below
        else:
            all_cols = np.concatenate([kept_cols, cols])
            all_keys = np.concatenate([self.top.reshape(-1), cand])
            keys = all_keys[np.lexsort((all_keys, all_cols))]
        ends = np.cumsum(counts + m)
        self.top = keys[ends[:, None] - m + np.arange(m)] & _KEY_MASK

    def kth_keys(self) -> np.ndarray:
        """Each neuron's m-th kept value key (``(key + 2**15)``, 0 while fewer are kept)."""
        return self.top[:, 0] >> 32 if self.m else np.zeros(self.width, dtype=np.int64)

    def candidates(self) -> tuple[np.ndarray, np.ndarray]:
        """Every kept and pooled (neuron, key), unmerged."""
        nz = np.flatnonzero(self.top.reshape(-1))
        cols = [nz // max(self.m, 1)] + [c.astype(np.int64) for c, _ in self.pool]
        keys = [self.top.reshape(-1)[nz]] + [k for _, k in self.pool]
        return np.concatenate(cols), np.concatenate(keys)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """``(top_rows, top_values)``, ``[width, m]`` each, rank 0 first."""
        self.merge()
        top = self.top[:, ::-1]  # descending; [width, 0] without rows
        return (_LOW - (top & _LOW)).astype(np.int64), _key_values((top >> 32) - _KEY_OFFSET)


def _thresholds(keys: np.ndarray) -> np.ndarray:
    """float32 values of ``(key + 2**15)`` thresholds; ``-inf`` where there is none (0)."""
    out = _key_values(np.where(keys > 0, keys - _KEY_OFFSET, 0)).astype(np.float32)  # float16 values are exact
    out[keys <= 0] = -np.inf
    return out


class StreamStats:
    """Exact per-neuron statistics of a float16 ``[n_rows, width]`` array fed block by block.

    Feed every row exactly once, in row order, starting at ``first_row``; :meth:`result` gives
    the statistics, :meth:`partial` the mergeable partial (:class:`StatsMerger`). Sums run over
    groups of rows counted from each block's start, so they depend only on the rows and on
    how they were cut into blocks.

    Args:
        width: neurons (columns).
        n_rows: the total number of rows that will be fed.
        k: top words kept per neuron (fewer when there are fewer rows).
        first_row: the row number of the first row fed (a chunk's first row).
        floor: per neuron, a ``(key + 2**15)`` value key (see :meth:`StatsMerger.floor`) that the
            ``k``-th best value of the rows *before* ``first_row`` reaches: values up to it
            cannot enter the file's top ``k`` and are not kept (0: no floor). Only the top-value
            candidates of :meth:`partial` depend on it, never the merged result.
    """

    def __init__(self, width: int, n_rows: int, k: int = 20, *, first_row: int = 0, floor: np.ndarray | None = None) -> None:
        self.width = width
        self.n_rows = n_rows
        self.k = k
        self.first_row = first_row
        self.m = min(n_rows, k)  # values kept per neuron
        self.seen = 0
        self.total = np.zeros(width, dtype=np.float64)
        self.total_sq = np.zeros(width, dtype=np.float64)
        self.lo = np.full(width, np.inf)
        self.hi = np.full(width, -np.inf)
        self.positive = np.zeros(width, dtype=np.int64)
        self.tops = _TopK(width, self.m)
        self.floor = floor if floor is not None and floor.any() else None

    def _threshold(self, seen: int) -> np.ndarray | None:
        """The float32 value a new value of each neuron must exceed once ``seen`` rows were
        offered, or None: every value."""
        own = self.tops.kth_keys() if seen >= self.m else None
        if own is None and self.floor is None:
            return None
        keys = own if self.floor is None else self.floor if own is None else np.maximum(own, self.floor)
        return _thresholds(keys)

    def _sums(self, x32: np.ndarray) -> np.ndarray:
        """Add one group of rows (float32) to the sums, minima, maxima and counts; its maxima."""
        # float32 -> float64 exact; a float16 value and its square are exact in float64
        x = x32.astype(np.float64)
        self.total += x.sum(0)
        self.total_sq += np.einsum("ij,ij->j", x, x)
        del x
        gmax = x32.max(0)
        np.minimum(self.lo, x32.min(0), out=self.lo)
        np.maximum(self.hi, gmax, out=self.hi)
        self.positive += np.add.reduce((x32 > 0).view(np.uint8), axis=0, dtype=np.uint8)
        return gmax

    def _picks(self, x32: np.ndarray, gmax: np.ndarray, kth32: np.ndarray | None, s: int) -> np.ndarray:
        """Flat indices (in the block) of the group's values above the threshold (all: None)."""
        width = self.width
        if kth32 is None:
            return np.arange(s * width, (s + len(x32)) * width, dtype=np.int64)
        cols = np.flatnonzero(gmax > kth32)
        if len(cols) * 4 < width:
            # few neurons have a new top value in this group: look at those only
            if not len(cols):
                return np.empty(0, dtype=np.int64)
            r, c = np.nonzero(x32[:, cols] > kth32[cols])
            return (r + s) * width + cols[c]
        return np.flatnonzero(x32 > kth32) + s * width

    def update(self, block: np.ndarray, first_row: int) -> None:
        """Add the float16 rows ``[first_row, first_row + len(block))``."""
        if block.dtype != np.float16 or block.ndim != 2 or block.shape[1] != self.width:
            raise ValueError(f"expected a float16 [rows, {self.width}] block, got {block.dtype} {block.shape}")
        if first_row != self.first_row + self.seen:
            raise ValueError(f"rows must come in order: expected row {self.first_row + self.seen}, got {first_row}")
        n, width, m = len(block), self.width, self.m
        if n == 0:
            return
        block = np.ascontiguousarray(block)
        kth32 = self._threshold(self.seen)
        # without a threshold yet, the first `head` rows offer every value; sqrt(n m) rows balance
        # the values taken whole against the candidates that pass the comparison afterwards
        head = max(2 * m, math.isqrt(n * m)) if kth32 is None else 0
        # groups of rows small enough to stay in cache; at most 255 so a uint8 count cannot wrap
        group = max(1, min(255, GROUP_BYTES // (8 * width)))
        t16 = torch.from_numpy(block if block.flags.writeable else block.copy())  # torch wants writable
        step = max(1, _GRAIN // width)
        scratch = np.empty((min(group, n), width), dtype=np.float32)
        picks: list[np.ndarray] = []
        for s in range(0, n, group):
            # float16 -> float32 by torch (vectorised; numpy's is not), in slices below torch's
            # parallel grain, so a worker thread stays on one core
            e = min(n, s + group)
            x32 = scratch[: e - s]
            t32 = torch.from_numpy(x32)
            for a in range(s, e, step):
                t32[a - s : a - s + step].copy_(t16[a : min(e, a + step)])
            gmax = self._sums(x32)
            picks.append(self._picks(x32, gmax, kth32, s))
            if kth32 is None and e >= head and self.seen + e >= m and e < n:
                self._offer(block, picks, first_row)
                picks = []
                self.tops.merge()
                kth32 = self._threshold(self.seen + e)
        self.seen += n
        self._offer(block, picks, first_row)
        # A merge sorts the kept [width, m] with the candidates: put it off while the pool is
        # small (the filter above then uses a slightly stale m-th value: more candidates, the same
        # result). Always merge while the kept top m is not full yet.
        if self.tops.pool_n and (self.seen < m or self.tops.pool_n >= width * m):
            self.tops.merge()

    def _offer(self, block: np.ndarray, picks: list[np.ndarray], first_row: int) -> None:
        flat = np.concatenate(picks) if picks else np.empty(0, dtype=np.int64)
        if len(flat):
            rows, cols = np.divmod(flat, self.width)
            values = _order_key(block.reshape(-1)[flat]).astype(np.int64) + _KEY_OFFSET
            self.tops.offer(cols, (values << 32) | (_LOW - (first_row + rows)))

    def partial(self) -> PartialStats:
        """The mergeable statistics of the rows fed (all ``n_rows`` of them)."""
        if self.seen != self.n_rows:
            raise ValueError(f"{self.seen} of {self.n_rows} rows were fed")
        cols, keys = self.tops.candidates()
        return PartialStats(
            self.first_row, self.n_rows, self.total.copy(), self.total_sq.copy(), self.lo.copy(), self.hi.copy(),
            self.positive.copy(), cols, keys,
        )

    def result(self) -> LayerStats:
        """The statistics of the rows fed so far (all ``n_rows`` of them)."""
        merger = StatsMerger(self.width, self.n_rows, self.k, first_row=self.first_row)
        merger.add(self.partial())
        return merger.result()


class StatsMerger:
    """Merges the :class:`PartialStats` of consecutive row ranges, in row order, into a file's
    statistics: sums add (in the order given, so the result depends only on the partials),
    minima, maxima and counts combine, top-value candidates merge exactly (keys order by value,
    then by row).

    Example::

        merger = StatsMerger(width, n_rows, k=20)
        for part in partials:            # chunk 0, 1, 2, ...
            merger.add(part)
        stats = merger.result()
    """

    def __init__(self, width: int, n_rows: int, k: int = 20, *, first_row: int = 0) -> None:
        self.width, self.n_rows, self.k, self.first_row = width, n_rows, k, first_row
        self.seen = 0
        self.total = np.zeros(width, dtype=np.float64)
        self.total_sq = np.zeros(width, dtype=np.float64)
        self.lo = np.full(width, np.inf)
        self.hi = np.full(width, -np.inf)
        self.positive = np.zeros(width, dtype=np.int64)
        self.tops = _TopK(width, min(n_rows, k))

    def add(self, part: PartialStats) -> None:
        """Merge the partial of the rows right after those merged so far."""
        if part.first_row != self.first_row + self.seen:
            raise ValueError(f"partials must come in row order: expected row {self.first_row + self.seen}, got {part.first_row}")
        if self.seen + part.count > self.n_rows:
            raise ValueError(f"more than {self.n_rows} rows were merged")
        self.seen += part.count
        self.total += part.total
        self.total_sq += part.total_sq
        np.minimum(self.lo, part.lo, out=self.lo)
        np.maximum(self.hi, part.hi, out=self.hi)
        self.positive += part.positive
        self.tops.offer(part.cols, part.keys)
        if self.tops.pool_n >= self.width * max(self.tops.m, 1):
            self.tops.merge()

    def floor(self) -> np.ndarray | None:
        """Per neuron, the ``k``-th best value key of the rows merged so far (a lower bound,
        from the merged candidates), for :class:`StreamStats` of the rows that follow; None
        while fewer than ``k`` values are known."""
        if self.tops.m < self.k or self.seen < self.k:
            return None
        keys = self.tops.kth_keys()
        return keys if keys.all() else None

    def result(self) -> LayerStats:
        """The statistics of all ``n_rows`` rows."""
        if self.seen != self.n_rows:
            raise ValueError(f"{self.seen} of {self.n_rows} rows were fed")
        n = max(self.n_rows, 1)
        mean = self.total / n
        var = np.maximum(self.total_sq / n - mean * mean, 0.0)
        top_rows, top_values = self.tops.result()
        return LayerStats(
            count=self.n_rows,
            mean=mean,
            std=np.sqrt(var),
            min=self.lo.copy() if self.n_rows else np.full(self.width, np.nan),
            max=self.hi.copy() if self.n_rows else np.full(self.width, np.nan),
            fire_rate=self.positive / n,
            top_rows=top_rows,
            top_values=top_values,
        )


def layer_stats(
    path: Path,
    *,
    n_rows: int,
    width: int,
    k: int = 20,
    bounds: list[tuple[int, int]] | None = None,
) -> LayerStats:
    """Statistics of a float16 ``[n_rows, width]`` ``.npy`` file, one partial per row block of
    ``bounds`` (default: blocks of :data:`SUB_ROWS`), merged in order; pass the job's chunk row
    ranges to get its values exactly."""
    from atlas.store.activations import npy_header_size, read_rows

    offset = npy_header_size(path)
    merger = StatsMerger(width, n_rows, k)
    if bounds is None:
        bounds = [(s, min(n_rows, s + SUB_ROWS)) for s in range(0, n_rows, SUB_ROWS)]
    for r0, r1 in bounds:
        acc = StreamStats(width, r1 - r0, k, first_row=r0, floor=merger.floor())
        acc.update(read_rows(path, offset, width, r0, r1), r0)
        merger.add(acc.partial())
    return merger.result()
