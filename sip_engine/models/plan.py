from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    ForeignKey,
    Index,
    Integer,
    Select,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import Base, str_enum
from .case import Participant
from .enums import HUVUDMAN_PARTIES, ParticipantKind, Party
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

    @classmethod
    def in_force_for(cls, case_id: int | ColumnElement[int]) -> Select[PlanVersion]:
        """The case's plan in force: the newest adopted version."""
        return (
            select(cls)
            .where(cls.case_id == case_id, cls.adopted_at.is_not(None))
            .order_by(cls.version_no.desc())
            .limit(1)
        )


# --- who holds the plan's roles (domain.md §2 step 4, §3) ---------------------------------


def lead_organisation_error(organisation: Organisation | None) -> str | None:
    """Why ``organisation`` cannot hold huvudansvar: only a huvudman (kommun, region, and
    skola in VG) does, never an invited actor such as Försäkringskassan."""
    if organisation is None:
        return "Planen anger inte vilken huvudman som har det övergripande ansvaret."
    if organisation.party not in HUVUDMAN_PARTIES:
        return (
            f"{organisation.name} är inte en huvudman: huvudansvaret ligger hos kommunen, "
            "regionen eller skolan."
        )
    return None


def samordningsansvarig_error(participant: Participant | None) -> str | None:
    """Why ``participant`` cannot be samordningsansvarig: it is a professional taking part
    for a huvudman's organisation, never a family member or an invited actor."""
    if participant is None:
        return "Planen anger ingen samordningsansvarig."
    if participant.removed_at is not None:
        return f"{participant.name}, som planen anger som samordningsansvarig, deltar inte längre."
    if participant.kind is ParticipantKind.FAMILJ or participant.organisation is None:
        return (
            f"{participant.name} deltar som familj; samordningsansvarig är en yrkesperson "
            "hos en huvudman."
        )
    if participant.organisation.party not in HUVUDMAN_PARTIES:
        return (
            f"{participant.name} företräder {participant.organisation.name}, som inte är en "
            "huvudman; samordningsansvarig är en yrkesperson hos kommunen, regionen eller skolan."
        )
    return None


def samordningsansvarig_of(session: Session, case_id: int) -> Participant | None:
    """The case's samordningsansvarig: the participant the plan in force names. The one
    source of truth (the closing rule, the reminders and the case page read it); None before
    a plan is adopted or once the named person has left the case."""
    return samordningsansvarig_in(
        session, session.scalars(PlanVersion.in_force_for(case_id)).first()
    )


def samordningsansvarig_in(session: Session, plan: PlanVersion | None) -> Participant | None:
    """:func:`samordningsansvarig_of` for a plan in force already read."""
    if plan is None or plan.samordningsansvarig_participant_id is None:
        return None
    participant = session.get(Participant, plan.samordningsansvarig_participant_id)
    if participant is None or participant.removed_at is not None:
        return None
    return participant


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
