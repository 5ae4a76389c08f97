"""Housekeeping for the fact tables that carry no foreign keys (``score``, ``top_activation``).

Call :func:`purge_orphans` in the same transaction that deletes runs, methods, concepts,
models or corpora, so that no score outlives what it describes.
"""

from __future__ import annotations

from sqlalchemy import Connection, delete, select

from atlas.store.tables import Concept, Method, Neuron, Run, Score, TopActivation


def purge_orphans(conn: Connection) -> int:
    """Delete score and top-activation rows whose run, method, concept or neuron is gone.

    Returns:
        The number of rows deleted.
    """
    deleted = 0
    for stmt in (
        delete(Score).where(Score.run_id.not_in(select(Run.id))),
        delete(Score).where(Score.method_id.not_in(select(Method.id))),
        delete(Score).where(Score.concept_id.not_in(select(Concept.id))),
        delete(Score).where(Score.neuron_id.not_in(select(Neuron.id))),
        delete(TopActivation).where(TopActivation.run_id.not_in(select(Run.id))),
        delete(TopActivation).where(TopActivation.neuron_id.not_in(select(Neuron.id))),
    ):
        deleted += conn.execute(stmt).rowcount or 0
    return deleted
