"""Executors: who runs a plan's chunks, and where. The job hands an executor its chunks and
merges what comes back, in chunk order, whatever order they come in (as ``httpx`` is handed a
transport).

* :class:`Executor` — the protocol: ``map_chunks(work, chunk_ids)`` yields one
  :class:`atlas.extract.pipeline.ChunkResult` per chunk, in any order, each once its rows are
  durable (a chunk the plan lists as done is read back, not recomputed).
* :class:`LocalExecutor` — the default: this process, threads (below).
* :class:`SerialExecutor` — one chunk after the other in the calling thread.
* :class:`atlas.extract.ray_executor.RayExecutor` — chunks as Ray Data blocks, model actors on a
  cluster (optional extra ``[ray]``); :func:`make_executor` builds one of the three by name.

**LocalExecutor's threads.** On a CPU the batches run data-parallel: one compute thread per
core torch would use, each running whole forward passes on one core (torch's intra-op threads
are 1 for the run and restored after). On the 2-core reference machine that is about 1.07x
faster than splitting every operation over both cores, and a batch's bytes no longer depend on
the core count. The main thread plans chunk ``k + 1`` and queues its batches behind chunk
``k``'s, so no compute thread waits at a chunk boundary. On an accelerator the device path runs instead
(:mod:`atlas.extract.device`): a chunk's rows and statistics stay on the device, and its copy to
pinned memory and its writes overlap the next chunk's forward passes.

Each file belongs to one single-thread *writer lane* (as many lanes as compute threads, files
spread by size), which takes its chunks in order: it writes and syncs chunk ``k`` (whole pages
with ``O_DIRECT``, see :class:`atlas.store.activations.RowWriter`), digests it and summarises it
while later chunks are computed. A chunk's result is yielded once every lane has synced it.
Chunk buffers are reused once written (a fresh 45 MB buffer costs a page fault per 4 KiB). A
lane also keeps the running top values of its files, so a chunk's partial offers only values
above the ``k``-th best of the rows before it (a *floor*: fewer candidates, the same merged
result).

Example::

    extract(db, "builtin:all-minilm-l6-v2", corpus="pud", executor=LocalExecutor(pipeline=False))
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from atlas.errors import ExtractionError
from atlas.extract.pipeline import ChunkResult, ChunkWork, compute_threads, one_core_per_pass
from atlas.extract.plan import ChunkSpec
from atlas.extract.runner import Target
from atlas.extract.stats import PartialStats, StatsMerger


class Executor(Protocol):
    """Runs chunks of a plan; see the module docstring."""

    def map_chunks(self, work: ChunkWork, chunk_ids: Sequence[int]) -> Iterator[ChunkResult]:
        """One result per chunk of ``chunk_ids``, in any order, each once its rows are durable."""
        ...


class SerialExecutor:
    """Every chunk in the calling thread, one after the other (batches one at a time)."""

    def map_chunks(self, work: ChunkWork, chunk_ids: Sequence[int]) -> Iterator[ChunkResult]:
        for k in chunk_ids:
            yield work.process(k)


class _Inline:
    """A writer lane that runs each job at once, in the calling thread (``pipeline=False``)."""

    def submit(self, fn: Any, *args: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits on the future
            fut.set_exception(exc)
        return fut

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


@dataclass
class _InFlight:
    spec: ChunkSpec
    buffers: dict[Target, np.ndarray] | None
    futures: list[Future[Any]]
    memory: dict[Target, Any] | None
    totals: dict[str, int]
    computed: bool


class _Floors:
    """Per file, the top values of the rows a lane has summarised, as a floor for the next chunk."""

    def __init__(self, n_rows: int, k: int) -> None:
        self.n_rows, self.k = n_rows, k
        self.mergers: dict[Target, StatsMerger] = {}

    def floor(self, key: Target, spec: ChunkSpec, width: int) -> np.ndarray | None:
        m = self.mergers.get(key)
        if m is None or m.first_row + m.seen != spec.r0:  # not contiguous: start again from here
            m = self.mergers[key] = StatsMerger(width, self.n_rows - spec.r0, self.k, first_row=spec.r0)
        return m.floor()

    def add(self, key: Target, part: PartialStats) -> None:
        self.mergers[key].add(part)


class _LocalRun:
    """One :meth:`LocalExecutor.map_chunks` call: compute threads, writer lanes, buffers."""

    def __init__(self, work: ChunkWork, pipeline: bool) -> None:
        self.work = work
        plan, dev = work.plan, work.device
        n_lanes = compute_threads(dev) if pipeline else 1
        self.lane_keys: list[list[Target]] = [[] for _ in range(n_lanes)]
        load = [0] * n_lanes
        for f in sorted(plan.files, key=lambda f: -f.width):
            i = load.index(min(load))
            self.lane_keys[i].append(f.key)
            load[i] += f.width
        self.lanes: list[Any] = [
            ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"atlas-extract-io{i}") if pipeline else _Inline()
            for i in range(n_lanes)
        ]
        self.compute = ThreadPoolExecutor(max_workers=compute_threads(dev), thread_name_prefix="atlas-extract-compute")
        self.max_rows = max(c.r1 - c.r0 for c in plan.chunks)
        self.floors = _Floors(plan.n_words, plan.top_k)
        self.inflight: list[_InFlight] = []  # forward passes queued or running
        self.pending: list[_InFlight] = []  # handed to the writer lanes
        self.spare: list[dict[Target, Any]] = []  # chunk memory to reuse

    def close(self) -> None:
        self.compute.shutdown(wait=True, cancel_futures=True)
        for lane in self.lanes:
            lane.shutdown(wait=True, cancel_futures=True)
        self.inflight.clear()
        self.pending.clear()
        self.spare.clear()

    def _lane_job(self, keys: list[Target], spec: ChunkSpec, buffers: dict[Target, np.ndarray] | None) -> dict[Target, Any]:
        """One lane, one chunk: write (or read back), digest and summarise its files, in chunk order."""
        out = {}
        for key in keys:
            floor = self.floors.floor(key, spec, self.work.files[key].width)
            digest, part = self.work.absorb(spec, key, None if buffers is None else buffers[key], floor)
            self.floors.add(key, part)
            out[key] = (digest, part)
        return out

    def _to_lanes(self, item: _InFlight) -> None:
        item.futures = [
            lane.submit(self._lane_job, keys, item.spec, item.buffers) for lane, keys in zip(self.lanes, self.lane_keys) if keys
        ]
        self.pending.append(item)

    def settle(self, keep: int) -> Iterator[ChunkResult]:
        """Wait for all but the last ``keep`` chunks at the lanes; yield their results in order."""
        while len(self.pending) > keep:
            item = self.pending.pop(0)
            parts: dict[Target, Any] = {}
            for fut in item.futures:
                parts.update(fut.result())
            if item.memory is not None:
                self.spare.append(item.memory)  # the chunk is written: its memory serves a later one
            yield self.work.result(item.spec, parts, item.computed, item.totals)

    def computed(self, keep: int) -> Iterator[ChunkResult]:
        """Wait for the forward passes of all but the last ``keep`` chunks in flight; hand each
        finished chunk to the lanes."""
        while len(self.inflight) > keep:
            item = self.inflight.pop(0)
            for fut in item.futures:
                fut.result()
            self._to_lanes(item)
            yield from self.settle(keep=1)

    def submit(self, k: int) -> None:
        """Plan chunk ``k`` and queue its batches behind those of the chunks in flight."""
        work = self.work
        prepared = work.prepare(k)
        memory = self.spare.pop() if self.spare else {key: work.writer(key).memory(self.max_rows) for key in work.plan.targets}
        buffers = work.buffers(prepared.spec, memory)
        views = {key: torch.from_numpy(buf) for key, buf in buffers.items()}
        futures = [self.compute.submit(work.compute, batch, views) for batch in prepared.batches]
        self.inflight.append(_InFlight(prepared.spec, buffers, futures, memory, prepared.totals, True))

    def run(self, chunk_ids: Sequence[int]) -> Iterator[ChunkResult]:
        done = set(self.work.plan.done)
        for k in chunk_ids:
            if k in done:
                yield from self.computed(keep=0)  # chunks reach the lanes in chunk order
                self._to_lanes(_InFlight(self.work.plan.chunks[k], None, [], None, {}, False))
                continue
            self.submit(k)
            yield from self.computed(keep=1)
        yield from self.computed(keep=0)
        yield from self.settle(keep=0)


class LocalExecutor:
    """This process: data-parallel compute threads and writer lanes (see the module docstring).

    Args:
        pipeline: write, digest and summarise in writer threads while later chunks are
            computed (False: in the calling thread, one chunk at a time; the same results).
    """

    def __init__(self, *, pipeline: bool = True) -> None:
        self.pipeline = pipeline

    def map_chunks(self, work: ChunkWork, chunk_ids: Sequence[int]) -> Iterator[ChunkResult]:
        """The chunks in chunk order (sorted), each yielded once durable."""
        if work.device_path:
            yield from _device_run(work, sorted(chunk_ids), self.pipeline)
            return
        run = _LocalRun(work, self.pipeline)
        try:
            with one_core_per_pass(work.device):
                yield from run.run(sorted(chunk_ids))
        finally:
            run.close()


def make_executor(name: str | None, **options: Any) -> Any:
    """The executor called ``name`` (``local``, ``serial``, ``ray``) with its options
    (``ray``: :class:`RayExecutor`'s; ``local``/``serial``: none).

    Raises:
        ExtractionError: an unknown name, or options the executor does not take.
    """
    name = (name or "local").lower()
    given = {k: v for k, v in options.items() if v is not None}
    if name == "ray":
        from atlas.extract.ray_executor import RayExecutor

        return RayExecutor(**given)
    if name in ("local", "serial"):
        if given:
            raise ExtractionError(
                f"{', '.join('--' + k.replace('_', '-') for k in given)} only apply to --executor ray",
                hint="add --executor ray, or drop those options",
            )
        return LocalExecutor() if name == "local" else SerialExecutor()
    raise ExtractionError(f"unknown executor {name!r}", hint="use --executor local, serial or ray")


def _device_run(work: ChunkWork, chunk_ids: Sequence[int], overlap: bool) -> Iterator[ChunkResult]:
    """The device path (:mod:`atlas.extract.device`): chunk ``k + 1``'s forward passes are queued
    before chunk ``k`` is copied, written and digested, so the copy and the disk overlap the
    device's compute (``overlap=False``: one chunk at a time)."""
    done = set(work.plan.done)
    pending = None
    for k in chunk_ids:
        if k in done:
            if pending is not None:
                yield work.finish(pending)
                pending = None
            yield work.read_chunk(k)
            continue
        launched = work.launch(k)
        if pending is not None:
            yield work.finish(pending)
        pending = launched
        if not overlap:
            yield work.finish(pending)
            pending = None
    if pending is not None:
        yield work.finish(pending)
