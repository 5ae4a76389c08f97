"""The extraction job: a model over a stored corpus, every unit on every word, resumable.

Flow of :func:`extract`::

    check options ─► corpus layout ─► load model
        ─► plan_run: model, layer, neuron rows; find or create the run by config hash;
           one float16 [n_words, width] file per (layer, site)          (atlas.extract.plan)
        ─► executor.map_chunks: each chunk computed (or read back when done earlier), written
           durably, digested and summarised; results in any order     (atlas.extract.executor)
               ─► each computed chunk, once durable: ONE transaction: run_chunk row + rows_done
               ─► merged in chunk order                                 (atlas.extract.merge)
        ─► finalize_run: ONE transaction: neuron_stat, top_activation, file checksums, "done"

**Resume.** The corpus is cut into chunks of whole sentences (about ``chunk_words`` words),
deterministically from the config. Everything that influences the bytes written is in the
config hash (:func:`atlas.extract.provenance.run_config`), so running the same command again
finds the run and skips the chunks it recorded (they are read back for the statistics). A
chunk that was written but not recorded is recomputed and overwritten with the same bytes.
Kill -9 at any moment and rerun: the files are byte-identical to an uninterrupted run's, and so
are the statistics and checksums (merged in chunk order from the same bytes).

Modules: :mod:`~atlas.extract.options` (options, no torch), :mod:`~atlas.extract.layout`
(corpus, chunks), :mod:`~atlas.extract.catalog` (model rows), :mod:`~atlas.extract.provenance`,
:mod:`~atlas.extract.plan`, :mod:`~atlas.extract.runner` (hooks, interventions),
:mod:`~atlas.extract.pipeline` (one chunk), :mod:`~atlas.extract.executor`,
:mod:`~atlas.extract.merge`, :mod:`~atlas.extract.bookkeeping` (run rows),
:mod:`~atlas.extract.runs` (reading runs).

Example::

    run_id = extract(db, "builtin:all-minilm-l6-v2", corpus="pud", name="minilm")
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from atlas.errors import ExtractionError
from atlas.extract import bookkeeping
from atlas.extract.options import DEFAULT_CHUNK_WORDS, TOP_K, ExtractOptions, parse_sites
from atlas.extract.provenance import FORMAT_VERSION
from atlas.extract.runs import list_runs, resolve_run, show_run
from atlas.store.context import AtlasContext
from atlas.store.failures import database_label, translating

if TYPE_CHECKING:  # torch comes with these: imported when a job runs, not when this module is
    from atlas.extract.executor import Executor
    from atlas.extract.merge import RunMerger
    from atlas.extract.pipeline import ChunkWork
    from atlas.extract.plan import RunPlan
    from atlas.extract.runner import ModelRunner

__all__ = [
    "DEFAULT_CHUNK_WORDS",
    "FORMAT_VERSION",
    "TOP_K",
    "execute",
    "extract",
    "list_runs",
    "resolve_run",
    "show_run",
]


def extract(
    db: AtlasContext,
    model: str,
    *,
    corpus: str,
    name: str | None = None,
    sites: str | Sequence[str] = ("mlp", "resid"),
    layers: str | Sequence[int] | None = None,
    aggregation: str = "mean",
    batch_size: int = 32,
    device: str = "cpu",
    dtype: str = "float32",
    random_init: bool = False,
    seed: int = 0,
    progress: bool = True,
    revision: str | None = None,
    max_length: int | None = None,
    overlap: int | None = None,
    chunk_words: int = DEFAULT_CHUNK_WORDS,
    top_k: int = TOP_K,
    executor: Executor | str | None = None,
    executor_options: dict[str, Any] | None = None,
) -> int:
    """Extract word-level activations of every unit of ``model`` over ``corpus``; returns the run id.

    Args:
        db: an open atlas (:class:`atlas.store.context.AtlasContext`).
        model: a Hugging Face id, a local folder, or ``builtin:all-minilm-l6-v2``.
        corpus: the stored corpus' name.
        name: the model's short name in queries (default: from the id or folder);
            ``NAME-random`` when ``random_init``.
        sites: registered sites (``mlp``, ``resid``, ``embed``), comma-separated or a list.
        layers: blocks to capture (``"0-5"``, ``[1, 3]``; default all).
        aggregation: subwords to word: ``mean``, ``first`` or ``last``.
        batch_size: windows per forward pass (at most; on a CPU, batches are cut where padding would
            cost more than a forward pass, see :func:`atlas.extract.align.split_batches`).
        device: ``cpu`` or ``cuda``.
        dtype: model dtype: ``float32``, ``bfloat16``, ``float16`` (or ``fp32``, ``bf16``, ``fp16``;
            arrays are float16 always).
        random_init: fresh weights of the same architecture, seeded by ``seed``.
        progress: show a progress bar (stderr).
        revision: a hub revision for hub ids.
        max_length: cap the model window (tokens); longer sentences are windowed.
        overlap: subwords shared by consecutive windows (default: half a window).
        chunk_words: words per resumable chunk.
        top_k: top-activating words kept per neuron.
        executor: who runs the chunks: an :class:`~atlas.extract.executor.Executor`, or its name
            ``local`` (the default, :class:`~atlas.extract.executor.LocalExecutor`), ``serial`` or
            ``ray`` (:class:`~atlas.extract.ray_executor.RayExecutor`, a Ray cluster). The results
            are the same whichever.
        executor_options: options of a named executor (``ray``: ``address``, ``workers``,
            ``gpus_per_worker``; see :func:`atlas.extract.executor.make_executor`).

    Raises:
        ExtractionError: bad options, unknown corpus, a model that will not load, an
            unsupported architecture, a short name taken by another model.

    Example::

        >>> run_id = extract(db, "builtin:all-minilm-l6-v2", corpus="pud", name="minilm")  # doctest: +SKIP
    """
    from atlas.extract.models import canonical_dtype

    options = ExtractOptions(
        model, corpus, name, parse_sites(sites), layers, aggregation, batch_size, device, canonical_dtype(dtype), random_init, seed,
        revision, max_length, overlap, chunk_words, top_k,
    )
    with translating(f"extracting {model} over corpus {corpus!r}", where=database_label(db.engine)):
        return _extract(db, options, executor, executor_options or {}, progress)


def _extract(
    db: AtlasContext, options: ExtractOptions, executor: Executor | str | None, executor_options: dict[str, Any], progress: bool
) -> int:
    """Check the options, load the corpus and the model, plan the run and execute it."""
    from atlas.extract.executor import make_executor
    from atlas.extract.layout import load_corpus
    from atlas.extract.models import check_device, load_model, resolve_source
    from atlas.extract.plan import plan_run
    from atlas.extract.runner import ModelRunner

    options.check()
    if executor is None or isinstance(executor, str):
        if executor == "ray" and options.device.startswith("cuda"):
            executor_options = {"gpus_per_worker": 1.0, **executor_options}  # one GPU per model actor unless told
        executor = make_executor(executor, **executor_options)  # bad names and options fail before any model loads
    elif executor_options:
        raise ExtractionError("executor_options apply to a named executor (executor='ray'), not to an executor object")
    # An executor whose workers compute (Ray) needs the device on the workers, not here: the
    # driver plans and reads back on its CPU, with the device path's reductions (the same bits).
    remote = bool(getattr(executor, "computes_remotely", False)) and options.device != "cpu"
    check_device("cpu" if remote and options.device.split(":", 1)[0] == "cuda" else options.device)
    resolve_source(options.model)
    info = load_corpus(db, options.corpus)
    loaded = load_model(
        options.model, revision=options.revision, dtype=options.dtype, device="cpu" if remote else options.device,
        random_init=options.random_init, seed=options.seed, max_length=options.max_length,
    )
    plan = plan_run(db, options, loaded, info)
    if plan.status == "done":
        return plan.run_id
    return execute(db, plan, ModelRunner(loaded), executor=executor, progress=progress, device_path=True if remote else None)


def execute(
    db: AtlasContext, plan: RunPlan, runner: ModelRunner | None = None, *, executor: Executor | None = None,
    progress: bool = False, device_path: bool | None = None,
) -> int:
    """Run every chunk of ``plan`` through ``executor``, record each as it becomes durable,
    merge the results in chunk order and finalize the run; returns the run id. On any error
    (or Ctrl-C) the run is marked failed, and running the same extraction again resumes it.
    ``device_path``: see :class:`atlas.extract.pipeline.ChunkWork` (default: on an accelerator)."""
    from atlas.extract.executor import LocalExecutor
    from atlas.extract.merge import RunMerger, finalize_run
    from atlas.extract.pipeline import ChunkWork

    try:
        with ChunkWork(db, plan, runner, device_path=device_path) as work:
            merger = RunMerger(plan, {f.key: work.header_digest(f.key) for f in plan.files})
            words, elapsed = _drive(db, plan, executor or LocalExecutor(), work, merger, progress)
        words_per_s = words / elapsed if words and elapsed > 0 else None
        finalize_run(db, plan, merger, words_per_s=words_per_s)
    except BaseException as exc:
        bookkeeping.mark_failed(db, plan.run_id, exc)
        raise
    return plan.run_id


def _drive(db: AtlasContext, plan: RunPlan, executor: Executor, work: ChunkWork, merger: RunMerger, progress: bool) -> tuple[int, float]:
    """Consume the executor's results: record computed chunks, merge all; ``(words computed, seconds)``."""
    from tqdm import tqdm

    done_rows = sum(plan.chunks[k].r1 - plan.chunks[k].r0 for k in plan.done)
    bar = tqdm(
        total=plan.n_words, initial=done_rows, unit="word", unit_scale=True, desc=f"extract run {plan.run_id}",
        disable=not progress, file=sys.stderr, dynamic_ncols=True,
    )
    words, t0 = 0, time.perf_counter()
    results: Any = executor.map_chunks(work, [c.index for c in plan.chunks])
    try:
        for result in results:
            if result.computed:
                bookkeeping.record_chunk(db, plan.run_id, result.chunk, result.r0, result.r1)
                words += result.r1 - result.r0
                bar.update(result.r1 - result.r0)
                bar.set_postfix_str(f"{words / max(time.perf_counter() - t0, 1e-9):,.0f} words/s", refresh=False)
            merger.add(result)
        return words, time.perf_counter() - t0
    finally:
        close = getattr(results, "close", None)
        if close is not None:
            close()
        bar.close()
