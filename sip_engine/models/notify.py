from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, str_enum
from .case import Participant


class Answer(enum.StrEnum):
    KOMMER = "kommer"
    KOMMER_INTE = "kommer_inte"
    ERSATTARE = "ersattare"


class Invitation(Base):
    """One participant's kallelse (called party) or inbjudan (invited actor) to one meeting,
    with their answer. ``answered_sequence`` is the meeting's SEQUENCE when they answered: an
    answer given before a reschedule is shown as given for the old time."""

    __tablename__ = "invitation"
    __table_args__ = (UniqueConstraint("meeting_id", "participant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id"), index=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participant.id"), index=True)
    # A random value in the signed link, so a link can be revoked by changing it.
    link_nonce: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    sent_sequence: Mapped[int] = mapped_column(Integer, default=0)
    answer: Mapped[Answer | None] = mapped_column(str_enum(Answer))
    answer_reason: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None]
    answered_sequence: Mapped[int | None] = mapped_column(Integer)
    substitute_participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"))
    # A substitute named through the link from an organisation the consent does not cover:
    # held ({name, email, organisation_id, requested_at}) until the coordinator approves;
    # nothing about the meeting is sent to them before that.
    substitute_request: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    participant: Mapped[Participant] = relationship(foreign_keys=[participant_id])
    substitute: Mapped[Participant | None] = relationship(foreign_keys=[substitute_participant_id])


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # gave up after the last retry; stays visible


class OutboxMessage(Base):
    """An e-mail to send, written in the same transaction as the change that caused it.

    A sender claims due rows with a lease (``claimed_until``), delivers them over SMTP and
    marks each sent once; a crashed sender's lease runs out and another picks the row up.
    """

    __tablename__ = "outbox_message"
    __table_args__ = (
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
        Index("ix_outbox_message_case", "case_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    case_id: Mapped[int | None] = mapped_column(ForeignKey("sip_case.id"))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id"))
    kind: Mapped[str] = mapped_column(String(40))
    to_address: Mapped[str] = mapped_column(String(254))
    to_name: Mapped[str | None] = mapped_column(String(160))
    subject: Mapped[str] = mapped_column(String(300))
    body_text: Mapped[str] = mapped_column(Text)
    ics: Mapped[str | None] = mapped_column(Text)
    ics_method: Mapped[str | None] = mapped_column(String(20))
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(500))


class ReminderStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    CANCELLED = "cancelled"
    # The sweep could not write its e-mail (e.g. its workflow version is no longer
    # installed). Kept as history beside sent ones; the error is in the scheduler's log.
    FAILED = "failed"


class Reminder(Base):
    """A reminder, warning or escalation from a workflow rule, due at a time.

    Rows are created, moved and cancelled as the case changes (``sync_case_reminders``); the
    scheduler only sweeps due rows. ``key`` names what the reminder is about (rule, case,
    meeting version, recipient), so re-syncing never creates a second one.
    """

    __tablename__ = "reminder"
    __table_args__ = (
        Index("ix_reminder_due", "status", "due_at"),
        # The sent escalations the start page flags, without reading every case's reminders.
        Index("ix_reminder_kind_status_case", "kind", "status", "case_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("sip_case.id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(40))
    recipient: Mapped[str] = mapped_column(String(40))
    participant_id: Mapped[int | None] = mapped_column(ForeignKey("participant.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    due_at: Mapped[datetime]
    status: Mapped[ReminderStatus] = mapped_column(str_enum(ReminderStatus))
    created_at: Mapped[datetime]
    processed_at: Mapped[datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[datetime | None]
    # Set on reminders from the placement and health-examination rules (the case's own
    # reminder sync leaves these rows alone); the region contact is reached through the exam.
    placement_id: Mapped[int | None] = mapped_column(ForeignKey("placement.id"), index=True)
    health_exam_id: Mapped[int | None] = mapped_column(ForeignKey("health_exam_request.id"))
