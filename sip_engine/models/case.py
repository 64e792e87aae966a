from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, str_enum
from .enums import FunctionRole, ParticipantKind, Party, RaisedBy
from .organisation import NosamArea, Organisation
from .people import Child, Professional, Relative
from .user import User


class Case(Base):
    """A SIP case. ``state`` is the workflow state; ``version`` guards against lost updates."""

    __tablename__ = "sip_case"
    __table_args__ = (
        Index("ix_sip_case_state_area", "state", "nosam_area_id"),
        # The start page and the case list (a unit's cases): counts per step, filters by step
        # and area walked in date order, the default date order, a coordinator's own cases.
        Index(
            "ix_sip_case_unit_state_area_opened", "unit_id", "state", "nosam_area_id", "opened_at"
        ),
        Index("ix_sip_case_unit_opened", "unit_id", "opened_at"),
        Index(
            "ix_sip_case_unit_coordinator_state",
            "unit_id",
            "coordinator_id",
            "state",
            "state_entered_at",
        ),
        # Reports (sip_engine.reports) select cases by when they were opened or closed.
        Index("ix_sip_case_opened_at", "opened_at"),
        Index("ix_sip_case_closed_at", "closed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"), index=True)
    nosam_area_id: Mapped[int] = mapped_column(ForeignKey("nosam_area.id"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), index=True)

    workflow_name: Mapped[str] = mapped_column(String(40))
    workflow_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(40), index=True)
    state_entered_at: Mapped[datetime]

    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    need_description: Mapped[str] = mapped_column(Text)
    raised_by: Mapped[RaisedBy] = mapped_column(str_enum(RaisedBy))
    raised_by_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    raised_by_name: Mapped[str | None] = mapped_column(String(160))
    raised_on: Mapped[date]
    # Organisations involved with the child today, as recorded in step 1 (upptäck).
    involved_organisation_ids: Mapped[list[int]] = mapped_column(JSON, default=list)

    # "Vad är viktigt för dig?" as gathered in step 2, or why it could not be gathered.
    child_voice: Mapped[str | None] = mapped_column(Text)
    child_voice_missing_reason: Mapped[str | None] = mapped_column(Text)

    opened_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str | None] = mapped_column(String(40))
    close_note: Mapped[str | None] = mapped_column(Text)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))

    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012

    child: Mapped[Child] = relationship()
    nosam_area: Mapped[NosamArea] = relationship()
    unit: Mapped[Organisation] = relationship(foreign_keys=[unit_id])
    coordinator: Mapped[User | None] = relationship(foreign_keys=[coordinator_id])
    raised_by_organisation: Mapped[Organisation | None] = relationship(
        foreign_keys=[raised_by_organisation_id]
    )
    participants: Mapped[list[Participant]] = relationship(
        back_populates="case", order_by="Participant.id"
    )

    @property
    def active_participants(self) -> list[Participant]:
        return [p for p in self.participants if p.removed_at is None]


class Participant(Base):
    """Someone taking part in a case: a professional for an organisation, or the family."""

    __tablename__ = "participant"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("sip_case.id"), index=True)
    kind: Mapped[ParticipantKind] = mapped_column(str_enum(ParticipantKind))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"), index=True)
    professional_id: Mapped[int | None] = mapped_column(ForeignKey("professional.id"), index=True)
    relative_id: Mapped[int | None] = mapped_column(ForeignKey("relative.id"))
    name: Mapped[str] = mapped_column(String(160))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    added_at: Mapped[datetime]
    removed_at: Mapped[datetime | None]

    case: Mapped[Case] = relationship(back_populates="participants")
    organisation: Mapped[Organisation | None] = relationship()
    professional: Mapped[Professional | None] = relationship()
    relative: Mapped[Relative | None] = relationship()

    def has_role(self, role: FunctionRole) -> bool:
        return role.value in self.roles

    @property
    def party(self) -> Party | None:
        return self.organisation.party if self.organisation else None


class MeetingAttendance(Base):
    """Whether a participant attended a meeting (recorded by the coordinator in step 4)."""

    __tablename__ = "meeting_attendance"
    __table_args__ = (UniqueConstraint("meeting_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"))
    attended: Mapped[bool]
    note: Mapped[str | None] = mapped_column(String(300))

    participant: Mapped[Participant] = relationship()
