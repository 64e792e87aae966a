"""Shared steps of every use case: check the actor and the version, then record the change.

Services take a Session and flush; they never commit. The entry point (web request, CLI
command, scheduler job) commits once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sip_engine.models import Case, CaseEvent, EventKind, Role
from sip_engine.notify import MailReport
from sip_engine.reminders import sync_case_reminders
from sip_engine.workflow import Actor, CaseConflict, NotPermitted, actor_works_on_case
from sip_engine.workflow.engine import flush_case_change, record_event, touch_case


class ValidationError(ValueError):
    """Input that breaks a rule; ``errors`` maps a field name to a Swedish message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


class CaseClosed(ValueError):
    def __init__(self) -> None:
        super().__init__("Ärendet är avslutat och kan inte ändras.")


EDITOR_ROLES = frozenset({Role.SAMORDNARE, Role.CHEF})


def check_can_edit(
    session: Session, case: Case, actor: Actor, expected_version: int | None
) -> None:
    """Raise unless ``actor`` may change ``case`` and the case is as the actor last saw it."""
    if not actor.is_system and (
        actor.role not in EDITOR_ROLES or not actor_works_on_case(session, case, actor)
    ):
        raise NotPermitted("Du får inte ändra det här ärendet.", case_id=case.id)
    if case.closed_at is not None:
        raise CaseClosed()
    if expected_version is not None and expected_version != case.version:
        raise CaseConflict(
            "Ärendet har ändrats av någon annan sedan du öppnade det. "
            "Det du skrev finns kvar; ladda om uppgifterna och spara igen.",
            case_id=case.id,
        )


def record_change(
    session: Session,
    case: Case,
    actor: Actor,
    kind: EventKind,
    now: datetime,
    details: dict[str, Any] | None = None,
) -> CaseEvent:
    """Bump the case (so concurrent edits conflict), write the history event, and flush."""
    touch_case(case, now)
    event = record_event(
        session,
        case,
        actor,
        kind,
        now,
        from_state=case.state,
        to_state=case.state,
        details=details,
    )
    flush_case_change(session, case)
    sync_case_reminders(session, case, now)
    return event


def mail_of_last_change(session: Session, case: Case) -> MailReport | None:
    """What the case's latest change queued for its meeting (``details["mail"]`` of its
    newest history event: a kallelse, an update, a cancellation), to tell the user."""
    details = session.scalars(
        select(CaseEvent.details)
        .where(CaseEvent.case_id == case.id)
        .order_by(CaseEvent.id.desc())
        .limit(1)
    ).first()
    return MailReport.from_details(details)
