"""explanations: the search's metric, score, lengths, counts and parameter set on each row

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

``explanation`` (compositional explanations, ``atlas explain``) gains the columns the search
writes: ``metric`` and ``score`` (the metric searched for and the formula's value of it; ``iou``
stays the formula's IoU), ``max_length`` (the search's bound on atoms; ``length`` is the
formula's own), ``mask_size``, ``formula_size``, ``overlap`` (``|N|``, ``|F|``, ``|N ∧ F|``),
``search`` (``beam`` or ``exact``) and ``params_hash`` (indexed with ``run_id``: which rows a
job writes and resumes). A downgrade drops these columns; the rows keep their formula, IoU,
length and parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = (
    sa.Column("metric", sa.String(length=20), server_default="iou", nullable=False),
    sa.Column("score", sa.Float(), nullable=True),
    sa.Column("max_length", sa.Integer(), nullable=True),
    sa.Column("mask_size", sa.Integer(), nullable=True),
    sa.Column("formula_size", sa.Integer(), nullable=True),
    sa.Column("overlap", sa.Integer(), nullable=True),
    sa.Column("search", sa.String(length=10), nullable=True),
    sa.Column("params_hash", sa.String(length=64), nullable=True),
)


def upgrade() -> None:
    with op.batch_alter_table("explanation") as batch:
        for column in COLUMNS:
            batch.add_column(column._copy())
    op.create_index(op.f("ix_explanation_run_id_explanation_params_hash"), "explanation", ["run_id", "params_hash"])


def downgrade() -> None:
    op.drop_index(op.f("ix_explanation_run_id_explanation_params_hash"), table_name="explanation")
    with op.batch_alter_table("explanation") as batch:
        for column in reversed(COLUMNS):
            batch.drop_column(column.name)
