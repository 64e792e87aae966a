"""placement: at most one current placement per child, whichever unit registered it

A partial unique index on placement.child_id over the current phases (före, under, inför
avslut), on SQLite and PostgreSQL alike. Children that already have two current placements are
reported by placement id (no personal data) and the upgrade stops: which one is right is a
decision for the units concerned, not for a migration.

Revision ID: f6a8b0c2d4e6
Revises: e8a1c3b5d7f9
Create Date: 2026-12-04 19:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "f6a8b0c2d4e6"
down_revision: str | None = "e8a1c3b5d7f9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# As models.placement.CURRENT_PLACEMENT_STATES when this revision was written.
_CURRENT = sa.text("state IN ('fore', 'under', 'infor_avslut')")


def upgrade() -> None:
    bind = op.get_bind()
    duplicates = bind.execute(
        sa.text(
            "SELECT child_id, MIN(id) AS first_id, MAX(id) AS last_id, COUNT(*) AS n "
            "FROM placement WHERE state IN ('fore', 'under', 'infor_avslut') "
            "GROUP BY child_id HAVING COUNT(*) > 1"
        )
    ).all()
    if duplicates:
        listed = ", ".join(f"placeringar {row.first_id}…{row.last_id}" for row in duplicates)
        raise RuntimeError(
            f"{len(duplicates)} barn har mer än en pågående placering ({listed}). "
            "Avsluta eller avbryt de felaktiga placeringarna och kör uppgraderingen igen."
        )
    with op.batch_alter_table("placement", schema=None) as batch_op:
        batch_op.create_index(
            "ux_placement_current_child",
            ["child_id"],
            unique=True,
            sqlite_where=_CURRENT,
            postgresql_where=_CURRENT,
        )


def downgrade() -> None:
    with op.batch_alter_table("placement", schema=None) as batch_op:
        batch_op.drop_index("ux_placement_current_child")
