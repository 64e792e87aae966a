"""Participants' answers through their personal link: kommer, kommer inte, skickar ersättare."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from sip_engine.clock import local_date
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

from .access import organisation_verdict
from .common import ValidationError, check_can_edit


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
    if data.answer is not Answer.ERSATTARE or (
        invitation.substitute_request and invitation.substitute_request.get("email") != email
    ):
        invitation.substitute_request = None  # a held substitute no longer asked for
    invitation.answer = data.answer
    invitation.answer_reason = reason if data.answer is Answer.KOMMER_INTE else None
    invitation.answered_at = now
    invitation.answered_sequence = meeting.sequence
    held = False
    if data.answer is Answer.ERSATTARE and invitation.substitute is None:
        verdict = organisation_verdict(
            session, case, organisation_id, local_date(meeting.starts_at)
        )
        if verdict is not None and verdict.complete:
            _add_substitute(session, notifier, opened, name, email, organisation_id, now)
        else:
            # The consent does not let this organisation take part: hold the substitute for
            # the coordinator; nothing about the meeting goes to them until approved.
            held = True
            invitation.substitute_request = {
                "name": name,
                "email": email,
                "organisation_id": organisation_id,
                "requested_at": now.isoformat(),
            }
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
            **({"substitute_held": True} if held else {}),
        },
    )
    if held:
        record_event(
            session,
            case,
            Actor.system(f"{opened.participant.name} (via personlig länk)"),
            EventKind.SUBSTITUTE_HELD,
            now,
            details={"invitation_id": invitation.id, "organisation_id": organisation_id},
        )
    session.flush()
    sync_case_reminders(session, case, now)  # an answer stops the reminders to that person
    return invitation


def _add_substitute(
    session: Session,
    notifier: Notifier,
    opened: OpenInvitation,
    name: str,
    email: str,
    organisation_id: int | None,
    now: datetime,
) -> Participant:
    """The substitute becomes a participant with an invitation (and a kallelse) of their own."""
    substitute = Participant(
        case_id=opened.case.id,
        kind=opened.participant.kind,
        organisation_id=organisation_id,
        name=name,
        email=email,
        roles=[],
        added_at=now,
    )
    session.add(substitute)
    session.flush()
    opened.invitation.substitute = substitute
    notifier.invite_substitute(session, opened.case, opened.meeting, substitute, now)
    return substitute


def decide_substitute(
    session: Session,
    notifier: Notifier,
    case: Case,
    actor: Actor,
    now: datetime,
    invitation: Invitation,
    *,
    approve: bool,
    expected_version: int | None = None,
) -> None:
    """The coordinator approves or rejects a substitute held because the consent did not
    cover their organisation. Approval needs a complete consent for it on the meeting's day
    (the one consent rule); a rejection leaves the invitation unanswered again, so the
    reminders to the invited person resume."""
    check_can_edit(session, case, actor, expected_version)
    request = invitation.substitute_request
    meeting = session.get(Meeting, invitation.meeting_id)
    if request is None or meeting is None or meeting.case_id != case.id:
        raise ValidationError({"substitute": "Det finns ingen ersättare som väntar på beslut."})
    if not meeting.is_open:
        raise ValidationError({"substitute": "Mötet är redan hållet eller inställt."})
    organisation_id = request.get("organisation_id")
    if approve:
        verdict = organisation_verdict(
            session, case, organisation_id, local_date(meeting.starts_at)
        )
        if verdict is None or not verdict.complete:
            why = " ".join(verdict.reasons) if verdict else "Ersättaren saknar verksamhet."
            raise ValidationError(
                {"substitute": f"Samtycket omfattar inte ersättarens verksamhet: {why}"}
            )
        opened = OpenInvitation(invitation, meeting, case, invitation.participant)
        _add_substitute(
            session, notifier, opened, request["name"], request["email"], organisation_id, now
        )
    else:
        invitation.answer = None
        invitation.answered_at = None
        invitation.answered_sequence = None
    invitation.substitute_request = None
    record_event(
        session,
        case,
        actor,
        EventKind.SUBSTITUTE_DECIDED,
        now,
        details={"invitation_id": invitation.id, "approved": approve},
    )
    session.flush()
    sync_case_reminders(session, case, now)
