"""Participants' answers through their personal link: kommer, kommer inte, skickar ersättare."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from sip_engine.models import (
    Answer,
    Case,
    EventKind,
    Invitation,
    Meeting,
    Organisation,
    Participant,
)
from sip_engine.notify import Notifier
from sip_engine.notify.links import BadLink
from sip_engine.reminders import sync_case_reminders
from sip_engine.workflow import Actor
from sip_engine.workflow.engine import record_event

from .common import ValidationError


class LinkExpired(ValueError):
    """The link was genuine but its meeting is over, cancelled or the case closed."""


@dataclass(frozen=True)
class OpenInvitation:
    invitation: Invitation
    meeting: Meeting
    case: Case
    participant: Participant


def open_invitation(
    session: Session, notifier: Notifier, token: str, now: datetime
) -> OpenInvitation:
    """The invitation a link is for. Raises BadLink (tampered, foreign, replaced) or
    LinkExpired (the meeting has ended or was cancelled). Reads only."""
    claims = notifier.links.verify(token)
    invitation = session.get(Invitation, claims.invitation_id)
    if (
        invitation is None
        or invitation.meeting_id != claims.meeting_id
        or invitation.participant_id != claims.participant_id
        or invitation.link_nonce != claims.nonce
    ):
        raise BadLink("Länken är ogiltig.")
    meeting = session.get_one(Meeting, invitation.meeting_id)
    case = session.get_one(Case, meeting.case_id)
    participant = invitation.participant
    if meeting.cancelled_at is not None:
        raise LinkExpired("Mötet är inställt, så länken gäller inte längre.")
    if meeting.held_at is not None or now >= meeting.ends_at or case.closed_at is not None:
        raise LinkExpired("Mötet har redan ägt rum, så länken gäller inte längre.")
    if participant.removed_at is not None:
        raise LinkExpired("Du är inte längre deltagare i det här ärendet.")
    return OpenInvitation(invitation, meeting, case, participant)


@dataclass
class AnswerInput:
    answer: Answer
    reason: str | None = None
    substitute_name: str | None = None
    substitute_email: str | None = None
    substitute_organisation_id: int | None = None


def _plausible_email(value: str) -> bool:
    """One address, no whitespace or control characters (a line break would let a form
    inject mail headers)."""
    local, _, domain = value.partition("@")
    return (
        bool(local)
        and "." in domain
        and "@" not in domain
        and len(value) <= 254
        and value.isprintable()
        and not any(ch.isspace() for ch in value)
    )


def record_answer(
    session: Session,
    notifier: Notifier,
    opened: OpenInvitation,
    data: AnswerInput,
    now: datetime,
) -> Invitation:
    """Record (or change) the answer; a substitute becomes a participant with an invitation
    of their own. The answer belongs to the meeting's current time (its SEQUENCE)."""
    errors: dict[str, str] = {}
    reason = (data.reason or "").strip() or None
    if data.answer is Answer.KOMMER_INTE and not reason:
        errors["reason"] = "Skriv kort varför du inte kan komma."
    name = (data.substitute_name or "").strip()
    email = (data.substitute_email or "").strip()
    if data.answer is Answer.ERSATTARE:
        if not name:
            errors["substitute_name"] = "Ange ersättarens namn."
        if not _plausible_email(email):
            errors["substitute_email"] = "Ange ersättarens e-postadress."
    organisation_id = data.substitute_organisation_id or opened.participant.organisation_id
    if data.substitute_organisation_id and session.get(Organisation, organisation_id) is None:
        errors["substitute_organisation_id"] = "Välj verksamhet."
    if errors:
        raise ValidationError(errors)

    invitation, meeting, case = opened.invitation, opened.meeting, opened.case
    previous = invitation.substitute
    if previous is not None and (data.answer is not Answer.ERSATTARE or previous.email != email):
        previous.removed_at = now  # the earlier substitute is no longer coming
        invitation.substitute = None
        notifier.withdraw(session, case, meeting, previous, now)
    invitation.answer = data.answer
    invitation.answer_reason = reason if data.answer is Answer.KOMMER_INTE else None
    invitation.answered_at = now
    invitation.answered_sequence = meeting.sequence
    if data.answer is Answer.ERSATTARE and invitation.substitute is None:
        substitute = Participant(
            case_id=case.id,
            kind=opened.participant.kind,
            organisation_id=organisation_id,
            name=name,
            email=email,
            roles=[],
            added_at=now,
        )
        session.add(substitute)
        session.flush()
        invitation.substitute = substitute
        notifier.invite_substitute(session, case, meeting, substitute, now)
    record_event(
        session,
        case,
        Actor.system(f"{opened.participant.name} (via personlig länk)"),
        EventKind.INVITATION_ANSWERED,
        now,
        details={
            "invitation_id": invitation.id,
            "answer": data.answer.value,
            "meeting_id": meeting.id,
            "sequence": meeting.sequence,
        },
    )
    session.flush()
    sync_case_reminders(session, case, now)  # an answer stops the reminders to that person
    return invitation
