"""agreement: how far two scoring methods agree on a concept (Fan et al. 2023)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29

One row per (run, concept, site, unordered pair of method rows, top-n): the Jaccard index of
the two methods' top-n units and the Spearman correlation of their values over the units that
have both (``atlas.methods.agreement``). The NeuronVote itself is stored as ordinary score sets
(methods ``vote`` and ``vote_rank``), so a downgrade keeps it.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agreement",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("concept_id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=20), nullable=False),
        sa.Column("method_a", sa.Integer(), nullable=False),
        sa.Column("method_b", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("n_units", sa.Integer(), nullable=False),
        sa.Column("jaccard", sa.Float(), nullable=True),
        sa.Column("spearman", sa.Float(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["concept_id"], ["concept.id"], name=op.f("fk_agreement_concept_id_concept"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["method_a"], ["method.id"], name=op.f("fk_agreement_method_a_method"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["method_b"], ["method.id"], name=op.f("fk_agreement_method_b_method"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_agreement_run_id_run"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("run_id", "concept_id", "site", "method_a", "method_b", "n", name=op.f("pk_agreement")),
    )


def downgrade() -> None:
    op.drop_table("agreement")
