"""causal methods: ablation curves (top/random/bottom-k neurons of a stored ranking, clamped together)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29

The per-neuron causal scores (``ablation``, ``ablation_loss``, ``ablation_embedding``,
``attribution``) are score sets like any method's and need no table; the curves of
``atlas ablate --ranking`` get ``ablation_curve`` (one row per selection, k and metric).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ablation_curve",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("concept_id", sa.Integer(), nullable=False),
        sa.Column("ranking", sa.String(length=200), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=True),
        sa.Column("site", sa.String(length=20), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("params_hash", sa.String(length=64), nullable=False),
        sa.Column("selection", sa.String(length=10), nullable=False),
        sa.Column("k", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(length=50), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("std", sa.Float(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["concept_id"], ["concept.id"], name=op.f("fk_ablation_curve_concept_id_concept"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_ablation_curve_run_id_run"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ablation_curve")),
        sa.UniqueConstraint("run_id", "ranking", "params_hash", "selection", "k", "metric",
                            name=op.f("uq_ablation_curve_run_id_ranking_params_hash_selection_k_metric")),
    )


def downgrade() -> None:
    op.drop_table("ablation_curve")
