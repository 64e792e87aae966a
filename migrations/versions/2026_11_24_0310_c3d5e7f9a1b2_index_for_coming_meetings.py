"""index for the start page's coming meetings

Revision ID: c3d5e7f9a1b2
Revises: 0d8156a27e97
Create Date: 2026-11-24 03:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c3d5e7f9a1b2"
down_revision: str | None = "0d8156a27e97"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.create_index(
            "ix_meeting_open_starts_at", ["held_at", "cancelled_at", "starts_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_index("ix_meeting_open_starts_at")
