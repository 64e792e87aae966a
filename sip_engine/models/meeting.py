from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ColumnElement, ForeignKey, Index, Integer, Select, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, str_enum
from .case import MeetingAttendance, Participant
from .enums import MeetingFormat, MeetingKind


class Meeting(Base):
    """A SIP meeting or follow-up meeting. ``sequence`` rises on every change (iCalendar)."""

    __tablename__ = "meeting"
    # "Meeting time passed" on the start page: a case's open meetings, from the index alone.
    __table_args__ = (
        Index("ix_meeting_case_open", "case_id", "held_at", "cancelled_at", "starts_at"),
        # Coming meetings: the open ones walked by start time, stopping at the first few. With
        # planner statistics SQLite otherwise read every unheld meeting and sorted them.
        Index("ix_meeting_open_starts_at", "held_at", "cancelled_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("sip_case.id"), index=True)
    kind: Mapped[MeetingKind] = mapped_column(str_enum(MeetingKind))
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    format: Mapped[MeetingFormat] = mapped_column(str_enum(MeetingFormat))
    location: Mapped[str | None] = mapped_column(String(200))
    video_link: Mapped[str | None] = mapped_column(String(500))
    questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    leader_participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"))
    recorder_participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"))
    sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    called_at: Mapped[datetime | None]
    held_at: Mapped[datetime | None] = mapped_column(index=True)
    # Whether the child took part in the meeting; None = not recorded (reports count only
    # the meetings where it was recorded).
    child_attended: Mapped[bool | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    leader: Mapped[Participant | None] = relationship(foreign_keys=[leader_participant_id])
    recorder: Mapped[Participant | None] = relationship(foreign_keys=[recorder_participant_id])
    attendance: Mapped[list[MeetingAttendance]] = relationship(order_by="MeetingAttendance.id")

    @classmethod
    def open_for(cls, case_id: int | ColumnElement[int]) -> Select[Meeting]:
        """The case's open meeting (being prepared or held): the newest one neither held
        nor cancelled. The one query every layer uses for "the meeting"."""
        return (
            select(cls)
            .where(cls.case_id == case_id, cls.held_at.is_(None), cls.cancelled_at.is_(None))
            .order_by(cls.id.desc())
            .limit(1)
        )

    @property
    def is_open(self) -> bool:
        """Scheduled and neither held nor cancelled."""
        return self.held_at is None and self.cancelled_at is None
