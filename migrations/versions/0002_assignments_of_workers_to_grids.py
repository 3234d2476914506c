"""assignments of workers to grids

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # (id =, daterange &&) exclusions need btree_gist; scripts/local-postgis creates it.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.add_column("worker", sa.Column("left_on", sa.Date(), nullable=True))
    op.create_table(
        "assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "A",
                "B",
                name="assignment_role",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date(), server_default=sa.text("CURRENT_DATE"), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        postgresql.ExcludeConstraint(
            (sa.column("grid_id"), "="),
            (sa.column("worker_id"), "="),
            (sa.text("daterange(valid_from, valid_to)"), "&&"),
            using="gist",
            name="ex_assignment_one_role_per_worker_and_grid",
        ),
        postgresql.ExcludeConstraint(
            (sa.column("grid_id"), "="),
            (sa.text("daterange(valid_from, valid_to)"), "&&"),
            where=sa.text("role = 'A'"),
            using="gist",
            name="ex_assignment_one_a_per_grid",
        ),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_to > valid_from", name=op.f("ck_assignment_period_ordered")
        ),
        sa.ForeignKeyConstraint(["grid_id"], ["grid.id"], name=op.f("fk_assignment_grid_id_grid")),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["worker.id"], name=op.f("fk_assignment_worker_id_worker")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assignment")),
    )
    op.create_index(op.f("ix_assignment_grid_id"), "assignment", ["grid_id"], unique=False)
    op.create_index(op.f("ix_assignment_worker_id"), "assignment", ["worker_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_assignment_worker_id"), table_name="assignment")
    op.drop_index(op.f("ix_assignment_grid_id"), table_name="assignment")
    op.drop_table("assignment")
    op.drop_column("worker", "left_on")
