"""The Ray executor: a run's chunks as Ray Data blocks, computed by model actors on a cluster.

``atlas extract MODEL --corpus C --executor ray [--address ADDR] [--workers N] [--gpus-per-worker G]``
(optional extra ``neuron-atlas[ray]``, i.e. ``ray[data]``). Ray Data is the standard engine for
batch inference on GPU actors; Neuron Atlas does not own a scheduler, it hands Ray the chunks
of a :class:`atlas.extract.plan.RunPlan` and merges what comes back.

**Flow.** The driver (the process that runs ``atlas extract``) plans the run as usual
(:func:`atlas.extract.plan.plan_run`: run row, preallocated files, chunks recorded earlier) and
reads the recorded chunks back itself. The chunks still to do become a Ray dataset of one row
and one block per chunk (``ray.data.from_items``), mapped with ``map_batches`` over a pool of
``N`` :class:`ChunkActor` actors (``ActorPoolStrategy(size=N)``, ``batch_size=1``,
``num_gpus=G`` each). An actor loads the model once, from the plan (``plan.model``: source,
revision, dtype, device, seed), and opens the database and the store itself. For each chunk it
calls :meth:`atlas.extract.pipeline.ChunkWork.run_chunk` (the local executor's code: one core
per forward pass on a CPU, so the bytes do not depend on the worker), which writes the rows
durably (``fdatasync``), then **commits the chunk itself** through the same idempotent record as
the local job (:func:`atlas.extract.bookkeeping.record_chunk`: one transaction, the ``run_chunk``
row, primary key ``(run_id, chunk)``, ``rows_done``) and returns the chunk's digests and partial
statistics (:class:`atlas.extract.pipeline.ChunkResult`, pickled) as its output row. The driver
merges the results in chunk order (:class:`atlas.extract.merge.RunMerger`), so statistics, top
words and checksums are exactly the local executor's, and finalizes the run.

**Where things live.** The database must be one every worker reaches: PostgreSQL for several
machines, a SQLite file on a shared filesystem for a single machine (``sqlite://`` in memory
is refused). The arrays live under the store root, which every worker must see at the same
path (a shared filesystem: NFS, Lustre, a local disk for a one-machine cluster)::

    <store root>/runs/<run_id>-<config_hash[:12]>/L{layer:02d}.{site}.npy   # [n_words, width] float16

Files are allocated by the driver before any actor starts; a chunk writes only its rows
``[r0, r1)``: the whole pages of its range with ``O_DIRECT``, the partial pages at its two ends
with ordinary ``pwrite`` of exactly its bytes (no read-modify-write), so workers writing
neighbouring chunks at once never touch each other's bytes. Partial statistics and digests are
not stored: they travel back in the dataset's rows (a few hundred KB per chunk), and a chunk
recorded by an earlier process is read back from its file on resume (same bytes, same partial).

A cluster started for the job (no ``address``) runs its workers at niceness 0
(``RAY_worker_niceness``, unless set): Ray's default, 15, starves the model actors on a machine
that does anything else.

With ``--device cuda`` only the actors need a GPU: the driver loads the model on its CPU to
plan, and reads recorded chunks back with the device path's reductions
(:mod:`atlas.extract.device`), which give the same bits on a CPU as on the actors' GPUs.

**Failures.** Ray Data's actor pool restarts a dead actor and retries its tasks (at least once).
A chunk computed twice writes the same bytes again; ``record_chunk`` is a no-op for a recorded
chunk; the driver keeps the first result of each chunk and drops repeats. So a retry never
duplicates or loses a row. If the driver dies, Ray loses the job (its owner), but every chunk
committed so far is in the database: running the same command again resumes.

Example::

    from atlas.extract.ray_executor import RayExecutor
    db.extract("builtin:all-minilm-l6-v2", corpus="pud", executor=RayExecutor(workers=4, gpus_per_worker=1))
"""

from __future__ import annotations

import logging
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from atlas.errors import ExtractionError
from atlas.extract.pipeline import ChunkResult, ChunkWork

#: ``on_result(chunk, pid)``: called by the driver as each chunk's result arrives (monitoring, tests).
ResultHook = Callable[[int, int], None]


