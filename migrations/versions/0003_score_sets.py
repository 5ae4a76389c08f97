"""score sets: packed, atomic score sets replace the row-per-score table; ids never reused

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

* ``score`` (one row per run x method x concept x neuron, about 47 bytes a score on SQLite)
  becomes ``score_set`` (one row per run x method x concept, with a status) and
  ``score_vector`` (float32 values packed 256 units a row, about 4 bytes a score). The long
  form lives on as the view ``score`` (atlas/store/views.py). Existing scores move into
  complete sets, value for value (as float32).
* On SQLite, the tables whose ids other rows refer to get ``AUTOINCREMENT``, so a deleted
  concept's or run's id is never handed out again (PostgreSQL sequences never reuse ids).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BLOCK = 256
#: What a downgrade keeps: the rows of complete score sets go back into ``score`` (the
#: downgrade's loss check does not count them; sets still building are dropped).
DOWNGRADE_MOVES = {"score_set": "score", "score_vector": "score"}
AUTOINCREMENT_TABLES = ("model", "layer", "neuron", "corpus", "concept", "run", "method")
_VALUE = {
    "sqlite": f"atlas_value(v.vals, n.unit % {BLOCK})",
    "postgresql": f"CAST(NULLIF(v.vals[n.unit % {BLOCK} + 1], 'NaN'::real) AS double precision)",
}
# The view as this revision defines it (a later revision that changes it writes its own copy).
SCORE_VIEW = """CREATE VIEW score AS
SELECT s.id AS set_id, s.run_id, s.method_id, s.concept_id, n.id AS neuron_id,
       {value} AS value
FROM score_set AS s
JOIN score_vector AS v ON v.set_id = s.id
JOIN neuron AS n ON n.layer_id = v.layer_id
 AND n.unit >= v.block * {block} AND n.unit < (v.block + 1) * {block}
