"""reports: indexes and whether the child took part in a meeting

Revision ID: b1e7c4d2a9f0
Revises: 5bdea98ec9c7
Create Date: 2026-11-24 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b1e7c4d2a9f0"
down_revision: str | None = "5bdea98ec9c7"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.add_column(sa.Column("child_attended", sa.Boolean(), nullable=True))
        batch_op.create_index(batch_op.f("ix_meeting_held_at"), ["held_at"], unique=False)
    with op.batch_alter_table("sip_case", schema=None) as batch_op:
        batch_op.create_index("ix_sip_case_opened_at", ["opened_at"], unique=False)
        batch_op.create_index("ix_sip_case_closed_at", ["closed_at"], unique=False)
    with op.batch_alter_table("plan_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_plan_version_next_follow_up"), ["next_follow_up"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("plan_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_plan_version_next_follow_up"))
    with op.batch_alter_table("sip_case", schema=None) as batch_op:
        batch_op.drop_index("ix_sip_case_closed_at")
        batch_op.drop_index("ix_sip_case_opened_at")
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_held_at"))
        batch_op.drop_column("child_attended")
