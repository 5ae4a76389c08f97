"""Housekeeping for the fact table that carries no foreign keys (``top_activation``).

Score sets have foreign keys with ``ON DELETE CASCADE``: deleting a run, method or concept
deletes its sets in the same transaction.

Call :func:`purge_orphans` in the same transaction that deletes runs, methods, concepts,
models or corpora, so that no top activation outlives what it describes.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from atlas.store.tables import Neuron, Run, TopActivation


def purge_orphans(conn: Connection) -> int:
    """Delete top-activation rows whose run or neuron is gone.

    Returns:
        The number of rows deleted.
    """
    deleted = 0
    for stmt in (
        delete(TopActivation).where(TopActivation.run_id.not_in(select(Run.id))),
        delete(TopActivation).where(TopActivation.neuron_id.not_in(select(Neuron.id))),
    ):
        deleted += conn.execute(stmt).rowcount or 0
    return deleted