@dataclass
class WorkerContext:
    """What an actor opens of the atlas: the engine and the activation store
    (an :class:`atlas.store.context.AtlasContext`)."""

    engine: Any
    store: Any


def database_url(db: Any) -> str:
    """The driver's database URL as a worker must open it (password kept, SQLite path absolute).

    Raises:
        ExtractionError: an in-memory SQLite database (no other process can reach it).
    """
    url = db.engine.url
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            raise ExtractionError(
                "the Ray executor needs a database every worker can open, not an in-memory SQLite one",
                hint="use a SQLite file (--db atlas.db) or PostgreSQL",
            )
        url = url.set(database=str(Path(url.database).expanduser().resolve()))
    return str(url.render_as_string(hide_password=False))


class ChunkActor:
    """A Ray Data actor: loads the model once, then computes, writes and commits chunks.

    Args:
        plan: the run's plan as JSON (:meth:`atlas.extract.plan.RunPlan.to_json`).
        url: the database URL (:func:`database_url`).
        store_root: the activation store's root, as this worker sees it.
    """

    def __init__(self, plan: str, url: str, store_root: str) -> None:
        from atlas.extract.plan import RunPlan
        from atlas.store.activations import ActivationStore
        from atlas.store.engine import make_engine

        self.plan = RunPlan.from_json(plan)
        self.db = WorkerContext(make_engine(url), ActivationStore(Path(store_root)))
        self.work = ChunkWork(self.db, self.plan)  # loads the model from plan.model
        self.pid = os.getpid()

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Compute, write and commit each chunk of ``batch["chunk"]``; one output row each."""
        from atlas.extract.bookkeeping import record_chunk

        chunks, payloads = [], []
        for k in batch["chunk"]:
            result = self.work.run_chunk(int(k))  # rows durable when it returns
            record_chunk(self.db, self.plan.run_id, result.chunk, result.r0, result.r1)
            chunks.append(result.chunk)
            payloads.append(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
        out = np.empty(len(payloads), dtype=object)
        out[:] = payloads
        return {"chunk": np.asarray(chunks, dtype=np.int64), "pid": np.full(len(chunks), self.pid, np.int64), "result": out}


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401 - the extra is ray[data]
    except ImportError as exc:
        raise ExtractionError(
            "--executor ray needs Ray Data, which is not installed",
            hint="pip install 'neuron-atlas[ray]' (or pip install 'ray[data]')",
        ) from exc
    return ray


def _package_path() -> str:
    """The folder that holds the ``atlas`` package this driver runs, first on the workers' path."""
    here = str(Path(__file__).resolve().parents[2])
    rest = os.environ.get("PYTHONPATH", "")
    return here if not rest else f"{here}{os.pathsep}{rest}"


