"""child.search_name: the full name folded for the case search

Revision ID: d4e6f8a0b2c4
Revises: c3d5e7f9a1b2
Create Date: 2026-11-24 05:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "d4e6f8a0b2c4"
down_revision: str | None = "c3d5e7f9a1b2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.add_column(sa.Column("search_name", sa.String(length=161), nullable=True))
    # Fill it for the children already there, folded as the application folds it
    # (models.people.fold_for_search: Python's lower(), Å, Ä and Ö included).
    bind = op.get_bind()
    child = sa.table(
        "child",
        sa.column("id", sa.Integer),
        sa.column("first_name", sa.String),
        sa.column("last_name", sa.String),
        sa.column("search_name", sa.String),
    )
    fill = (
        sa.update(child)
        .where(child.c.id == sa.bindparam("b_id"))
        .values(search_name=sa.bindparam("b_search_name"))
    )
    rows = bind.execute(sa.select(child.c.id, child.c.first_name, child.c.last_name)).all()
    for start in range(0, len(rows), _BATCH):
        bind.execute(
            fill,
            [
                {"b_id": row.id, "b_search_name": f"{row.first_name} {row.last_name}".lower()}
                for row in rows[start : start + _BATCH]
            ],
        )
    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.alter_column("search_name", existing_type=sa.String(length=161), nullable=False)
        batch_op.create_index("ix_child_search_name", ["search_name"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("child", schema=None) as batch_op:
        batch_op.drop_index("ix_child_search_name")
        batch_op.drop_column("search_name")
