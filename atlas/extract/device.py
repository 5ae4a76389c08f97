"""Extraction on an accelerator: a chunk's word rows, statistics and transfers stay on the device
until one copy to pinned host memory, overlapped with the next chunk's forward passes.

On a GPU (``--device cuda``, ``--dtype bf16|fp16``) :class:`atlas.extract.pipeline.ChunkWork`
takes the *device path*:

1. the capture hooks aggregate subwords into word vectors on the device (as on a CPU,
   :func:`atlas.extract.align.aggregate`) and scatter them, as float16, into a device buffer
   ``[rows, width]`` per file of the chunk (no transfer per batch);
2. the chunk's partial statistics are reduced on the device (:func:`device_partial`);
3. :class:`HostCopier` copies the buffers and the partials into pinned host memory with
   ``non_blocking`` copies on a side CUDA stream that waits for an event of the compute stream,
   so the copy of chunk ``k`` runs while the forward passes of chunk ``k + 1`` are computed; the
   host waits for the copy's event only when it writes chunk ``k`` to the files.

**Exact, device-independent statistics.** :func:`device_partial` uses only operations whose
result does not depend on the order of a reduction, so it gives the same bits on a CPU tensor
and on a GPU one: a float16 value is ``m * 2**-24`` with ``|m| < 2**40``, so the column sums are
int64 sums of ``m`` (exact); the sums of squares are int64 sums of 20-bit limbs of ``m``
(``m**2 = a**2 2**40 + 2ab 2**20 + b**2``, exact), turned into float64 with one rounding;
minima, maxima, counts of positive values and the top ``k`` (int64 keys that order like the
values, then the row, as in :mod:`atlas.extract.stats`) are exact anyway. The sums equal the
float64 sums of :class:`atlas.extract.stats.StreamStats` whenever those are exact (a chunk of at
most 8,192 rows for the plain sums; small magnitudes for the squares); otherwise they are the
correctly rounded values, which the CPU path may miss by an ulp. A run computes every chunk's
partial (read-back chunks included, on resume) with the same function on the same kind of
device, so a resumed GPU run equals an uninterrupted one.

Without a GPU the same code runs on CPU tensors (``ChunkWork(..., device_path=True)``), which
is how the tests cover it; :class:`HostCopier` then returns the tensors as they are.

Example::

    part = device_partial(torch.from_numpy(rows).to("cuda"), first_row=4096, k=20)
    copier = HostCopier(torch.device("cuda"))
    pending = copier.start({"mlp.3": buffer})      # returns at once
    ...                                            # queue the next chunk's forward passes
    host = pending.wait()["mlp.3"]                 # pinned, filled
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from atlas.extract.stats import PartialStats, StreamStats

_SCALE = float(1 << 24)  # float16 values are multiples of 2**-24
_LIMB = 20
_LIMB_MASK = (1 << _LIMB) - 1
_LOW32 = (1 << 32) - 1
_KEY_OFFSET = 1 << 15


def _as_float64(total: torch.Tensor, scale: float) -> torch.Tensor:
    return total.to(torch.float64) * scale


def exact_sums(block: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Column sums and sums of squares (float64) of a float16 ``[rows, width]`` tensor, exact
    before one final rounding, the same bits on every device (see the module docstring)."""
    m = (block.to(torch.float32) * _SCALE).to(torch.int64)  # exact: |m| < 2**40
    total = _as_float64(m.sum(0), 1.0 / _SCALE)
    a = m.abs()
    hi, lo = a >> _LIMB, a & _LIMB_MASK
    big = (hi * hi).sum(0)  # units of 2**40 (of 2**-48)
    mid = (2 * hi * lo).sum(0)  # units of 2**20
    small = (lo * lo).sum(0)  # units of 1
    # carry so that mid and small are below 2**20: big * 2**40 is then exact in float64 for
    # any realistic sum (big < 2**53), and adding the low part rounds once
    mid = mid + (small >> _LIMB)
    small = small & _LIMB_MASK
    big = big + (mid >> _LIMB)
    mid = mid & _LIMB_MASK
    low = (mid << _LIMB) + small  # < 2**40: exact in float64
    total_sq = (big.to(torch.float64) * float(1 << 40) + low.to(torch.float64)) * 2.0**-48
    return total, total_sq


def order_keys(block: torch.Tensor, first_row: int) -> torch.Tensor:
    """int64 keys ``(value key + 2**15) << 32 | (2**32 - 1 - row)`` of every value of a float16
    ``[rows, width]`` tensor: they order by value, then by row ascending
    (:mod:`atlas.extract.stats`)."""
    bits = block.contiguous().view(torch.int16).to(torch.int64)
    sign = -(bits < 0).to(torch.int64)  # 0 or -1
    key16 = ((bits & 0x7FFF) ^ sign) - sign
    rows = torch.arange(first_row, first_row + block.shape[0], dtype=torch.int64, device=block.device)
    return ((key16 + _KEY_OFFSET) << 32) | (_LOW32 - rows)[:, None]


