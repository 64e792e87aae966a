"""Messages that did not arrive: which ones, how the outbox is doing, and resending.

One definition of "not arrived" for every view (case page, start page, admin page, health
endpoint, ``sip-engine status``): a message that has **failed** for good, or one still
**pending** longer than :data:`LONG_DELAY` after it was written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from sip_engine.models import Case, EventKind, OutboxMessage, OutboxStatus, Role
from sip_engine.workflow import Actor, NotPermitted
from sip_engine.workflow.engine import record_event

from .access import visible_cases

# A pending message older than this is shown as delayed (case page, start page); a relay
# that is down longer than this is worth a person's attention.
LONG_DELAY = timedelta(hours=1)

# Who may resend: the case's unit (its samordnare and chef), and the admin, who has no case
# scope and resends by id without seeing the message.
RESEND_ROLES = frozenset({Role.SAMORDNARE, Role.CHEF, Role.ADMIN})


class ResendRefused(ValueError):
    """A resend that does not apply (the message was sent, or is still being tried)."""


def not_arrived(now: datetime) -> ColumnElement[bool]:
    """The one condition for a message that has not arrived and needs attention."""
    return or_(
        OutboxMessage.status == OutboxStatus.FAILED,
        and_(
            OutboxMessage.status == OutboxStatus.PENDING,
            OutboxMessage.created_at < now - LONG_DELAY,
        ),
    )


def is_delayed(message: OutboxMessage, now: datetime) -> bool:
    """The Python side of :func:`not_arrived` for a pending message already loaded."""
    return message.status is OutboxStatus.PENDING and message.created_at < now - LONG_DELAY


@dataclass(frozen=True)
class StuckMessage:
    """A line on the start page: the case and what kind of message, not its content."""

    message_id: int
    case_id: int
    reference: str
    kind: str
    status: OutboxStatus
    created_at: datetime


def stuck_in_scope(
    session: Session, actor: Actor, now: datetime, *, limit: int = 10
) -> list[StuckMessage]:
    """Messages that have not arrived on cases the actor may open (scope: ``visible_cases``)."""
    in_scope = visible_cases(actor).with_only_columns(Case.id)
    rows = session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.case_id,
            Case.reference,
            OutboxMessage.kind,
            OutboxMessage.status,
            OutboxMessage.created_at,
        )
        .join(Case, Case.id == OutboxMessage.case_id)
        .where(OutboxMessage.case_id.in_(in_scope), not_arrived(now))
        .order_by(OutboxMessage.created_at)
        .limit(limit)
    )
    return [
        StuckMessage(message_id, case_id, reference, kind, status, created_at)
        for message_id, case_id, reference, kind, status, created_at in rows
        if case_id is not None
    ]


@dataclass(frozen=True)
class FailedMessage:
    """A line on the admin page: no recipient, subject or body (the admin has no case scope);
    ``error`` is the error's type and SMTP code, which the sender stores without the reply."""

    message_id: int
    reference: str | None
    kind: str
    created_at: datetime
    attempts: int
    error: str | None


def failed_messages(*, limit: int = 200) -> Select[int]:
    """The failed messages' ids, oldest first (for a resend of all of them)."""
    return (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == OutboxStatus.FAILED)
        .order_by(OutboxMessage.created_at)
        .limit(limit)
    )


def failed_overview(session: Session, *, limit: int = 200) -> list[FailedMessage]:
    rows = session.execute(
        select(
            OutboxMessage.id,
            Case.reference,
            OutboxMessage.kind,
            OutboxMessage.created_at,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
        )
        .outerjoin(Case, Case.id == OutboxMessage.case_id)
        .where(OutboxMessage.status == OutboxStatus.FAILED)
        .order_by(OutboxMessage.created_at)
        .limit(limit)
    )
    return [FailedMessage(*row) for row in rows]


@dataclass(frozen=True)
class OutboxHealth:
    """For monitoring: no personal data. ``oldest_pending_seconds`` is the age of the oldest
    message not yet delivered and still being tried (None: nothing waiting); ``failed`` the
    messages that failed for good and wait for a resend."""

    oldest_pending_seconds: int | None
    failed: int

    def as_dict(self) -> dict[str, int | None]:
        return {"oldest_pending_seconds": self.oldest_pending_seconds, "failed": self.failed}


def outbox_health(session: Session, now: datetime) -> OutboxHealth:
    """Two statements, each on the (status, next_attempt_at) index's leading column."""
    oldest = session.scalar(
        select(func.min(OutboxMessage.created_at)).where(
            OutboxMessage.status == OutboxStatus.PENDING
        )
    )
    failed = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == OutboxStatus.FAILED)
    )
    age = None
    if oldest is not None:
        age = max(0, int((now - oldest).total_seconds()))
    return OutboxHealth(oldest_pending_seconds=age, failed=int(failed or 0))


def resend(session: Session, actor: Actor, message_id: int, now: datetime) -> OutboxMessage:
    """Queue a failed message again: pending now, with a fresh attempt counter, recorded in
    the case's history. Only a failed message; a sent or pending one is refused.

    Raises :class:`NotPermitted` when the actor may not resend it (the caller answers 404:
    a message outside one's scope is not acknowledged to exist)."""
    message = session.get(OutboxMessage, message_id)
    if message is None or actor.role not in RESEND_ROLES:
        raise NotPermitted("Meddelandet finns inte.")
    case = session.get(Case, message.case_id) if message.case_id is not None else None
    if actor.role is not Role.ADMIN and (case is None or not actor.works_in_unit(case.unit_id)):
        raise NotPermitted("Meddelandet finns inte.", case_id=case.id if case else None)
    if message.status is OutboxStatus.SENT:
        raise ResendRefused("Meddelandet är redan skickat och skickas inte igen.")
    if message.status is not OutboxStatus.FAILED:
        raise ResendRefused("Meddelandet väntar redan på att skickas.")
    previous_error, previous_attempts = message.last_error, message.attempts
    # Conditional on the status, so two people pressing at once queue it once.
    changed = (
        session.connection()
        .execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message.id, OutboxMessage.status == OutboxStatus.FAILED)
            .values(
                status=OutboxStatus.PENDING,
                attempts=0,
                next_attempt_at=now,
                claimed_by=None,
                claimed_until=None,
                last_error=None,
            )
        )
        .rowcount
    )
    if not changed:
        raise ResendRefused("Meddelandet väntar redan på att skickas.")
    session.refresh(message)
    if case is not None:
        record_event(
            session,
            case,
            actor,
            EventKind.MESSAGE_RESENT,
            now,
            details={
                "message_id": message.id,
                "kind": message.kind,
                "previous_attempts": previous_attempts,
                "previous_error": previous_error,
            },
        )
    session.flush()
    return message


def resend_all_failed(session: Session, actor: Actor, now: datetime) -> int:
    """The admin's "resend all": every failed message, each recorded on its case."""
    if actor.role is not Role.ADMIN:
        raise NotPermitted("Endast administratören kan skicka om alla meddelanden.")
    count = 0
    for message_id in list(session.scalars(failed_messages())):
        try:
            resend(session, actor, message_id, now)
        except ResendRefused:
            continue  # someone else queued it meanwhile
        count += 1
    return count
