"""The run's rows: create or find the run, register its files, record chunks as they become
durable, mark it failed, and write the merged statistics when it is done.

Each function is one transaction. A chunk is recorded only after its rows are on disk
(fsynced), so a recorded chunk is never recomputed; a chunk written but not recorded is
recomputed and overwritten with the same bytes.

Example::

    record_chunk(db, run_id, chunk=3, r0=6144, r1=8190)
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from atlas.errors import ExtractionError
from atlas.store.bulk import bulk_insert
from atlas.store.context import AtlasContext
from atlas.store.engine import write
from atlas.store.tables import ActivationFile, Neuron, NeuronStat, Run, RunChunk, TopActivation


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def get_or_create_run(
    db: AtlasContext, model_id: int, corpus: Any, config: dict[str, Any], config_hash: str, provenance: dict[str, Any]
) -> Any:
    """The run row with ``config_hash``, created (``pending``, with its store folder) when missing.

    Raises:
        ExtractionError: a concurrent job keeps creating the row.
    """
    from atlas.store.activations import ActivationStore

    for _attempt in range(2):
        with write(db.engine) as conn:
            run = conn.execute(select(Run.__table__).where(Run.config_hash == config_hash)).first()
            if run is not None:
                return run
            try:
                with conn.begin_nested():
                    conn.execute(
                        Run.__table__.insert().values(
                            model_id=model_id, corpus_id=corpus.id, config_hash=config_hash, config=config,
                            status="pending", store_path="", n_words=corpus.n_tokens, rows_done=0,
                            provenance=provenance, created_at=_now(),
                        )
                    )
            except IntegrityError:
                continue
            run_id = conn.execute(select(Run.id).where(Run.config_hash == config_hash)).scalar_one()
            conn.execute(update(Run).where(Run.id == run_id).values(store_path=ActivationStore.run_dir(run_id, config_hash)))
            return conn.execute(select(Run.__table__).where(Run.id == run_id)).one()
    raise ExtractionError("could not create the run row (a concurrent job keeps creating it)")


def open_files(db: AtlasContext, plan: Any) -> list[int]:
    """Allocate the plan's files (kept when they exist), register them, mark the run
    ``running``; returns the chunks recorded as done.

    Raises:
        ExtractionError: a file exists with another shape.
    """
    for f in plan.files:
        try:
            db.store.allocate(f.path, n_rows=plan.n_words, width=f.width)
        except ValueError as exc:
            raise ExtractionError(str(exc), hint="remove the run's folder and run again") from exc
    with write(db.engine) as conn:
        present = set(conn.execute(select(ActivationFile.layer_id).where(ActivationFile.run_id == plan.run_id)).scalars())
        for f in plan.files:
            if f.layer_id not in present:
                conn.execute(
                    ActivationFile.__table__.insert().values(
                        run_id=plan.run_id, layer_id=f.layer_id, path=f.path, n_rows=plan.n_words, width=f.width, dtype="float16"
                    )
                )
        done = sorted(conn.execute(select(RunChunk.chunk).where(RunChunk.run_id == plan.run_id)).scalars())
        started = conn.execute(select(Run.started_at).where(Run.id == plan.run_id)).scalar_one()
        conn.execute(
            update(Run)
            .where(Run.id == plan.run_id)
            .values(status="running", error=None, started_at=started or _now(), provenance=plan.provenance)
        )
    return [int(k) for k in done]


def record_chunk(db: AtlasContext, run_id: int, chunk: int, r0: int, r1: int) -> None:
    """One transaction: the chunk is complete (unless a concurrent job recorded it first).

    Idempotent: recording a recorded chunk changes nothing (a Ray task retried after its first
    attempt committed, or a driver recording what its worker recorded); two processes recording
    the same chunk at once leave one row (the primary key ``(run_id, chunk)``) and add its rows
    to ``rows_done`` once."""
    with write(db.engine) as conn:
        seen = conn.execute(select(RunChunk.chunk).where(RunChunk.run_id == run_id, RunChunk.chunk == chunk)).first()
        if seen is not None:
            return
        try:
            with conn.begin_nested():
                conn.execute(
                    RunChunk.__table__.insert().values(run_id=run_id, chunk=chunk, start_row=r0, end_row=r1, finished_at=_now())
                )
        except IntegrityError:
            return  # recorded by a concurrent process between the select and the insert
        conn.execute(update(Run).where(Run.id == run_id).values(rows_done=Run.rows_done + (r1 - r0)))


def mark_failed(db: AtlasContext, run_id: int, exc: BaseException) -> None:
    """Record why the run stopped: status ``interrupted`` for Ctrl-C or SIGTERM (the command line
    turns SIGTERM into a KeyboardInterrupt), ``failed`` with the error otherwise; never raises."""
    interrupted = isinstance(exc, KeyboardInterrupt)
    message = "interrupted (Ctrl-C or SIGTERM)" if interrupted else f"{type(exc).__name__}: {exc}"
    status = "interrupted" if interrupted else "failed"
    try:
        with write(db.engine) as conn:
            conn.execute(update(Run).where(Run.id == run_id).values(status=status, error=message[:2000]))
    except Exception:  # noqa: BLE001 - never hide the original error behind a bookkeeping one
        pass


def check_complete(db: AtlasContext, run_id: int, n_words: int) -> None:
    """The recorded chunks must cover every row.

    Raises:
        ExtractionError: rows are missing.
    """
    with db.engine.connect() as conn:
        covered = conn.execute(
            select(func.coalesce(func.sum(RunChunk.end_row - RunChunk.start_row), 0)).where(RunChunk.run_id == run_id)
        ).scalar_one()
    if int(covered) != n_words:
        raise ExtractionError(f"run {run_id} covers {covered} of {n_words} rows after the last chunk")


def _write_layer(conn: Any, run_id: int, layer_id: int, width: int, st: Any, checksum: str) -> None:
    """The neuron_stat and top_activation rows of one layer, and its file's checksum."""
    neuron_ids = np.array(
        conn.execute(select(Neuron.id).where(Neuron.layer_id == layer_id).order_by(Neuron.unit)).scalars().all(),
        dtype=np.int64,
    )
    bulk_insert(
        conn,
        NeuronStat.__table__,
        {
            "run_id": np.full(width, run_id, dtype=np.int64),
            "neuron_id": neuron_ids,
            "count": np.full(width, st.count, dtype=np.int64),
            "mean": st.mean,
            "std": st.std,
            "min": st.min,
            "max": st.max,
            "fire_rate": st.fire_rate,
        },
    )
    k = st.top_rows.shape[1]
    bulk_insert(
        conn,
        TopActivation.__table__,
        {
            "run_id": np.full(width * k, run_id, dtype=np.int64),
            "neuron_id": np.repeat(neuron_ids, k),
            "rank": np.tile(np.arange(k, dtype=np.int64), width),
            "row": st.top_rows.reshape(-1),
            "value": st.top_values.reshape(-1),
        },
    )
    conn.execute(
        update(ActivationFile).where(ActivationFile.run_id == run_id, ActivationFile.layer_id == layer_id).values(sha256=checksum)
    )


def write_results(
    db: AtlasContext, plan: Any, stats: dict[tuple[str, int], Any], checksums: dict[tuple[str, int], str], provenance: dict[str, Any], words_per_s: float | None
) -> None:
    """One transaction: every layer's statistics, top words and checksum; the run ``done``."""
    finished = _now()
    with write(db.engine) as conn:
        prov = dict(provenance)
        old = conn.execute(select(Run.words_per_s, Run.started_at).where(Run.id == plan.run_id)).one()
        prov["finished_at"] = finished.isoformat()
        if old.started_at is not None:
            prov["started_at"] = old.started_at.isoformat()
        if words_per_s is None:
            words_per_s = old.words_per_s
        prov["words_per_s"] = words_per_s
        conn.execute(delete(NeuronStat).where(NeuronStat.run_id == plan.run_id))
        conn.execute(delete(TopActivation).where(TopActivation.run_id == plan.run_id))
        for f in plan.files:
            _write_layer(conn, plan.run_id, f.layer_id, f.width, stats[f.key], checksums[f.key])
        conn.execute(
            update(Run)
            .where(Run.id == plan.run_id)
            .values(status="done", error=None, finished_at=finished, words_per_s=words_per_s, provenance=prov, rows_done=plan.n_words)
        )