@dataclass
class DevicePartial:
    """A chunk's partial statistics as device tensors (:func:`device_partial`); :meth:`to_host`
    after the copy gives the :class:`atlas.extract.stats.PartialStats` a merge takes."""

    first_row: int
    count: int
    tensors: dict[str, torch.Tensor]

    def to_host(self, tensors: dict[str, torch.Tensor] | None = None) -> PartialStats:
        t = self.tensors if tensors is None else tensors
        width = t["total"].shape[0]
        keys = t["keys"].numpy().astype(np.int64, copy=False)
        m = keys.shape[0]
        return PartialStats(
            self.first_row, self.count, t["total"].numpy().astype(np.float64, copy=True),
            t["total_sq"].numpy().astype(np.float64, copy=True), t["lo"].numpy().astype(np.float64),
            t["hi"].numpy().astype(np.float64), t["positive"].numpy().astype(np.int64),
            np.tile(np.arange(width, dtype=np.int64), m), keys.reshape(-1).copy(),
        )


def device_partial(block: torch.Tensor, first_row: int, k: int) -> DevicePartial:
    """The partial statistics of rows ``[first_row, first_row + rows)`` (a float16 ``[rows, width]``
    tensor on any device), reduced where the tensor is: sums (:func:`exact_sums`), minima,
    maxima, counts of values > 0, and each column's top ``min(rows, k)`` keys as candidates."""
    n, width = block.shape
    if n == 0:
        z = torch.zeros(width, dtype=torch.float64, device=block.device)
        return DevicePartial(first_row, 0, {
            "total": z, "total_sq": z.clone(), "lo": torch.full_like(z, float("inf")), "hi": torch.full_like(z, float("-inf")),
            "positive": torch.zeros(width, dtype=torch.int64, device=block.device),
            "keys": torch.zeros((0, width), dtype=torch.int64, device=block.device),
        })
    total, total_sq = exact_sums(block)
    keys = order_keys(block, first_row)
    top = torch.topk(keys, min(n, k), dim=0, sorted=False).values if k else keys[:0]
    return DevicePartial(first_row, n, {
        "total": total, "total_sq": total_sq,
        "lo": block.amin(0).to(torch.float64), "hi": block.amax(0).to(torch.float64),
        "positive": (block > 0).sum(0, dtype=torch.int64), "keys": top,
    })


def partial_stats(block: torch.Tensor, first_row: int, k: int) -> PartialStats:
    """:func:`device_partial` brought to the host (a non-finite value, which the integer sums
    cannot hold, falls back to :class:`atlas.extract.stats.StreamStats`)."""
    if not bool(torch.isfinite(block).all()):
        arr = block.cpu().numpy()
        acc = StreamStats(arr.shape[1], arr.shape[0], k, first_row=first_row)
        acc.update(arr, first_row)
        return acc.partial()
    part = device_partial(block, first_row, k)
    return part.to_host({name: t.cpu() for name, t in part.tensors.items()})


@dataclass
class PendingCopy:
    """Tensors being copied to the host; :meth:`wait` returns them once the copy is done."""

    tensors: dict[Any, torch.Tensor]
    event: Any = None

    def wait(self) -> dict[Any, torch.Tensor]:
        if self.event is not None:
            self.event.synchronize()
            self.event = None
        return self.tensors


class HostCopier:
    """Copies device tensors into pinned host memory on a side CUDA stream, after the work the
    compute stream has queued so far (on a CPU: the tensors as they are).

    Args:
        device: where the tensors are.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.cuda = device.type == "cuda"
        self.stream = torch.cuda.Stream(device=device) if self.cuda else None

    def start(self, tensors: dict[Any, torch.Tensor]) -> PendingCopy:
        """Queue the copies; returns at once (the host buffers come from torch's cached pinned allocator)."""
        if not self.cuda:
            return PendingCopy(dict(tensors))
        ready = torch.cuda.current_stream(self.device).record_event()
        out: dict[Any, torch.Tensor] = {}
        with torch.cuda.stream(self.stream):
            self.stream.wait_event(ready)
            for key, t in tensors.items():
                host = torch.empty(t.shape, dtype=t.dtype, pin_memory=True)
                host.copy_(t, non_blocking=True)
                t.record_stream(self.stream)  # the device memory lives until the copy is done
                out[key] = host
            done = self.stream.record_event()
        return PendingCopy(out, done)
