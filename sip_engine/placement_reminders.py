"""Reminders from the placement and health-examination rules, as rows the scheduler sweeps.

``sync_placement_reminders`` is called after every change to a placement or one of its
examination parts and reconciles the placement's reminder rows exactly as
:func:`sip_engine.reminders.sync_case_reminders` does for a case (created, moved, cancelled;
sent ones are history). The rows carry the case id too, so they show with the case, but the
case's own sync leaves rows with a ``placement_id`` alone.

At send time :func:`queue_placement_reminder` checks the rule once more (a meeting held since
the sync, a time offered) so nothing stale is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sip_engine.clock import local_date
from sip_engine.models import (
    HEALTH_EXAM_PART_LABELS,
    HealthExamRequest,
    Meeting,
    Placement,
    Reminder,
    ReminderStatus,
    User,
)
from sip_engine.notify import Notifier
from sip_engine.notify.links import HealthExamLinks
from sip_engine.reminders import KIND_WORDS, _at_local, keep_wanted, shift
from sip_engine.workflow.definition import ReminderRule
from sip_engine.workflow.registry import WorkflowRegistry

# Övervägande (SoL) and omprövning (LVU) come every six months of a placement.
REVIEW_INTERVAL_MONTHS = 6
# Review reminders are kept this far ahead; every change to the placement extends them.
REVIEW_HORIZON_DAYS = 2 * 366


@dataclass(frozen=True)
class _Wanted:
    key: str
    rule: ReminderRule
    due_at: datetime
    recipient: str
    state: str
    user_id: int | None = None
    health_exam_id: int | None = None


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day (31 Aug + 6 months = 28 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def review_dates(placement: Placement, today: date) -> list[date]:
    """The placement's coming övervägande/omprövning dates within the horizon."""
    dates: list[date] = []
    step = 1
    while True:
        day = add_months(placement.start_date, REVIEW_INTERVAL_MONTHS * step)
        step += 1
        if placement.planned_end is not None and day > placement.planned_end:
            break
        if day > today + timedelta(days=REVIEW_HORIZON_DAYS):
            break
        if day >= today:
            dates.append(day)
    return dates


def _meeting_held_since(session: Session, case_id: int, since: datetime) -> bool:
    return (
        session.scalars(
            select(Meeting.id).where(Meeting.case_id == case_id, Meeting.held_at >= since).limit(1)
        ).first()
        is not None
    )


def _wanted(
    session: Session, placement: Placement, now: datetime, registry: WorkflowRegistry
) -> list[_Wanted]:
    if placement.state == "avslutad":
        return []
    today = local_date(now)
    wanted: list[_Wanted] = []
    coordinator_id = placement.coordinator_id

    def add(rule: ReminderRule, due: datetime, ref: str, state: str, exam_id: int | None) -> None:
        if rule.kind == "reminder" and due <= now:
            return  # a reminder already late when it starts to apply would only confuse
        base = f"pl{placement.id}:{rule.id}:{ref}"
        for recipient in rule.recipients:
            if recipient == "coordinator" and coordinator_id is not None:
                wanted.append(
                    _Wanted(
                        f"{base}:u{coordinator_id}",
                        rule,
                        due,
                        recipient,
                        state,
                        user_id=coordinator_id,
                        health_exam_id=exam_id,
                    )
                )
            elif recipient == "region_contact" and exam_id is not None:
                wanted.append(
                    _Wanted(f"{base}:rc", rule, due, recipient, state, health_exam_id=exam_id)
                )

    definition = registry.get(placement.workflow_name, placement.workflow_version)
    for rule in definition.reminders:
        if placement.state not in rule.states:
            continue
        if rule.anchor == "state_entered":
            entered = placement.state_entered_at
            if rule.condition == "phase_meeting_missing" and _meeting_held_since(
                session, placement.case_id, entered
            ):
                continue
            add(
                rule,
                shift(entered, rule),
                f"s{placement.state}@{entered:%Y%m%dT%H%M%S}",
                placement.state,
                None,
            )
        elif rule.anchor == "review_date":
            for day in review_dates(placement, today):
                add(rule, shift(_at_local(day), rule), f"r{day:%Y%m%d}", placement.state, None)

    for exam in placement.health_exams:
        exam_definition = registry.get(exam.workflow_name, exam.workflow_version)
        for rule in exam_definition.reminders:
            if exam.status not in rule.states or rule.anchor != "state_entered":
                continue
            entered = exam.status_entered_at
            add(
                rule,
                shift(entered, rule),
                f"e{exam.id}{exam.status}@{entered:%Y%m%dT%H%M%S}",
                exam.status,
                exam.id,
            )
    return wanted