class RayExecutor:
    """Runs chunks on a Ray cluster (see the module docstring).

    Args:
        address: the cluster (``ray://host:10001``, ``host:6379``, ``auto``); default: the
            cluster this process is already connected to, else a local one started for the job
            (and shut down after it).
        workers: model actors (each loads the model once).
        gpus_per_worker: GPUs each actor reserves (``1`` with ``--device cuda``; fractions share one).
        cpus_per_worker: CPUs each actor reserves (on a CPU a forward pass uses one core).
        on_result: called as ``on_result(chunk, worker_pid)`` when a chunk's result arrives.
    """

    #: The actors compute; the driver only plans and reads back (so it needs no GPU for --device cuda).
    computes_remotely = True

    def __init__(
        self,
        *,
        address: str | None = None,
        workers: int = 2,
        gpus_per_worker: float = 0.0,
        cpus_per_worker: float = 1.0,
        on_result: ResultHook | None = None,
    ) -> None:
        if workers < 1:
            raise ExtractionError(f"--workers must be at least 1, not {workers}")
        if gpus_per_worker < 0 or cpus_per_worker < 0:
            raise ExtractionError("--gpus-per-worker and CPUs per worker cannot be negative")
        self.address, self.workers = address, workers
        self.gpus_per_worker, self.cpus_per_worker = gpus_per_worker, cpus_per_worker
        self.on_result = on_result
        self.pids: set[int] = set()  # the worker processes that returned chunks

    def _connect(self, ray: Any) -> bool:
        """Connect to (or start) the cluster; True when this call started it (shut down after)."""
        if ray.is_initialized():
            return False
        env = {"env_vars": {"PYTHONPATH": _package_path()}}
        kwargs: dict[str, Any] = {
            "include_dashboard": False, "log_to_driver": False, "runtime_env": env, "logging_level": logging.ERROR,
        }
        if self.address:
            kwargs["address"] = self.address
        else:
            kwargs["num_cpus"] = max(1, int(np.ceil(self.workers * self.cpus_per_worker)))
            # Ray runs its workers at niceness 15 (background work); here they are the job itself
            os.environ.setdefault("RAY_worker_niceness", "0")
        try:
            ray.init(**kwargs)
        except Exception as exc:  # noqa: BLE001 - Ray raises ConnectionError, RuntimeError, ...
            where = self.address or "a local cluster"
            raise ExtractionError(
                f"cannot start or reach Ray at {where}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}",
                hint="check --address (ray status on the head node) or run without --address",
            ) from exc
        return True

    def _dataset(self, ray: Any, work: ChunkWork, todo: list[int]) -> Any:
        """The chunks as a dataset of one block each, mapped by the actor pool."""
        from ray.data import ActorPoolStrategy, DataContext

        logging.getLogger("ray.data").setLevel(logging.ERROR)  # no per-dataset banners on the command line
        ctx = DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.verbose_progress = False
        ds = ray.data.from_items([{"chunk": k} for k in todo], override_num_blocks=len(todo))
        return ds.map_batches(
            ChunkActor,
            fn_constructor_kwargs={"plan": work.plan.to_json(), "url": database_url(work.db), "store_root": str(work.db.store.root)},
            batch_size=1,
            compute=ActorPoolStrategy(size=min(self.workers, len(todo)), max_tasks_in_flight_per_actor=1),
            num_cpus=self.cpus_per_worker,
            num_gpus=self.gpus_per_worker,
        )

    def map_chunks(self, work: ChunkWork, chunk_ids: Sequence[int]) -> Iterator[ChunkResult]:
        """Recorded chunks read back here; the others computed by the actors, each yielded once
        (a repeat from a retried task is dropped)."""
        done = set(work.plan.done)
        todo = [k for k in sorted(chunk_ids) if k not in done]
        for k in sorted(chunk_ids):
            if k in done:
                yield work.read_chunk(k)
        if not todo:
            return
        database_url(work.db)  # fail before starting a cluster
        ray = _import_ray()
        started = self._connect(ray)
        try:
            yield from self._collect(self._dataset(ray, work, todo), todo)
        finally:
            if started:
                ray.shutdown()

    def _collect(self, ds: Any, todo: list[int]) -> Iterator[ChunkResult]:
        """The actors' results, each chunk once; a failed Ray job is one :class:`ExtractionError`."""
        seen: set[int] = set()
        rows = iter(ds.iter_rows())
        while True:
            try:
                row = next(rows)
            except StopIteration:
                break
            except ExtractionError:
                raise
            except Exception as exc:  # noqa: BLE001 - Ray wraps a worker's error in its own types
                first = next((line for line in str(exc).splitlines() if line.strip()), type(exc).__name__)
                raise ExtractionError(
                    f"the Ray job failed: {first.strip()[:300]}",
                    hint="the workers' logs are under /tmp/ray/session_latest/logs; chunks committed so far are kept: "
                    "run the same command again to resume",
                ) from exc
            k, pid = int(row["chunk"]), int(row["pid"])
            if k in seen:
                continue  # at-least-once: a retried chunk came twice (same bytes, already merged)
            seen.add(k)
            self.pids.add(pid)
            if self.on_result is not None:
                self.on_result(k, pid)
            result: ChunkResult = pickle.loads(row["result"])
            yield result
        missing = sorted(set(todo) - seen)
        if missing:
            raise ExtractionError(f"the Ray job ended without chunks {missing[:5]}", hint="run the same command again: it resumes")


__all__ = ["ChunkActor", "RayExecutor", "WorkerContext", "database_url"]
