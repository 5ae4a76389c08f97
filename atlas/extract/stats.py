"""Per-neuron statistics and top-k words of one activation file, in one blockwise pass.

**Design choice.** Statistics are computed by a final pass over the stored float16 arrays, in
blocks of rows read with plain file reads (no memory map, so resident memory stays flat), not
from the live activations. A resumed run therefore computes them from exactly the same bytes as
an uninterrupted one and gets identical values; and the statistics describe what the methods
will read (float16), not the float32 values before rounding.

Per neuron: ``count``, ``mean``, ``std`` (population, ddof=0), ``min``, ``max``, ``fire_rate``
(fraction of words with activation > 0), ``threshold`` = the quantile ``1 - alpha``
(``numpy.quantile``'s default linear interpolation, computed exactly from the top
``ceil((n-1)*alpha)+2`` values kept per neuron), and the ``k`` words with the highest
activations (rank 0 first). Sums run in float64.

Example::

    stats = layer_stats(store.path(rel), n_rows=21_176, width=1536, k=20)
    stats.threshold[:5], stats.top_rows[0]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

ALPHA = 0.005


@dataclass
class LayerStats:
    """Statistics of the ``width`` neurons of one activation file (arrays of length ``width``)."""

    count: int
    mean: np.ndarray
    std: np.ndarray
    min: np.ndarray
    max: np.ndarray
    threshold: np.ndarray
    fire_rate: np.ndarray
    top_rows: np.ndarray  # [width, k] int64, rank 0 first
    top_values: np.ndarray  # [width, k] float64


def npy_header_size(path: Path) -> int:
    """Byte offset of the data in a ``.npy`` file."""
    with open(path, "rb") as fh:
        major, _minor = np.lib.format.read_magic(fh)
        if major == 1:
            np.lib.format.read_array_header_1_0(fh)
        else:
            np.lib.format.read_array_header_2_0(fh)
        return fh.tell()


def n_top_needed(n_rows: int, k: int, alpha: float = ALPHA) -> int:
    """How many of the largest values per neuron give the exact ``1 - alpha`` quantile and top-k."""
    return min(n_rows, max(k, math.ceil((n_rows - 1) * alpha) + 2))


def quantile_from_top(top_desc: np.ndarray, n_rows: int, q: float) -> np.ndarray:
    """The ``q`` quantile (numpy's linear method) from each row's largest values, sorted
    descending. Exact when ``top_desc`` holds at least ``n_top_needed`` values."""
    h = (n_rows - 1) * q
    lo = math.floor(h)
    frac = h - lo
    r_lo = n_rows - 1 - lo  # rank from the top of the order statistic `lo`
    v_lo = top_desc[:, r_lo]
    if frac == 0 or lo + 1 > n_rows - 1:
        return v_lo.astype(np.float64)
    v_hi = top_desc[:, r_lo - 1]
    return v_lo + frac * (v_hi - v_lo)


def layer_stats(
    path: Path, *, n_rows: int, width: int, k: int = 20, alpha: float = ALPHA, block_rows: int = 4096
) -> LayerStats:
    """Statistics of a float16 ``[n_rows, width]`` ``.npy`` file (see the module docstring)."""
    offset = npy_header_size(path)
    m = n_top_needed(n_rows, k, alpha) if n_rows else 0
    total = np.zeros(width, dtype=np.float64)
    total_sq = np.zeros(width, dtype=np.float64)
    lo = np.full(width, np.inf)
    hi = np.full(width, -np.inf)
    positive = np.zeros(width, dtype=np.int64)
    top_v = torch.empty((width, 0), dtype=torch.float32)
    top_r = torch.empty((width, 0), dtype=torch.int64)
    row_bytes = width * 2
    with open(path, "rb") as fh:
        for start in range(0, n_rows, block_rows):
            stop = min(n_rows, start + block_rows)
            fh.seek(offset + start * row_bytes)
            raw = fh.read((stop - start) * row_bytes)
            block = np.frombuffer(raw, dtype=np.float16).reshape(stop - start, width)
            x = torch.from_numpy(block.astype(np.float32))
            x64 = x.double()
            total += x64.sum(0).numpy()
            total_sq += (x64 * x64).sum(0).numpy()
            lo = np.minimum(lo, x.min(0).values.double().numpy())
            hi = np.maximum(hi, x.max(0).values.double().numpy())
            positive += (x > 0).sum(0).numpy()
            xt = x.t().contiguous()
            take = min(m, stop - start)
            vals, idx = torch.topk(xt, take, dim=1, largest=True, sorted=True)
            cand_v = torch.cat([top_v, vals], dim=1)
            cand_r = torch.cat([top_r, idx + start], dim=1)
            keep = min(m, cand_v.shape[1])
            vals, order = torch.topk(cand_v, keep, dim=1, largest=True, sorted=True)
            top_v, top_r = vals, torch.gather(cand_r, 1, order)
    n = max(n_rows, 1)
    mean = total / n
    var = np.maximum(total_sq / n - mean * mean, 0.0)
    top_desc = top_v.double().numpy()
    threshold = quantile_from_top(top_desc, n_rows, 1.0 - alpha) if n_rows else np.full(width, np.nan)
    return LayerStats(
        count=n_rows,
        mean=mean,
        std=np.sqrt(var),
        min=lo,
        max=hi,
        threshold=threshold,
        fire_rate=positive / n,
        top_rows=top_r[:, :k].numpy().astype(np.int64),
        top_values=top_desc[:, :k],
    )
