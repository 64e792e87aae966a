from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, str_enum
from .enums import Party
from .organisation import Organisation


class PlanVersion(Base):
    """One version of the written plan. A new version per meeting; earlier ones stay readable.

    A version is a draft until adopted at the meeting; an adopted version is never changed.
    """

    __tablename__ = "plan_version"
    __table_args__ = (
        UniqueConstraint("case_id", "version_no"),
        # The plan in force and its follow-up date without reading the plan rows.
        Index("ix_plan_version_in_force", "case_id", "version_no", "adopted_at", "next_follow_up"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("sip_case.id"), index=True)
    version_no: Mapped[int] = mapped_column(Integer)
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id"))
    child_voice: Mapped[str | None] = mapped_column(Text)  # "Vad är viktigt för dig?"
    guardians_view: Mapped[str | None] = mapped_column(Text)
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    # [{"goal": "...", "delmal": ["...", ...]}]
    goals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{"who": "familjen" | "barnet" | "annan", "what": "..."}]
    other_actions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    lead_party: Mapped[Party | None] = mapped_column(str_enum(Party))
    lead_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    samordningsansvarig_participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant.id")
    )
    next_follow_up: Mapped[date | None] = mapped_column(index=True)
    # Notes the young person may keep from the guardians (OSL 12 kap. 3 §).
    note_hidden_from_guardians: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    adopted_at: Mapped[datetime | None]
    adopted_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    lead_organisation: Mapped[Organisation | None] = relationship()
    insatser: Mapped[list[PlanInsats]] = relationship(
        order_by="PlanInsats.id", cascade="all, delete-orphan"
    )


class PlanInsats(Base):
    """An insats in the plan, with the responsible verksamhet and a contact person."""

    __tablename__ = "plan_insats"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_version_id: Mapped[int] = mapped_column(
        ForeignKey("plan_version.id", ondelete="CASCADE"), index=True
    )
    description: Mapped[str] = mapped_column(Text)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    contact_person: Mapped[str | None] = mapped_column(String(160))

    organisation: Mapped[Organisation] = relationship()
