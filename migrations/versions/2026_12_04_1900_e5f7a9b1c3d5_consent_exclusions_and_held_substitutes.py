"""consent: excluded organisations and the information categories that show parts of a case;
invitation: a substitute held for the coordinator's approval

Revision ID: e5f7a9b1c3d5
Revises: 5e55a0e1c9d2
Create Date: 2026-12-04 19:00:00.000000
"""

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e5f7a9b1c3d5"
down_revision: str | None = "5e55a0e1c9d2"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The categories before this revision, and the ones of workflows/consent that say the same.
# "social_situation" covered the need, the family and the child's situation; "insatser" the
# services and so the plan; "psykisk_halsa" is health.
_RENAMED = {
    "halsa": ["halsa"],
    "psykisk_halsa": ["halsa"],
    "skola": ["skola"],
    "social_situation": ["behov", "familj", "barnets_rost"],
    "insatser": ["plan"],
}


def _recode(categories: list[str], mapping: dict[str, list[str]]) -> list[str]:
    return sorted({new for code in categories for new in mapping.get(code, [code])})


def _rewrite(mapping: dict[str, list[str]]) -> None:
    bind = op.get_bind()
    consent = sa.table(
        "consent", sa.column("id", sa.Integer), sa.column("information_categories", sa.JSON)
    )
    rows = bind.execute(sa.select(consent.c.id, consent.c.information_categories)).all()
    for row in rows:
        categories = row.information_categories
        if isinstance(categories, str):  # SQLite hands JSON back as text in some drivers
            categories = json.loads(categories)
        bind.execute(
            sa.update(consent)
            .where(consent.c.id == row.id)
            .values(information_categories=_recode(categories or [], mapping))
        )


def upgrade() -> None:
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("excluded_organisation_ids", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.add_column(sa.Column("substitute_request", sa.JSON(), nullable=True))
    _rewrite(_RENAMED)


def downgrade() -> None:
    back: dict[str, list[str]] = {
        "halsa": ["halsa"],
        "skola": ["skola"],
        "behov": ["social_situation"],
        "familj": ["social_situation"],
        "barnets_rost": ["social_situation"],
        "plan": ["insatser"],
    }
    _rewrite(back)
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_column("substitute_request")
    with op.batch_alter_table("consent", schema=None) as batch_op:
        batch_op.drop_column("excluded_organisation_ids")
