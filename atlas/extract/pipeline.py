"""One chunk of a run, computed or read back: the unit of work an executor schedules.

For chunk ``k`` of a :class:`atlas.extract.plan.RunPlan`, :class:`ChunkWork`

1. reads the chunk's sentences and plans its batches (tokenise, window, batch by length),
2. runs the batches through the model (:class:`atlas.extract.runner.ModelRunner`), whose capture
   hooks aggregate subwords into word vectors written straight into the chunk's buffers
   (:class:`WordCapture`; one float16 ``[rows, width]`` buffer per file),
3. writes the buffers to the files (durably) and digests and summarises the rows as stored:
   a :class:`ChunkResult` holds per file the chunk's sha256 and partial statistics.

A chunk recorded as done by an earlier process is *read back* instead (same bytes, so the
same digests and partials). Writing is idempotent: a chunk written twice holds the same bytes.
On a CPU each forward pass runs on one core (torch's intra-op threads are 1 while a
:class:`ChunkWork` computes), so the bytes depend neither on the core count nor on which
worker ran which chunk.

Example::

    with ChunkWork(db, plan, runner) as work:
        result = work.run_chunk(0)
        result.digests[("mlp", 0)], result.stats[("mlp", 0)].total[:3]
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from atlas.errors import ExtractionError
from atlas.extract.checksum import chunk_digest, header_digest
from atlas.extract.plan import ChunkSpec, RunPlan
from atlas.extract.runner import ModelRunner, Target
from atlas.extract.stats import PartialStats, StreamStats
from atlas.store.context import AtlasContext

#: On a CPU, the cost of one more forward pass in padded tokens (see ``split_batches``); on
#: an accelerator batches stay at ``batch_size`` windows.
CPU_BATCH_COST = 64.0
PLAN_TOTALS = ("n_windows", "n_split_sentences", "n_truncated_words", "n_empty_words", "n_subwords")


@dataclass
class ChunkResult:
    """What chunk ``chunk`` (rows ``[r0, r1)``) gives to the run's merge: per file (a target),
    the sha256 of its rows and their :class:`atlas.extract.stats.PartialStats`."""

    chunk: int
    r0: int
    r1: int
    computed: bool  # False: read back (done by an earlier process)
    digests: dict[Target, str]
    stats: dict[Target, PartialStats]
    plan_totals: dict[str, int] = field(default_factory=dict)


@dataclass
class PreparedChunk:
    """A chunk's batches, ready to run."""

    spec: ChunkSpec
    batches: list[Any]
    totals: dict[str, int]


@dataclass
class LaunchedChunk:
    """A chunk on the device path whose forward passes, statistics and copy are queued
    (:meth:`ChunkWork.launch`)."""

    spec: ChunkSpec
    totals: dict[str, int]
    partials: dict[Target, Any]  # atlas.extract.device.DevicePartial
    copy: Any  # atlas.extract.device.PendingCopy


def compute_threads(dev: Any) -> int:
    """Forward passes run at once: one per core torch would use on a CPU, one on an accelerator."""
    return max(1, torch.get_num_threads()) if dev.type == "cpu" else 1


@contextmanager
def one_core_per_pass(dev: Any) -> Iterator[None]:
    """On a CPU, torch's intra-op threads are 1 inside the block (restored after it)."""
    before = torch.get_num_threads()
    if dev.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if dev.type == "cpu":
            torch.set_num_threads(before)


def check_cover(plan: Any, r0: int, r1: int) -> None:
    """The batches of a chunk must give every row of ``[r0, r1)`` exactly one word vector.

    Raises:
        ExtractionError: a row is missed or given twice.
    """
    rows = np.concatenate([b.rows for b in plan.batches]) if plan.batches else np.empty(0, np.int64)
    if len(rows) != r1 - r0 or not np.array_equal(np.bincount(rows, minlength=r1 - r0), np.ones(r1 - r0, np.int64)):
        raise ExtractionError(f"internal error: the batches of rows {r0}..{r1 - 1} do not cover each row once")


class WordCapture:
    """The capture sink that turns subword activations into word rows of a chunk buffer.

    The hooks are registered once on the shared model; what a hook writes to (the batch being
    run and its chunk's buffers) is per thread, so several threads can run batches at once.
    """

    def __init__(self, aggregation: str) -> None:
        self.aggregation = aggregation
        self.local = threading.local()

    def run(self, runner: ModelRunner, batch: Any, views: dict[Target, torch.Tensor]) -> None:
        """One forward pass of ``batch`` whose word rows land in ``views`` (this thread)."""
        self.local.batch, self.local.views = batch, views
        try:
            runner.forward(batch.input_ids, batch.attention_mask)
        finally:
            self.local.batch = self.local.views = None

    def __call__(self, target: Target, hidden: torch.Tensor) -> None:
        from atlas.extract.align import aggregate

        batch = self.local.batch
        view = self.local.views[target]
        vec = aggregate(hidden, batch, self.aggregation).to(torch.float16)
        if vec.device != view.device:
            vec = vec.to(view.device)
        key = "rows_t" if view.device.type == "cpu" else f"rows_t:{view.device}"
        rows = batch.extra.get(key)
        if rows is None:
            rows = batch.extra[key] = torch.from_numpy(batch.rows).to(view.device)
        # one scatter of the word rows into the chunk buffer (a torch view of its host memory,
        # or a device tensor on the device path)
        view.index_copy_(0, rows, vec)


