"""Meetings: plan (förbered), change (kalla: the change itself tells everyone called),
record attendance (möte)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from sip_engine.models import (
    Case,
    EventKind,
    Meeting,
    MeetingAttendance,
    MeetingFormat,
    MeetingKind,
    Participant,
)
from sip_engine.protection import names_protected_place
from sip_engine.workflow import Actor, WorkflowEngine
from sip_engine.workflow.context import TransitionContext
from sip_engine.workflow.guards import GUARDS

from .common import ValidationError, check_can_edit, record_change

PLANNING_STATES = frozenset({"forbered", "kalla", "folj_upp"})
# A SIP meeting is a working meeting of a few hours, never days.
MAX_MEETING_LENGTH = timedelta(hours=8)
MAX_MEETING_LENGTH_MESSAGE = "Ett möte kan vara högst 8 timmar (480 minuter)."

# What a called meeting must still meet when it changes or someone joins it: consent in
# force, covering every organisation taking part today and on the (new) meeting day, as when
# it was called. (That it lies in the future the meeting form checks itself.)
CALLED_MEETING_GUARDS = ("consent_in_force", "consent_covers_participants")


def called_meeting_context(
    session: Session,
    case: Case,
    actor: Actor,
    now: datetime,
    workflow: WorkflowEngine | None,
    *,
    field: str,
) -> TransitionContext:
    """The workflow's view of a case whose open meeting has been called, to check it against
    :data:`CALLED_MEETING_GUARDS` and tell the participants through its notifier. Raises a
    ``ValidationError`` on ``field`` when the rules refuse (the caller rolls back: nothing is
    kept)."""
    if workflow is None:
        # A called meeting never changes without its participants being told (an engine
        # without a notifier is one that sends no mail at all, as firing with it).
        raise ValueError("A called meeting changes only through the workflow engine.")
    ctx = TransitionContext(
        session, case, actor, now, workflow.definition_for(case), notifier=workflow.notifier
    )
    reasons: dict[str, None] = {}
    for name in CALLED_MEETING_GUARDS:
        reasons.update(dict.fromkeys(GUARDS[name](ctx)))
    if reasons:
        raise ValidationError(
            {field: "Mötet är redan kallat, och samtycket räcker inte: " + " ".join(reasons)}
        )
    return ctx


@dataclass
class MeetingInput:
    starts_at: datetime
    ends_at: datetime
    format: MeetingFormat
    questions: list[str] = field(default_factory=list)
    location: str | None = None
    video_link: str | None = None
    leader_participant_id: int | None = None
    recorder_participant_id: int | None = None


def open_meeting(session: Session, case: Case) -> Meeting | None:
    return session.scalars(Meeting.open_for(case.id)).first()


def schedule_meeting(
    session: Session,
    case: Case,
    actor: Actor,
    now: datetime,
    data: MeetingInput,
    *,
    workflow: WorkflowEngine | None,
    expected_version: int | None = None,
) -> Meeting:
    """Create the open meeting or change it; every change raises the iCalendar SEQUENCE.

    A called meeting is changed here and only here: in the same transaction everyone called
    is sent the new version (same UID, higher SEQUENCE; a participant added since and not yet
    invited gets the kallelse), through ``workflow``'s notifier, and the history event tells
    how many (``details["mail"]``). The change is refused when the consent would no longer
    cover the meeting."""
    check_can_edit(session, case, actor, expected_version)
    errors: dict[str, str] = {}
    if case.state not in PLANNING_STATES:
        errors["state"] = "Ett möte kan planeras i stegen förbered, kalla och följ upp."
    if data.starts_at <= now:
        errors["starts_at"] = "Mötestiden måste ligga i framtiden."
    if data.ends_at <= data.starts_at:
        errors["ends_at"] = "Mötet måste sluta efter att det börjat."
    elif data.ends_at - data.starts_at > MAX_MEETING_LENGTH:
        errors["ends_at"] = MAX_MEETING_LENGTH_MESSAGE
    if data.format is MeetingFormat.PA_PLATS and not (data.location or "").strip():
        errors["location"] = "Ange plats för mötet."
    if data.format is MeetingFormat.VIDEO and not (data.video_link or "").strip():
        errors["video_link"] = "Ange länk till videomötet."
    if names_protected_place(case, data.location):
        # Everyone called would learn where the child goes to school or lives.
        errors["location"] = (
            "Barnet har skyddade personuppgifter: mötet kan inte hållas på barnets skola "
            "eller adress. Välj en annan plats."
        )
    questions = [q.strip() for q in data.questions if q.strip()]
    active_ids = {p.id for p in case.active_participants}
    for key in ("leader_participant_id", "recorder_participant_id"):
        value = getattr(data, key)
        if value is not None and value not in active_ids:
            errors[key] = "Välj en deltagare i ärendet."
    if errors:
        raise ValidationError(errors)
    meeting = open_meeting(session, case)
    fields = {
        "starts_at": data.starts_at,
        "ends_at": data.ends_at,
        "format": data.format,
        "location": (data.location or "").strip() or None,
        "video_link": (data.video_link or "").strip() or None,
        "questions": questions,
        "leader_participant_id": data.leader_participant_id,
        "recorder_participant_id": data.recorder_participant_id,
    }
    if meeting is None:
        kind = MeetingKind.UPPFOLJNING if case.state == "folj_upp" else MeetingKind.SIP
        meeting = Meeting(case_id=case.id, kind=kind, created_at=now, sequence=0, **fields)
        session.add(meeting)
        session.flush()
        event_kind = EventKind.MEETING_SCHEDULED
    else:
        for key, value in fields.items():
            setattr(meeting, key, value)
        meeting.sequence += 1
        event_kind = EventKind.MEETING_UPDATED
    details: dict[str, object] = {
        "meeting_id": meeting.id,
        "starts_at": data.starts_at.isoformat(),
        "sequence": meeting.sequence,
    }
    if meeting.called_at is not None:
        ctx = called_meeting_context(session, case, actor, now, workflow, field="state")
        if ctx.notifier is not None:
            _invitations, report = ctx.notifier.update(
                session, case, meeting, ctx.participants, now
            )
            details["mail"] = report.as_details()
    record_change(session, case, actor, event_kind, now, details)
    return meeting


def record_attendance(
    session: Session,
    case: Case,
    actor: Actor,
    now: datetime,
    attended: dict[int, bool],
    *,
    child_attended: bool | None = None,
    expected_version: int | None = None,
) -> Meeting:
    """Step 4: who was at the meeting. ``attended`` maps participant id to presence;
    ``child_attended`` whether the child took part (None: not recorded; reports count it)."""
    check_can_edit(session, case, actor, expected_version)
    if case.state != "mote":
        raise ValidationError({"state": "Närvaro registreras under SIP-mötet."})
    meeting = open_meeting(session, case)
    if meeting is None:
        raise ValidationError({"meeting": "Inget möte pågår."})
    participants = {p.id: p for p in case.active_participants}
    unknown = [pid for pid in attended if pid not in participants]
    if unknown:
        raise ValidationError({"attendance": "En deltagare finns inte i ärendet."})
    existing = {a.participant_id: a for a in meeting.attendance}
    for participant_id, present in attended.items():
        row = existing.get(participant_id)
        if row is None:
            row = MeetingAttendance(
                meeting_id=meeting.id, participant_id=participant_id, attended=present
            )
            session.add(row)
            meeting.attendance.append(row)
        else:
            row.attended = present
    meeting.child_attended = child_attended
    record_change(
        session,
        case,
        actor,
        EventKind.ATTENDANCE_RECORDED,
        now,
        {
            "meeting_id": meeting.id,
            "present": sorted(pid for pid, here in attended.items() if here),
            "absent": sorted(pid for pid, here in attended.items() if not here),
            "child_attended": child_attended,
        },
    )
    return meeting


def participant_by_id(case: Case, participant_id: int) -> Participant | None:
    return next((p for p in case.active_participants if p.id == participant_id), None)
