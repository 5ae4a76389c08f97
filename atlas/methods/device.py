"""Scoring on an accelerator: the blockwise matrix products and the average-precision sorts in torch.

``atlas score --run R --device cuda`` (``score(..., device="cuda")``) runs the two heavy kernels
of the corpus methods on the device while the job holds :func:`use_device`:

* :func:`accumulate_block` — per block of rows, ``Xᵀ Y`` (float32 matrix product, added in
  float64) and the mask intersections ``(X > T)ᵀ Y``, ``(X == T)ᵀ Y`` with their counts (float32
  products of 0/1 masks: exact counts, equal to the numpy path's);
* :func:`average_precision_torch` — AP of every neuron against every concept: each neuron's
  values sorted once on the device, ``K(≥ v)`` and the concept-segment ``TP(≥ v)`` by
  ``searchsorted``, and a ``scatter_add`` of ``TP / K`` per concept (the same ranks as
  :func:`atlas.methods.ranking.average_precision`, ties included).

Without ``use_device`` (the default) nothing here runs: the numpy code does. The products are
identical to numpy's within float32 rounding (another summation order), the counts and
intersections exactly, AP within float64 rounding. ``device="cpu"`` runs the torch code on the
CPU (how the tests compare it with numpy on a machine without a GPU). Everything else
(quantiles, probes, sentence pooling, the size-matched mask) stays in numpy.

Example::

    with use_device("cuda"):
        ap = average_precision(X, Y)           # atlas.methods.ranking: the torch path
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from atlas.errors import MethodError

#: Bytes of device memory one AP block may use.
DEVICE_BUDGET = 1 << 30

_lock = threading.Lock()
_current: Any = None  # the torch device of the job holding use_device (shared by its worker threads)


def current_device() -> Any:
    """The torch device the scoring kernels run on, or None (numpy)."""
    return _current


@contextmanager
def use_device(device: str | None) -> Iterator[Any]:
    """Run the scoring kernels on ``device`` (``cuda``, ``cuda:1``, ``cpu``: torch) inside the
    block; ``None``: numpy (nothing changes).

    Raises:
        MethodError: torch is not installed, or no CUDA device is available.
    """
    global _current
    if device is None:
        yield None
        return
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is a dependency of extraction
        raise MethodError("--device needs torch", hint="pip install torch, or drop --device") from exc
    kind = str(device).split(":", 1)[0]
    if kind not in ("cpu", "cuda"):
        raise MethodError(f"unknown device {device!r}", hint="use --device cuda (or cpu)")
    if kind == "cuda" and not torch.cuda.is_available():
        raise MethodError("--device cuda was asked for but no CUDA device is available", hint="drop --device")
    with _lock:
        before, _current = _current, torch.device(device)
    try:
        yield _current
    finally:
        with _lock:
            _current = before


def _tensor(a: np.ndarray, dev: Any) -> Any:
    import torch

    a = np.ascontiguousarray(a)
    return torch.from_numpy(a if a.flags.writeable else a.copy()).to(dev)


def accumulate_block(raw: np.ndarray, yb: np.ndarray, thresholds: np.ndarray | None, sums: bool, ties: bool, dev: Any) -> dict[str, np.ndarray]:
    """One row block of :func:`atlas.methods.stats.accumulate` on ``dev``: ``pos_sum``
    (``Xᵀ Y``), ``inter``/``above`` (``X > T``) and ``inter_eq``/``equal`` (``X == T``), as
    numpy arrays to add. Float16 blocks are compared with the thresholds exactly (in float64),
    others in float32, as the numpy path does."""
    import torch

    x = _tensor(raw, dev)
    y = _tensor(np.asarray(yb, dtype=np.float32), dev)
    x32 = x.to(torch.float32)
    out: dict[str, np.ndarray] = {}
    if sums:
        out["pos_sum"] = (x32.T @ y).to(torch.float64).cpu().numpy()
    if thresholds is not None:
        if raw.dtype == np.float16:
            fires = x.to(torch.float64) > _tensor(np.asarray(thresholds, np.float64), dev)[None, :]
        else:
            fires = x32 > _tensor(np.asarray(thresholds).astype(np.float32), dev)[None, :]
        out["inter"] = (fires.to(torch.float32).T @ y).to(torch.float64).cpu().numpy()
        out["above"] = fires.sum(0).cpu().numpy().astype(np.int64)
        if ties:
            eq = x32 == _tensor(np.asarray(thresholds).astype(np.float32), dev)[None, :]
            out["inter_eq"] = (eq.to(torch.float32).T @ y).to(torch.float64).cpu().numpy()
            out["equal"] = eq.sum(0).cpu().numpy().astype(np.int64)
    return out


def average_precision_torch(X: Any, pairs: Any, dev: Any, *, budget: int = DEVICE_BUDGET, progress: Any = None) -> np.ndarray:
    """AP ``[n_neurons, n_concepts]`` (float64; NaN for a concept without positives) of every
    column of ``X`` against the concepts of ``pairs`` (:class:`atlas.methods.ranking.PositivePairs`),
    computed on ``dev`` in blocks of neurons (see the module docstring)."""
    import torch

    n, d = X.shape
    c, nnz = pairs.n_concepts, pairs.nnz
    out = np.full((d, c), np.nan)
    if nnz == 0 or d == 0:
        return out
    rows = torch.from_numpy(pairs.rows).to(dev)
    conc = torch.from_numpy(pairs.concepts.astype(np.int64)).to(dev)
    seg_start = torch.from_numpy(pairs.starts).to(dev)[conc]  # [nnz]: where each pair's concept segment starts
    counts = torch.from_numpy(pairs.counts.astype(np.float64)).to(dev)
    width = int(max(1, min(d, budget // max(n * 16 + nnz * 64, 1))))
    for j0 in range(0, d, width):
        j1 = min(d, j0 + width)
        block = np.asarray(X[:, j0:j1])
        if block.dtype not in (np.float16, np.float32, np.float64):
            block = block.astype(np.float64)
        xt = _tensor(block, dev).T.contiguous()
        if xt.dtype == torch.float16:
            xt = xt.to(torch.float32)  # exact; sorts and compares like the float16 values
        asc = torch.sort(xt, dim=1).values  # [w, n]
        vals = xt[:, rows].contiguous()  # [w, nnz]
        k = n - torch.searchsorted(asc, vals, right=False)  # words with a value >= v
        above = n - torch.searchsorted(asc, vals, right=True)  # words with a value > v: a descending rank
        comp = conc[None, :] * (n + 1) + above  # by concept, then by descending value
        srt = torch.sort(comp, dim=1).values
        tp = torch.searchsorted(srt, comp, right=True) - seg_start[None, :]  # the concept's words >= v
        contrib = tp.to(torch.float64) / k.to(torch.float64)
        sums = torch.zeros((j1 - j0, c), dtype=torch.float64, device=dev)
        sums.scatter_add_(1, conc[None, :].expand(j1 - j0, -1), contrib)
        ap = torch.where(counts[None, :] > 0, sums / counts[None, :], torch.full_like(sums, float("nan")))
        out[j0:j1] = ap.cpu().numpy()
        if progress is not None:
            progress(j1 - j0)
    return out