def sync_placement_reminders(
    session: Session, placement: Placement, now: datetime, registry: WorkflowRegistry
) -> None:
    wanted = {w.key: w for w in _wanted(session, placement, now, registry)}
    existing = {
        r.key: r
        for r in session.scalars(select(Reminder).where(Reminder.placement_id == placement.id))
    }
    for key, row in existing.items():
        if row.status is ReminderStatus.PENDING and key not in wanted:
            row.status = ReminderStatus.CANCELLED
            row.processed_at = now
    for key, want in wanted.items():
        found = existing.get(key)
        if found is None:
            session.add(
                Reminder(
                    key=key,
                    case_id=placement.case_id,
                    placement_id=placement.id,
                    health_exam_id=want.health_exam_id,
                    rule_id=want.rule.id,
                    kind=want.rule.kind,
                    state=want.state,
                    recipient=want.recipient,
                    user_id=want.user_id,
                    due_at=want.due_at,
                    status=ReminderStatus.PENDING,
                    created_at=now,
                )
            )
        else:
            keep_wanted(found, want.due_at)
    session.flush()


def _still_applies(
    session: Session, reminder: Reminder, placement: Placement, exam: HealthExamRequest | None
) -> bool:
    if exam is not None:
        return exam.status == reminder.state and placement.state != "avslutad"
    if placement.state != reminder.state:
        return False
    if reminder.rule_id.endswith("_sip_saknas"):
        return not _meeting_held_since(session, placement.case_id, placement.state_entered_at)
    return True


def queue_placement_reminder(
    session: Session,
    reminder: Reminder,
    now: datetime,
    notifier: Notifier,
    registry: WorkflowRegistry,
    base_url: str,
) -> bool:
    """Write a due placement or examination reminder's e-mail to the outbox (called by the
    sweeper in its transaction). False when there is nothing to send."""
    placement = session.get_one(Placement, reminder.placement_id)
    exam = (
        session.get(HealthExamRequest, reminder.health_exam_id) if reminder.health_exam_id else None
    )
    if not _still_applies(session, reminder, placement, exam):
        return False
    if exam is not None:
        definition = registry.get(exam.workflow_name, exam.workflow_version)
    else:
        definition = registry.get(placement.workflow_name, placement.workflow_version)
    rule = next((r for r in definition.reminders if r.id == reminder.rule_id), None)
    label = rule.label if rule else reminder.rule_id
    word = KIND_WORDS.get(reminder.kind, "Påminnelse")
    reference = placement.case.reference
    lines: list[str]
    if reminder.recipient == "region_contact" and exam is not None:
        address, name = exam.contact_email, exam.contact_name
        links = HealthExamLinks(notifier.links)
        # As in the request itself: no name or personnummer of the child in the e-mail.
        lines = [
            f"Hej {name},",
            "",
            f"{word}: {label}.",
            "",
            f"Del: {HEALTH_EXAM_PART_LABELS[exam.part]}",
            f"Ärende: {reference}",
            "",
            "Registrera erbjuden tid på din personliga länk:",
            links.url(links.token(exam.id, exam.placement_id, exam.link_nonce)),
        ]
    elif reminder.user_id is not None:
        user = session.get_one(User, reminder.user_id)
        address, name = user.contact_email or "", user.display_name
        lines = [f"Hej {name},", "", f"{word}: {label}.", "", f"Ärende: {reference}"]
        if exam is not None:
            lines.append(f"Del: {HEALTH_EXAM_PART_LABELS[exam.part]}")
            lines.append(f"Kontakt i regionen: {exam.contact_name} <{exam.contact_email}>")
        lines += ["", f"Öppna placeringen: {base_url}/placeringar/{placement.id}"]
    else:
        return False
    if not address:
        return False
    notifier.plain_message(
        session,
        now,
        case_id=placement.case_id,
        to_address=address,
        to_name=name,
        kind=f"{reminder.kind}:{reminder.rule_id}",
        subject=f"{word}: {label} ({reference})",
        lines=lines,
        tag=f"r{reminder.id}",
    )
    return True
