"""samordningsansvarig: the plan in force names the person; the participant tag goes

Revision ID: e8a1c3b5d7f9
Revises: e5f7a9b1c3d5
Create Date: 2026-12-04 19:05:00.000000

The participant function tag "samordningsansvarig" disagreed with the plan's named person
(the closing rule read the tag, the reminders the plan). The plan in force is now the one
source of truth, so the tag is taken off every participant. Downgrading puts it back on the
person each case's plan in force names.
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "e8a1c3b5d7f9"
down_revision: str | None = "e5f7a9b1c3d5"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TAG = "samordningsansvarig"

_participant = sa.table(
    "participant",
    sa.column("id", sa.Integer),
    sa.column("roles", sa.JSON),
)
_set_roles = (
    sa.update(_participant)
    .where(_participant.c.id == sa.bindparam("b_id"))
    .values(roles=sa.bindparam("b_roles", type_=sa.JSON))
)


def _write(rows: list[dict[str, Any]]) -> None:
    if rows:
        op.get_bind().execute(_set_roles, rows)


def upgrade() -> None:
    rows = op.get_bind().execute(sa.select(_participant.c.id, _participant.c.roles)).all()
    _write(
        [
            {"b_id": row.id, "b_roles": [r for r in row.roles if r != _TAG]}
            for row in rows
            if row.roles and _TAG in row.roles
        ]
    )


def downgrade() -> None:
    plan = sa.table(
        "plan_version",
        sa.column("case_id", sa.Integer),
        sa.column("version_no", sa.Integer),
        sa.column("adopted_at", sa.DateTime),
        sa.column("samordningsansvarig_participant_id", sa.Integer),
    )
    bind = op.get_bind()
    in_force: dict[int, tuple[int, int | None]] = {}
    for row in bind.execute(
        sa.select(plan.c.case_id, plan.c.version_no, plan.c.samordningsansvarig_participant_id)
        .where(plan.c.adopted_at.is_not(None))
        .order_by(plan.c.case_id, plan.c.version_no)
    ):
        in_force[row.case_id] = (row.version_no, row.samordningsansvarig_participant_id)
    named = {pid for _version, pid in in_force.values() if pid is not None}
    rows = bind.execute(sa.select(_participant.c.id, _participant.c.roles)).all()
    _write(
        [
            {"b_id": row.id, "b_roles": sorted({*(row.roles or []), _TAG})}
            for row in rows
            if row.id in named
        ]
    )
