"""Finding runs by what users type: an id (``3``) or a model's short name (its latest done run).

The lookup lives here, below extraction and scoring, so that both use one rule and scoring never
imports torch to find a run.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from atlas.errors import AtlasError, did_you_mean
from atlas.store.tables import Model, Run


def find_run(db: Any, ref: int | str, *, error: type[AtlasError] = AtlasError) -> Run:
    """The run ``ref`` names, detached (its attributes stay readable).

    Args:
        db: the atlas.
        ref: a run id (``3``, ``"3"``) or a model short name (its latest run with status done).
        error: the error class to raise, so each caller reports in its own terms.

    Raises:
        error: no such run, no such model (with a did-you-mean hint), or no finished run.

    Example::

        >>> find_run(db, "minilm").status   # doctest: +SKIP
        'done'
    """
    with Session(db.engine, expire_on_commit=False) as session:
        if isinstance(ref, int) or ref.strip().isdigit():
            run = session.get(Run, int(ref))
            if run is None:
                raise error(f"there is no run {ref}", hint="list runs with: atlas run list")
            session.expunge(run)
            return run
        model_id = session.scalar(select(Model.id).where(Model.name == ref))
        if model_id is None:
            names = session.scalars(select(Model.name)).all()
            raise error(f"no model named {ref!r}", hint=did_you_mean(ref, names) or "list runs with: atlas run list")
        found = session.scalars(
            select(Run).where(Run.model_id == model_id, Run.status == "done").order_by(Run.id.desc()).limit(1)
        ).first()
        if found is None:
            raise error(f"model {ref!r} has no finished run", hint=f"run: atlas extract ... --as {ref}")
        session.expunge(found)
        return found
