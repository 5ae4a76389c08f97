"""Merging chunk results into a run's statistics and checksums, exactly and deterministically.

:class:`RunMerger` takes :class:`atlas.extract.pipeline.ChunkResult` objects in any order and
merges them in chunk order (a result waits until those of the chunks before it are in), so the
values do not depend on which worker ran which chunk or when it finished: sums add in chunk
order, minima/maxima/counts combine, top values merge exactly, and each file's checksum is
built from its chunks' digests (:mod:`atlas.extract.checksum`). :func:`finalize_run` checks
that every chunk is recorded and writes it all in one transaction.

Example::

    merger = RunMerger(plan, header_digests)
    for result in results:            # any order
        merger.add(result)
    finalize_run(db, plan, merger, words_per_s=5000.0, n_computed=12)
"""

from __future__ import annotations

from typing import Any

from atlas.errors import ExtractionError
from atlas.extract.checksum import combine
from atlas.extract.pipeline import PLAN_TOTALS, ChunkResult
from atlas.extract.plan import RunPlan
from atlas.extract.runner import Target
from atlas.extract.stats import LayerStats, StatsMerger
from atlas.store.context import AtlasContext


class RunMerger:
    """The run's statistics and checksums, merged from chunk results in chunk order.

    Args:
        plan: the run's plan.
        headers: per file, the sha256 of its ``.npy`` header (:func:`atlas.extract.checksum.header_digest`).
    """

    def __init__(self, plan: RunPlan, headers: dict[Target, str]) -> None:
        self.plan = plan
        self.headers = headers
        self.stats = {f.key: StatsMerger(f.width, plan.n_words, plan.top_k) for f in plan.files}
        self.digests: dict[Target, list[str]] = {f.key: [] for f in plan.files}
        self.totals = dict.fromkeys(PLAN_TOTALS, 0)
        self.next = 0  # the next chunk to merge
        self.waiting: dict[int, ChunkResult] = {}
        self.n_computed = 0

    def add(self, result: ChunkResult) -> None:
        """Take one chunk's result; merge every result that is now next in chunk order.

        Raises:
            ExtractionError: a chunk came twice, or with rows other than the plan's.
        """
        spec = self.plan.chunks[result.chunk]
        if (result.r0, result.r1) != (spec.r0, spec.r1) or result.chunk < self.next or result.chunk in self.waiting:
            raise ExtractionError(f"internal error: unexpected result for chunk {result.chunk} (rows {result.r0}..{result.r1})")
        self.waiting[result.chunk] = result
        while self.next in self.waiting:
            self._merge(self.waiting.pop(self.next))
            self.next += 1

    def _merge(self, result: ChunkResult) -> None:
        for key, merger in self.stats.items():
            merger.add(result.stats[key])
            self.digests[key].append(result.digests[key])
        if result.computed:
            self.n_computed += 1
            for name in PLAN_TOTALS:
                self.totals[name] += int(result.plan_totals.get(name, 0))

    @property
    def complete(self) -> bool:
        return self.next == len(self.plan.chunks)

    def results(self) -> tuple[dict[Target, LayerStats], dict[Target, str]]:
        """Per file: the statistics and the checksum.

        Raises:
            ExtractionError: chunks are missing.
        """
        if not self.complete:
            raise ExtractionError(f"run {self.plan.run_id}: chunk {self.next} of {len(self.plan.chunks)} never came back")
        stats = {key: m.result() for key, m in self.stats.items()}
        checksums = {key: combine(self.headers[key], self.digests[key]) for key in self.stats}
        return stats, checksums


def finalize_run(db: AtlasContext, plan: RunPlan, merger: RunMerger, *, words_per_s: float | None, n_computed: int | None = None) -> None:
    """Check that every chunk is recorded, then write the merged statistics, top words and
    checksums and mark the run done, in one transaction.

    Raises:
        ExtractionError: rows or chunks are missing.
    """
    from atlas.extract import bookkeeping

    bookkeeping.check_complete(db, plan.run_id, plan.n_words)
    stats, checksums = merger.results()
    computed = merger.n_computed if n_computed is None else n_computed
    provenance: dict[str, Any] = dict(plan.provenance)
    provenance["plan"] = dict(merger.totals)
    provenance["chunks"] = {
        "total": len(plan.chunks),
        "computed_by_last_process": computed,
        "resumed": computed < len(plan.chunks),
        "checksum": "chunked-sha256 (atlas.extract.checksum)",
    }
    bookkeeping.write_results(db, plan, stats, checksums, provenance, words_per_s)
