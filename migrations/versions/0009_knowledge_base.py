"""knowledge base: notes and labels on neurons, concepts, models and runs; saved queries

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29

* ``note`` gains ``target_kind`` (neuron, concept, model, run), ``model_id`` and ``run_id``
  (what a note can be on besides a neuron or a concept), ``visibility`` (``lab`` or
  ``private``) and an index on ``label`` (``neurons in M where label = "..."``).
* ``saved_query``: named, parameterised queries kept for the lab (``atlas saved``).

Roles and row-level security are not part of the schema: ``atlas kb init`` sets them up on
PostgreSQL (they name server roles, which a migration cannot know).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("note") as batch:
        batch.add_column(sa.Column("target_kind", sa.String(length=10), server_default="neuron", nullable=False))
        batch.add_column(sa.Column("model_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("run_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("visibility", sa.String(length=10), server_default="lab", nullable=False))
        batch.create_foreign_key(batch.f("fk_note_model_id_model"), "model", ["model_id"], ["id"], ondelete="CASCADE")
        batch.create_foreign_key(batch.f("fk_note_run_id_run"), "run", ["run_id"], ["id"], ondelete="CASCADE")
        batch.create_index(batch.f("ix_note_label"), ["label"], unique=False)
    op.execute("UPDATE note SET target_kind = 'concept' WHERE neuron_id IS NULL AND concept_id IS NOT NULL")
    op.create_table(
        "saved_query",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("author", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_query")),
        sa.UniqueConstraint("name", name=op.f("uq_saved_query_name")),
    )


def downgrade() -> None:
    op.drop_table("saved_query")
    if op.get_bind().dialect.name == "postgresql":
        # row-level security of ``atlas kb init`` refers to the columns dropped below
        for policy in ("note_read", "note_insert", "note_update", "note_delete"):
            op.execute(f"DROP POLICY IF EXISTS {policy} ON note")
        op.execute("ALTER TABLE note NO FORCE ROW LEVEL SECURITY")
        op.execute("ALTER TABLE note DISABLE ROW LEVEL SECURITY")
    # notes on models and runs have no place in the older schema
    op.execute("DELETE FROM note WHERE neuron_id IS NULL AND concept_id IS NULL")
    with op.batch_alter_table("note") as batch:
        batch.drop_index(batch.f("ix_note_label"))
        batch.drop_constraint(batch.f("fk_note_run_id_run"), type_="foreignkey")
        batch.drop_constraint(batch.f("fk_note_model_id_model"), type_="foreignkey")
        batch.drop_column("visibility")
        batch.drop_column("run_id")
        batch.drop_column("model_id")
        batch.drop_column("target_kind")
