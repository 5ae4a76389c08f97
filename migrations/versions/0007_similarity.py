"""similarity: cross-model correlations of two runs (issue 16)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

* ``correlation``: one ``atlas correlate`` job (two runs, sites, parameters, status, provenance).
* ``similarity`` gains ``correlation_id``, ``run_id``, ``other_run_id`` and ``rank`` (a neuron's
  top-k partners in the other run); its old columns keep their meaning, so a downgrade keeps
  the rows and drops only the new columns.
* ``neuron_similarity`` (maxcorr, linreg per neuron and correlation) and ``layer_similarity``
  (cka, svcca, pwcca, maxcorr, linreg per layer pair).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "correlation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("other_run_id", sa.Integer(), nullable=False),
        sa.Column("sites", sa.String(length=100), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("params_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("provenance", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["other_run_id"], ["run.id"], name=op.f("fk_correlation_other_run_id_run"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["run.id"], name=op.f("fk_correlation_run_id_run"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_correlation")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("correlation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_correlation_other_run_id"), ["other_run_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_correlation_run_id"), ["run_id"], unique=False)

    op.create_table(
        "layer_similarity",
        sa.Column("correlation_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("layer_id", sa.Integer(), nullable=False),
        sa.Column("other_layer_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["correlation_id"], ["correlation.id"], name=op.f("fk_layer_similarity_correlation_id_correlation"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["layer_id"], ["layer.id"], name=op.f("fk_layer_similarity_layer_id_layer"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["other_layer_id"], ["layer.id"], name=op.f("fk_layer_similarity_other_layer_id_layer"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("correlation_id", "method", "layer_id", "other_layer_id", name=op.f("pk_layer_similarity")),
    )
    op.create_table(
        "neuron_similarity",
        sa.Column("correlation_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("neuron_id", sa.Integer(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["correlation_id"], ["correlation.id"], name=op.f("fk_neuron_similarity_correlation_id_correlation"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["neuron_id"], ["neuron.id"], name=op.f("fk_neuron_similarity_neuron_id_neuron"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("correlation_id", "method", "neuron_id", name=op.f("pk_neuron_similarity")),
    )
    with op.batch_alter_table("similarity", schema=None) as batch_op:
        batch_op.add_column(sa.Column("correlation_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("run_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("other_run_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rank", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_similarity_correlation_id_similarity_neuron_id_similarity_rank"), ["correlation_id", "neuron_id", "rank"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_similarity_correlation_id_correlation"), "correlation", ["correlation_id"], ["id"], ondelete="CASCADE")
        batch_op.create_foreign_key(batch_op.f("fk_similarity_run_id_run"), "run", ["run_id"], ["id"], ondelete="CASCADE")
        batch_op.create_foreign_key(batch_op.f("fk_similarity_other_run_id_run"), "run", ["other_run_id"], ["id"], ondelete="CASCADE")


def downgrade() -> None:
    with op.batch_alter_table("similarity", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_similarity_other_run_id_run"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_similarity_run_id_run"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_similarity_correlation_id_correlation"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_similarity_correlation_id_similarity_neuron_id_similarity_rank"))
        batch_op.drop_column("rank")
        batch_op.drop_column("other_run_id")
        batch_op.drop_column("run_id")
        batch_op.drop_column("correlation_id")
    op.drop_table("neuron_similarity")
    op.drop_table("layer_similarity")
    with op.batch_alter_table("correlation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_correlation_run_id"))
        batch_op.drop_index(batch_op.f("ix_correlation_other_run_id"))
    op.drop_table("correlation")
