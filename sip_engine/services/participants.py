"""Participants on a case: professionals for their organisation, and the family."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from sip_engine.models import (
    Case,
    EventKind,
    FunctionRole,
    Meeting,
    Organisation,
    Participant,
    ParticipantKind,
    Party,
    Professional,
    Relative,
)
from sip_engine.workflow import Actor, WorkflowEngine

if TYPE_CHECKING:
    from sip_engine.notify import Notifier

from .common import ValidationError, check_can_edit, record_change
from .meetings import called_meeting_context


def _check_roles(roles: list[str]) -> list[str]:
    known = {r.value for r in FunctionRole}
    unknown = [r for r in roles if r not in known]
    if unknown:
        raise ValidationError({"roles": f"Okänd funktion: {', '.join(unknown)}."})
    return sorted(set(roles))


def add_participant(
    session: Session,
    case: Case,
    actor: Actor,
    now: datetime,
    *,
    professional_id: int | None = None,
    relative_id: int | None = None,
    organisation_id: int | None = None,
    name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    roles: list[str] | None = None,
    expected_version: int | None = None,
    workflow: WorkflowEngine | None = None,
) -> Participant:
    """Add a participant. A professional of kommun, skola or region is *kallad*; any other
    organisation's is *inbjuden*; a relative takes part as family.

    Added after the open meeting was called, they get their kallelse (or inbjudan) now,
    through ``workflow``'s notifier, and the history event tells it (``details["mail"]``);
    unless the consent does not cover them, which refuses the addition (consent first)."""
    check_can_edit(session, case, actor, expected_version)
    checked_roles = _check_roles(roles or [])
    if professional_id is not None:
        professional = session.get(Professional, professional_id)
        if professional is None:
            raise ValidationError({"professional_id": "Personen finns inte."})
        organisation = professional.organisation
        kind = (
            ParticipantKind.INBJUDEN
            if organisation.party is Party.ANNAN
            else ParticipantKind.KALLAD
        )
        participant = Participant(
            case_id=case.id,
            kind=kind,
            organisation_id=organisation.id,
            professional_id=professional.id,
            name=professional.name,
            email=professional.email,
            phone=professional.phone,
        )
    elif relative_id is not None:
        relative = session.get(Relative, relative_id)
        if relative is None or relative.child_id != case.child_id:
            raise ValidationError({"relative_id": "Personen hör inte till barnet i ärendet."})
        participant = Participant(
            case_id=case.id,
            kind=ParticipantKind.FAMILJ,
            relative_id=relative.id,
            name=relative.name,
            email=relative.email,
            phone=relative.phone,
        )
    else:
        other_org = session.get(Organisation, organisation_id) if organisation_id else None
        if other_org is None or not (name or "").strip():
            raise ValidationError(
                {"name": "Välj en person, eller ange namn och verksamhet för en ny deltagare."}
            )
        kind = (
            ParticipantKind.INBJUDEN if other_org.party is Party.ANNAN else ParticipantKind.KALLAD
        )
        participant = Participant(
            case_id=case.id,
            kind=kind,
            organisation_id=other_org.id,
            name=(name or "").strip(),
            email=email,
            phone=phone,
        )
    duplicate = any(
        p.removed_at is None
        and (
            (professional_id is not None and p.professional_id == professional_id)
            or (relative_id is not None and p.relative_id == relative_id)
        )
        for p in case.participants
    )
    if duplicate:
        raise ValidationError({"participant": "Personen deltar redan i ärendet."})
    participant.roles = checked_roles
    participant.added_at = now
    session.add(participant)
    case.participants.append(participant)
    session.flush()
    details: dict[str, object] = {
        "participant_id": participant.id,
        "kind": participant.kind.value,
        "organisation_id": participant.organisation_id,
        "roles": checked_roles,
    }
    meeting = session.scalars(Meeting.open_for(case.id)).first()
    # Not to a meeting under way (it has begun: the participant is simply there or not).
    if meeting is not None and meeting.called_at is not None and not _under_way(case, workflow):
        ctx = called_meeting_context(session, case, actor, now, workflow, field="participant")
        if ctx.notifier is not None:
            _invitations, report = ctx.notifier.kallelse(session, case, meeting, [participant], now)
            details["mail"] = report.as_details()
    record_change(session, case, actor, EventKind.PARTICIPANT_ADDED, now, details)
    return participant


def _under_way(case: Case, workflow: WorkflowEngine | None) -> bool:
    """Whether the case's step is the meeting itself (the workflow's ``meeting_under_way``)."""
    if workflow is None:
        # A called meeting never gains a participant without them being told.
        raise ValueError("A called meeting gains participants only through the workflow engine.")
    state = workflow.definition_for(case).states.get(case.state)
    return state is not None and state.meeting_under_way


def set_roles(
    session: Session,
    case: Case,
    actor: Actor,
    now: datetime,
    participant: Participant,
    roles: list[str],
    *,
    expected_version: int | None = None,
) -> Participant:
    check_can_edit(session, case, actor, expected_version)
    if participant.case_id != case.id or participant.removed_at is not None:
        raise ValidationError({"participant": "Deltagaren finns inte i ärendet."})
    participant.roles = _check_roles(roles)
    record_change(
        session,
        case,
        actor,
        EventKind.PARTICIPANT_UPDATED,
        now,
        {"participant_id": participant.id, "roles": participant.roles},
    )
    return participant


def remove_participant(
    session: Session,
    case: Case,
    actor: Actor,
    now: datetime,
    participant: Participant,
    *,
    expected_version: int | None = None,
    notifier: Notifier | None = None,
) -> None:
    """Participants are never deleted: removal is dated, so the history stays readable.
    With a notifier, someone already invited to the open meeting gets it cancelled."""
    check_can_edit(session, case, actor, expected_version)
    if participant.case_id != case.id or participant.removed_at is not None:
        raise ValidationError({"participant": "Deltagaren finns inte i ärendet."})
    participant.removed_at = now
    if notifier is not None:
        meeting = session.scalars(Meeting.open_for(case.id)).first()
        if meeting is not None:
            notifier.withdraw(session, case, meeting, participant, now)
    record_change(
        session,
        case,
        actor,
        EventKind.PARTICIPANT_REMOVED,
        now,
        {"participant_id": participant.id},
    )
