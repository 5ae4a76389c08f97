"""Reading stored correlations back (the facade's ``correlations()``; the query language reads
the rows through its own compiled SQL, see :mod:`atlas.query.similar`)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import aliased

from atlas.store.tables import Correlation, Model, Run

COLUMNS = ["id", "model", "run", "other_model", "other_run", "sites", "status", "top_k", "finished_at"]


def list_correlations(db: Any) -> pd.DataFrame:
    """Every stored correlation (complete, or building: a job running or killed), oldest first."""
    ra, rb = aliased(Run), aliased(Run)
    ma, mb = aliased(Model), aliased(Model)
    stmt = (
        select(Correlation.id, ma.name, Correlation.run_id, mb.name, Correlation.other_run_id, Correlation.sites,
               Correlation.status, Correlation.params, Correlation.finished_at)
        .join(ra, ra.id == Correlation.run_id).join(ma, ma.id == ra.model_id)
        .join(rb, rb.id == Correlation.other_run_id).join(mb, mb.id == rb.model_id)
        .order_by(Correlation.id)
    )
    with db.engine.connect() as conn:
        rows = [(*r[:7], (r[7] or {}).get("top_k"), r[8]) for r in conn.execute(stmt)]
    return pd.DataFrame(rows, columns=COLUMNS)


__all__ = ["COLUMNS", "list_correlations"]
