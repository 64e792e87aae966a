"""indexes for the start page and the case list

Revision ID: 7e1f0c9a4b2d
Revises: b1e7c4d2a9f0
Create Date: 2026-11-24 02:50:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "7e1f0c9a4b2d"
down_revision: str | None = "b1e7c4d2a9f0"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sip_case", schema=None) as batch_op:
        # (unit_id, state) is a prefix of the new step/area/date index.
        batch_op.drop_index("ix_sip_case_unit_state")
        batch_op.create_index(
            "ix_sip_case_unit_state_area_opened",
            ["unit_id", "state", "nosam_area_id", "opened_at"],
            unique=False,
        )
        batch_op.create_index("ix_sip_case_unit_opened", ["unit_id", "opened_at"], unique=False)
        batch_op.create_index(
            "ix_sip_case_unit_coordinator_state",
            ["unit_id", "coordinator_id", "state", "state_entered_at"],
            unique=False,
        )
    with op.batch_alter_table("plan_version", schema=None) as batch_op:
        batch_op.create_index(
            "ix_plan_version_in_force",
            ["case_id", "version_no", "adopted_at", "next_follow_up"],
            unique=False,
        )
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.create_index(
            "ix_meeting_case_open",
            ["case_id", "held_at", "cancelled_at", "starts_at"],
            unique=False,
        )
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.create_index(
            "ix_reminder_kind_status_case", ["kind", "status", "case_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("reminder", schema=None) as batch_op:
        batch_op.drop_index("ix_reminder_kind_status_case")
    with op.batch_alter_table("meeting", schema=None) as batch_op:
        batch_op.drop_index("ix_meeting_case_open")
    with op.batch_alter_table("plan_version", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_version_in_force")
    with op.batch_alter_table("sip_case", schema=None) as batch_op:
        batch_op.drop_index("ix_sip_case_unit_coordinator_state")
        batch_op.drop_index("ix_sip_case_unit_opened")
        batch_op.drop_index("ix_sip_case_unit_state_area_opened")
        batch_op.create_index("ix_sip_case_unit_state", ["unit_id", "state"], unique=False)