class ChunkWork:
    """A worker's state for one plan: the model with its capture hooks, the files' writers.

    Args:
        db: an open atlas (the corpus is read from it; nothing is written to it).
        plan: the run's plan.
        runner: the loaded model; default: loaded from ``plan.model``.
        device_path: keep a chunk's rows and statistics on the device until one pinned copy
            (:mod:`atlas.extract.device`; default: on an accelerator).
    """

    def __init__(
        self, db: AtlasContext, plan: RunPlan, runner: ModelRunner | None = None, *, device_path: bool | None = None
    ) -> None:
        from atlas.extract.device import HostCopier

        self.db, self.plan = db, plan
        self.runner = runner if runner is not None else self._load(plan)
        self.device = self.runner.device
        # on an accelerator, rows and statistics stay on the device (atlas.extract.device);
        # device_path=True takes that path on a CPU too (tests)
        self.device_path = self.device.type != "cpu" if device_path is None else device_path
        self.copier = HostCopier(self.device) if self.device_path else None
        self.capture = WordCapture(plan.aggregation)
        self._stack = ExitStack()
        self._stack.enter_context(self.runner.capture(plan.targets, self.capture, stop_after_last=True))
        self.files = {f.key: f for f in plan.files}
        self.paths = {f.key: db.store.path(f.path) for f in plan.files}
        self._writers: dict[Target, Any] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _load(plan: RunPlan) -> ModelRunner:
        from atlas.extract.models import load_model

        m = plan.model
        loaded = load_model(
            m.source, revision=m.revision, dtype=m.dtype, device=m.device, random_init=m.random_init, seed=m.seed,
            max_length=m.max_length,
        )
        return ModelRunner(loaded)

    def __enter__(self) -> ChunkWork:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove the hooks and close the files."""
        self._stack.close()
        for w in self._writers.values():
            w.close()
        self._writers.clear()

    def writer(self, key: Target) -> Any:
        """The durable row writer of one file (opened once)."""
        from atlas.store.activations import RowWriter, npy_header_size

        with self._lock:
            if key not in self._writers:
                path = self.paths[key]
                self._writers[key] = RowWriter(path, offset=npy_header_size(path), width=self.files[key].width)
            return self._writers[key]

    def header_digest(self, key: Target) -> str:
        return header_digest(self.paths[key])

    def prepare(self, k: int) -> PreparedChunk:
        """Read chunk ``k``'s sentences and plan its batches (main thread; no model call)."""
        from atlas.extract.align import plan_batches
        from atlas.extract.layout import chunk_sentences

        spec, loaded = self.plan.chunks[k], self.runner.loaded
        with self.db.engine.connect() as conn:
            sentences = chunk_sentences(conn, self.plan.corpus_id, self.plan.corpus_name, (spec.a, spec.b), (spec.r0, spec.r1))
        batches = plan_batches(
            loaded.tokenizer,
            sentences,
            max_length=self.plan.max_length,
            batch_size=self.plan.batch_size,
            overlap=self.plan.overlap,
            pad_id=loaded.pad_id,
            aggregations=(self.plan.aggregation,),
            batch_cost=CPU_BATCH_COST if self.device.type == "cpu" else None,
        )
        check_cover(batches, spec.r0, spec.r1)
        return PreparedChunk(spec, batches.batches, {key: int(getattr(batches, key)) for key in PLAN_TOTALS})

    def buffers(self, spec: ChunkSpec, memory: dict[Target, Any] | None = None) -> dict[Target, np.ndarray]:
        """The chunk's float16 buffers, aligned for the files; laid into ``memory`` when given
        (every row is written by the hooks, see :func:`check_cover`: no zeroing)."""
        n = spec.r1 - spec.r0
        return {
            key: self.writer(key).buffer(spec.r0, n, None if memory is None else memory[key], zero=False)
            for key in self.plan.targets
        }

    def compute(self, batch: Any, views: dict[Target, torch.Tensor]) -> None:
        """One forward pass whose word rows land in ``views`` (any thread)."""
        self.capture.run(self.runner, batch, views)

    def absorb(
        self, spec: ChunkSpec, key: Target, block: np.ndarray | None, floor: np.ndarray | None = None
    ) -> tuple[str, PartialStats]:
        """Write a computed chunk's rows of one file durably (``block``), or read them back
        (``None``); then their sha256 and partial statistics (``floor``: see
        :class:`atlas.extract.stats.StreamStats`)."""
        from atlas.store.activations import read_rows

        f = self.files[key]
        if block is not None:
            self.writer(key).write(block, spec.r0)
        else:
            block = read_rows(self.paths[key], self.writer(key).offset, f.width, spec.r0, spec.r1)
        if self.device_path:  # the partials of computed chunks came from the device: the same function
            from atlas.extract.device import partial_stats

            rows = torch.from_numpy(block if block.flags.writeable else block.copy())
            return chunk_digest(block), partial_stats(rows.to(self.device), spec.r0, self.plan.top_k)
        acc = StreamStats(f.width, spec.r1 - spec.r0, self.plan.top_k, first_row=spec.r0, floor=floor)
        acc.update(block, spec.r0)
        return chunk_digest(block), acc.partial()

    def result(self, spec: ChunkSpec, parts: dict[Target, tuple[str, PartialStats]], computed: bool, totals: dict[str, int] | None = None) -> ChunkResult:
        """Assemble a chunk's result from its files' ``(digest, partial)``."""
        return ChunkResult(
            spec.index, spec.r0, spec.r1, computed,
            {key: parts[key][0] for key in self.plan.targets}, {key: parts[key][1] for key in self.plan.targets},
            dict(totals or {}),
        )

    def launch(self, k: int) -> LaunchedChunk:
        """Device path: queue chunk ``k``'s forward passes into device buffers, reduce its
        statistics on the device, and start the copy of both to pinned host memory; returns
        before the device is done (:meth:`finish` waits)."""
        from atlas.extract.device import device_partial

        assert self.copier is not None, "launch() is the device path"
        prepared = self.prepare(k)
        spec, n = prepared.spec, prepared.spec.r1 - prepared.spec.r0
        views = {key: torch.empty((n, self.files[key].width), dtype=torch.float16, device=self.device) for key in self.plan.targets}
        with one_core_per_pass(self.device):
            for batch in prepared.batches:
                self.compute(batch, views)
            partials = {key: device_partial(views[key], spec.r0, self.plan.top_k) for key in self.plan.targets}
        tensors: dict[Any, torch.Tensor] = {("rows", key): views[key] for key in self.plan.targets}
        for key, part in partials.items():
            tensors.update({(name, key): t for name, t in part.tensors.items()})
        return LaunchedChunk(spec, prepared.totals, partials, self.copier.start(tensors))

    def finish(self, launched: LaunchedChunk) -> ChunkResult:
        """Device path: wait for a launched chunk's copy, write its rows, digest them; its result."""
        from atlas.extract.device import partial_stats

        host = launched.copy.wait()
        spec, parts = launched.spec, {}
        for key in self.plan.targets:
            block = host[("rows", key)].numpy()
            self.writer(key).write(block, spec.r0)
            mine = {name: host[(name, key)] for name in launched.partials[key].tensors}
            part = launched.partials[key].to_host(mine)
            if not (np.isfinite(part.lo).all() and np.isfinite(part.hi).all()):
                part = partial_stats(host[("rows", key)], spec.r0, self.plan.top_k)  # inf/nan: the exact sums cannot hold them
            parts[key] = (chunk_digest(block), part)
        return self.result(spec, parts, True, launched.totals)

    def run_chunk(self, k: int) -> ChunkResult:
        """Compute chunk ``k`` (every batch in this thread), write it, digest and summarise it."""
        if self.device_path:
            return self.finish(self.launch(k))
        prepared = self.prepare(k)
        buffers = self.buffers(prepared.spec)
        views = {key: torch.from_numpy(buf) for key, buf in buffers.items()}
        with one_core_per_pass(self.device):
            for batch in prepared.batches:
                self.compute(batch, views)
        parts = {key: self.absorb(prepared.spec, key, buffers[key]) for key in self.plan.targets}
        return self.result(prepared.spec, parts, True, prepared.totals)

    def process(self, k: int) -> ChunkResult:
        """Chunk ``k``: read back when the plan says it is done, else computed."""
        return self.read_chunk(k) if k in self.plan.done else self.run_chunk(k)

    def read_chunk(self, k: int) -> ChunkResult:
        """Chunk ``k`` as stored (done earlier): its digests and partial statistics."""
        spec = self.plan.chunks[k]
        parts = {key: self.absorb(spec, key, None) for key in self.plan.targets}
        return self.result(spec, parts, False)


def run_chunk(db: AtlasContext, plan: RunPlan, k: int, *, work: ChunkWork | None = None) -> ChunkResult:
    """Compute and write chunk ``k`` of ``plan`` (idempotent: the same bytes every time) and
    return its digests and partial statistics; a worker loads the model from the plan unless
    ``work`` is given.

    Example::

        result = run_chunk(db, RunPlan.from_json(text), 7)
    """
    if work is not None:
        return work.run_chunk(k)
    with ChunkWork(db, plan) as own:
        return own.run_chunk(k)
