"""Named SQL views: the relations a SQL user (and a report) reads, the same on both backends.

Each view is created by the migrations and printed in ``schema/<dialect>.sql``. The scores are
stored packed (:class:`~atlas.store.tables.ScoreVector`); the ``score`` view gives them back in
long form, one row per (complete score set, neuron)::

    SELECT neuron_id, value FROM score WHERE method_id = 3 AND concept_id = 17;

On SQLite the view decodes the packed float32 values with the function ``atlas_value(vals, i)``,
which every connection Neuron Atlas opens registers (``atlas sql`` and the Python API have it; a
bare ``sqlite3`` shell does not).
"""

from __future__ import annotations

from dataclasses import dataclass

from atlas.store.tables import SCORE_BLOCK


@dataclass(frozen=True)
class View:
    """A named view: its SQL per dialect and what it is for."""

    name: str
    doc: str
    sql: dict[str, str]

    def create(self, dialect: str) -> str:
        return f"CREATE VIEW {self.name} AS\n{self.sql[dialect]}"

    def drop(self) -> str:
        return f"DROP VIEW IF EXISTS {self.name}"


def _score_sql(value: str) -> str:
    return f"""SELECT s.id AS set_id, s.run_id, s.method_id, s.concept_id, n.id AS neuron_id,
       {value} AS value
FROM score_set AS s
JOIN score_vector AS v ON v.set_id = s.id
JOIN neuron AS n ON n.layer_id = v.layer_id
 AND n.unit >= v.block * {SCORE_BLOCK} AND n.unit < (v.block + 1) * {SCORE_BLOCK}
WHERE s.status = 'complete'"""


SCORE = View(
    "score",
    "One row per (complete score set, neuron): the long form of the packed score vectors.",
    {
        "sqlite": _score_sql(f"atlas_value(v.vals, n.unit % {SCORE_BLOCK})"),
        "postgresql": _score_sql(f"CAST(NULLIF(v.vals[n.unit % {SCORE_BLOCK} + 1], 'NaN'::real) AS double precision)"),
    },
)

#: Every view, in creation order.
VIEWS: tuple[View, ...] = (SCORE,)
