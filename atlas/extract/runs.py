"""Reading runs back: one by id or model name, all of them as a table, one in full.

Imports neither torch nor transformers (the command line's ``atlas run list|show`` use it).

Example::

    run = resolve_run(db, "minilm")      # the latest finished run of the model minilm
    show_run(db, run.id)["files"][0]["sha256"]
"""

from __future__ import annotations

import os
import socket

from typing import Any

from sqlalchemy import func, select

from atlas.errors import ExtractionError
from atlas.naming import layer_name
from atlas.store.context import AtlasContext
from atlas.store.runs import find_run
from atlas.store.tables import ActivationFile, Corpus, Layer, Model, Run, RunChunk

_LIST_COLUMNS = ["id", "model", "corpus", "status", "rows_done", "n_words", "words_per_s", "started_at", "finished_at"]


def resolve_run(db: AtlasContext, ref: int | str) -> Run:
    """A run by id or by model short name (its latest done run); see :func:`atlas.store.runs.find_run`.

    Raises:
        ExtractionError: no such run, or the model has no finished run.
    """
    return find_run(db, ref, error=ExtractionError)


def list_runs(db: AtlasContext) -> Any:
    """All runs as a DataFrame: id, model, corpus, status, rows done, words/s, times."""
    import pandas as pd

    q = (
        select(
            Run.id,
            Model.name.label("model"),
            Corpus.name.label("corpus"),
            Run.status,
            Run.rows_done,
            Run.n_words,
            Run.words_per_s,
            Run.started_at,
            Run.finished_at,
        )
        .join(Model, Model.id == Run.model_id)
        .join(Corpus, Corpus.id == Run.corpus_id)
        .order_by(Run.id)
    )
    with db.engine.connect() as conn:
        rows = conn.execute(q.add_columns(Run.provenance)).all()
    frame = pd.DataFrame([r[:-1] for r in rows], columns=_LIST_COLUMNS)
    frame["status"] = [run_state(status, prov) for status, prov in zip(frame["status"], (r[-1] for r in rows))]
    return frame


def run_state(status: str, provenance: dict[str, Any] | None) -> str:
    """A run's status as a user should read it: a ``running`` run whose process on this host is
    gone (killed with SIGKILL, a crash, a reboot) is ``stale``; running the same extraction again
    resumes it.

    >>> run_state("running", {"host": "elsewhere.invalid", "pid": 1})
    'running'
    >>> run_state("done", None)
    'done'
    """
    if status != "running" or not provenance:
        return status
    pid, host = provenance.get("pid"), provenance.get("host")
    if host != socket.gethostname() or not isinstance(pid, int):
        return status  # another machine's process: it cannot be checked from here
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"stale (process {pid} is gone; run the extraction again to resume)"
    except PermissionError:
        pass  # alive, another user's
    return status


def show_run(db: AtlasContext, ref: int | str) -> dict[str, Any]:
    """A run's row, config, provenance and files, as a plain dict.

    Example::

        >>> show_run(db, "minilm")["status"]  # doctest: +SKIP
        'done'
    """
    run = resolve_run(db, ref)
    with db.engine.connect() as conn:
        model = conn.execute(select(Model.name, Model.source, Model.revision).where(Model.id == run.model_id)).one()
        corpus = conn.execute(select(Corpus.name).where(Corpus.id == run.corpus_id)).scalar_one()
        files = conn.execute(
            select(Layer.site, Layer.index, Layer.hook_point, ActivationFile.path, ActivationFile.width, ActivationFile.sha256)
            .join(Layer, Layer.id == ActivationFile.layer_id)
            .where(ActivationFile.run_id == run.id)
            .order_by(Layer.index, Layer.site)
        ).all()
        n_chunks = conn.execute(select(func.count()).select_from(RunChunk).where(RunChunk.run_id == run.id)).scalar_one()
    return {
        "id": run.id,
        "model": model.name,
        "source": model.source,
        "revision": model.revision,
        "corpus": corpus,
        "status": run.status,
        "rows_done": run.rows_done,
        "n_words": run.n_words,
        "chunks_done": n_chunks,
        "words_per_s": run.words_per_s,
        "started_at": run.started_at.isoformat() if run.started_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
        "error": run.error,
        "config_hash": run.config_hash,
        "store_path": run.store_path,
        "config": run.config,
        "provenance": run.provenance,
        "files": [
            {"layer": layer_name(f.site, f.index), "hook_point": f.hook_point, "path": f.path, "width": f.width, "sha256": f.sha256}
            for f in files
        ],
    }