WHERE s.status = 'complete'"""


def _pack(values: np.ndarray, dialect: str) -> object:
    arr = np.asarray(values, dtype="<f4")
    return arr.tolist() if dialect == "postgresql" else arr.tobytes()


def _set_autoincrement(flag: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in AUTOINCREMENT_TABLES:
        with op.batch_alter_table(table, recreate="always", table_kwargs={"sqlite_autoincrement": flag}):
            pass


def _neuron_layout(conn: sa.Connection) -> tuple[dict[int, tuple[int, int]], dict[int, int]]:
    """``{neuron_id: (layer_id, unit)}`` and ``{layer_id: width}``."""
    where: dict[int, tuple[int, int]] = {}
    width: dict[int, int] = {}
    for nid, layer_id, unit in conn.execute(sa.text("SELECT id, layer_id, unit FROM neuron")):
        where[int(nid)] = (int(layer_id), int(unit))
        width[int(layer_id)] = max(width.get(int(layer_id), 0), int(unit) + 1)
    return where, width


def _move_scores_into_sets(conn: sa.Connection) -> None:
    dialect = conn.dialect.name
    where, width = _neuron_layout(conn)
    keys = conn.execute(sa.text("SELECT DISTINCT run_id, method_id, concept_id FROM score ORDER BY 1, 2, 3")).all()
    sets = sa.table("score_set", sa.column("id"), sa.column("run_id"), sa.column("method_id"),
                    sa.column("concept_id"), sa.column("status"), sa.column("created_at"), sa.column("finished_at"))
    vectors = sa.table("score_vector", sa.column("set_id"), sa.column("layer_id"), sa.column("block"), sa.column("vals"))
    now = sa.func.now() if dialect == "postgresql" else sa.func.current_timestamp()
    for run_id, method_id, concept_id in keys:
        set_id = conn.execute(
            sa.insert(sets).values(run_id=run_id, method_id=method_id, concept_id=concept_id, status="complete",
                                   created_at=now, finished_at=now).returning(sets.c.id)
        ).scalar_one()
        by_layer: dict[int, np.ndarray] = {}
        rows = conn.execute(
            sa.text("SELECT neuron_id, value FROM score WHERE run_id = :r AND method_id = :m AND concept_id = :c"),
            {"r": run_id, "m": method_id, "c": concept_id},
        )
        for nid, value in rows:
            if int(nid) not in where:
                continue  # an orphan score of a deleted neuron
            layer_id, unit = where[int(nid)]
            arr = by_layer.setdefault(layer_id, np.full(width[layer_id], np.nan, np.float32))
            arr[unit] = np.nan if value is None else value
        payload = [
            {"set_id": set_id, "layer_id": layer_id, "block": b, "vals": _pack(arr[b * BLOCK : (b + 1) * BLOCK], dialect)}
            for layer_id, arr in sorted(by_layer.items())
            for b in range((len(arr) + BLOCK - 1) // BLOCK)
        ]
        if payload:
            conn.execute(sa.insert(vectors), payload)


def upgrade() -> None:
    conn = op.get_bind()
    dialect = conn.dialect.name
    _set_autoincrement(True)
    op.create_table(
        "score_set",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("method_id", sa.Integer(), nullable=False),
        sa.Column("concept_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["concept_id"], ["concept.id"], name=op.f("fk_score_set_concept_id_concept"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["method_id"], ["method.id"], name=op.f("fk_score_set_method_id_method"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_score_set_run_id_run"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_score_set")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_score_set_method_id_score_set_concept_id_score_set_status"), "score_set",
                    ["method_id", "concept_id", "status"], unique=False)
    op.create_index(op.f("ix_score_set_run_id"), "score_set", ["run_id"], unique=False)
    op.create_table(
        "score_vector",
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("block", sa.Integer(), nullable=False),
        sa.Column("vals", sa.LargeBinary().with_variant(postgresql.ARRAY(sa.REAL()), "postgresql"), nullable=False),
        sa.ForeignKeyConstraint(["layer_id"], ["layer.id"], name=op.f("fk_score_vector_layer_id_layer"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["set_id"], ["score_set.id"], name=op.f("fk_score_vector_set_id_score_set"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("set_id", "layer_id", "block", name=op.f("pk_score_vector")),
        sqlite_with_rowid=False,
    )
    _move_scores_into_sets(conn)
    op.drop_index(op.f("ix_score_method_id_score_concept_id_score_value"), table_name="score")
    op.drop_table("score")
    op.execute(SCORE_VIEW.format(value=_VALUE[dialect], block=BLOCK))


def downgrade() -> None:
    conn = op.get_bind()
    op.execute("DROP VIEW IF EXISTS score")
    op.create_table(
        "score",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("method_id", sa.Integer(), nullable=False),
        sa.Column("concept_id", sa.Integer(), nullable=False),
        sa.Column("neuron_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("run_id", "method_id", "concept_id", "neuron_id", name=op.f("pk_score")),
        sqlite_with_rowid=False,
    )
    op.create_index(op.f("ix_score_method_id_score_concept_id_score_value"), "score", ["method_id", "concept_id", "value"], unique=False)
    # Complete sets go back to rows (NaN = no value = no row, as revision 0002 stored them: NULL rows were possible
    # but the job wrote NaN as NULL, so keep NULLs for NaN values of a set).
    dialect = conn.dialect.name
    where = {(int(l), int(u)): int(n) for n, l, u in conn.execute(sa.text("SELECT id, layer_id, unit FROM neuron"))}
    score = sa.table("score", sa.column("run_id"), sa.column("method_id"), sa.column("concept_id"),
                     sa.column("neuron_id"), sa.column("value"))
    sets = conn.execute(sa.text("SELECT id, run_id, method_id, concept_id FROM score_set WHERE status = 'complete'")).all()
    for set_id, run_id, method_id, concept_id in sets:
        payload = []
        for layer_id, block, vals in conn.execute(
            sa.text("SELECT layer_id, block, vals FROM score_vector WHERE set_id = :s"), {"s": set_id}
        ):
            arr = np.asarray(vals, np.float32) if dialect == "postgresql" else np.frombuffer(vals, "<f4")
            for k, v in enumerate(arr.tolist()):
                nid = where.get((int(layer_id), int(block) * BLOCK + k))
                if nid is not None:
                    payload.append({"run_id": run_id, "method_id": method_id, "concept_id": concept_id,
                                    "neuron_id": nid, "value": None if v != v else v})
        if payload:
            conn.execute(sa.insert(score), payload)
    op.drop_table("score_vector")
    op.drop_index(op.f("ix_score_set_run_id"), table_name="score_set")
    op.drop_index(op.f("ix_score_set_method_id_score_set_concept_id_score_set_status"), table_name="score_set")
    op.drop_table("score_set")
    _set_autoincrement(False)
