"""Kallelse, inbjudan, updates and cancellations: rendered and queued in the outbox.

Everything here only writes rows in the caller's transaction; delivery over SMTP happens
later in :mod:`sip_engine.notify.sender`, so nothing is lost when SMTP is down and a rolled
back change sends nothing.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from functools import lru_cache
from typing import Any

from sqlalchemy import Integer, Table, bindparam, insert, select
from sqlalchemy.orm import Session

from sip_engine.clock import STOCKHOLM
from sip_engine.models import (
    Base,
    Case,
    Invitation,
    Meeting,
    MeetingFormat,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ParticipantKind,
)
from sip_engine.protection import protected_text
from sip_engine.writes import attach_written

from .ical import build_ics, meeting_uid
from .links import AnswerLinks

KIND_KALLELSE = "kallelse"
KIND_INBJUDAN = "inbjudan"
KIND_UPDATE = "uppdatering"
KIND_CANCEL = "installt"
KIND_CASE_CLOSED = "sip_avslutad"


def when_text(meeting: Meeting) -> str:
    start = meeting.starts_at.astimezone(STOCKHOLM)
    end = meeting.ends_at.astimezone(STOCKHOLM)
    return f"{start:%Y-%m-%d} kl. {start:%H:%M}–{end:%H:%M}"


def where_text(meeting: Meeting) -> str:
    if meeting.format is MeetingFormat.VIDEO:
        return f"Videomöte: {meeting.video_link}"
    return meeting.location or ""


# Built once (with a bound parameter): the kallelse of every transition reads it.
_INVITATIONS = (
    select(Invitation)
    .where(Invitation.meeting_id == bindparam("meeting_id", type_=Integer))
    .order_by(Invitation.id)
)


_INVITATION: Table = Base.metadata.tables["invitation"]
_ADD_INVITATIONS = insert(_INVITATION).returning(_INVITATION.c.id, _INVITATION.c.participant_id)
# A new invitation's columns besides those given (as the database defaults them).
_UNANSWERED: dict[str, Any] = {
    "answer": None,
    "answer_reason": None,
    "answered_at": None,
    "answered_sequence": None,
    "substitute_participant_id": None,
}
# Core, not the ORM's bulk INSERT: the rows are complete dicts, one multi-row INSERT.
_ADD_MESSAGES = insert(Base.metadata.tables["outbox_message"])


@dataclass(frozen=True)
class MailReport:
    """What one change queued for a meeting: the kind of news (``KIND_KALLELSE``,
    ``KIND_UPDATE``, ``KIND_CANCEL``), how many participants it was queued for, and how many
    it should have reached but could not (no e-mail address: someone must tell them).

    It goes into the change's history event (``details["mail"]``), from which the coordinator
    is told what was sent."""

    kind: str
    sent: int
    without_email: int = 0

    def as_details(self) -> dict[str, Any]:
        return {"kind": self.kind, "sent": self.sent, "without_email": self.without_email}

    @classmethod
    def from_details(cls, details: dict[str, Any] | None) -> MailReport | None:
        mail = (details or {}).get("mail")
        if not isinstance(mail, dict):
            return None
        return cls(str(mail["kind"]), int(mail["sent"]), int(mail.get("without_email", 0)))


@lru_cache(maxsize=16)
def _domain_of(mail_from: str) -> str:
    """The domain of the sender's address (parsed once: every message needs it twice)."""
    return parseaddr(mail_from)[1].rpartition("@")[2] or "localhost"


@dataclass
class Notifier:
    links: AnswerLinks
    mail_from: str

    @property
    def domain(self) -> str:
        return _domain_of(self.mail_from)

    # --- what the workflow's actions call ----------------------------------------------

    # Both take the case's current participants (``TransitionContext.participants``: the
    # guards have read them already, so the notifier does not read them again).

    def plain_message(
        self,
        session: Session,
        now: datetime,
        *,
        case_id: int,
        to_address: str,
        to_name: str,
        kind: str,
        subject: str,
        lines: list[str],
        tag: str,
        invitation_id: int | None = None,
    ) -> OutboxMessage:
        """An e-mail without a calendar file (a reminder, a notice to a unit), queued in the
        outbox: the one place such a row is built, the signature included. ``lines`` carry no
        child data (the callers write the case reference, never a name)."""
        message = OutboxMessage(
            created_at=now,
            case_id=case_id,
            invitation_id=invitation_id,
            kind=kind,
            to_address=to_address,
            to_name=to_name,
            subject=subject,
            body_text="\n".join([*lines, "", "Med vänlig hälsning", "SIP-stöd"]),
            ics=None,
            ics_method=None,
            message_id=f"<sip-{tag}-{secrets.token_hex(6)}@{self.domain}>",
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
        )
        session.add(message)
        return message

    def kallelse(
        self,
        session: Session,
        case: Case,
        meeting: Meeting,
        participants: list[Participant],
        now: datetime,
    ) -> tuple[list[Invitation], MailReport]:
        """Invite every current participant who has not been invited to this meeting. Returns
        all the meeting's invitations afterwards (in id order, as :meth:`invitations`) and
        what was queued."""
        _invited, invitations, report = self._ensure_invitations(
            session, case, meeting, participants, now, update=False
        )
        return invitations, report

    def update(
        self,
        session: Session,
        case: Case,
        meeting: Meeting,
        participants: list[Participant],
        now: datetime,
    ) -> tuple[list[Invitation], MailReport]:
        """After a change of a called meeting: everyone invited gets the new version (same
        UID, higher SEQUENCE); participants added since get their first invitation. Returns
        all the meeting's invitations afterwards (in id order) and what was queued."""
        _invited, invitations, report = self._ensure_invitations(
            session, case, meeting, participants, now, update=True
        )
        return invitations, report

    def cancel(self, session: Session, case: Case, meeting: Meeting, now: datetime) -> MailReport:
        messages = []
        without_email = 0
        for invitation in self.invitations(session, meeting):
            if invitation.participant.removed_at is not None:
                continue  # a removed participant was told when they were removed
            if not invitation.participant.email:
                without_email += 1
            message = self._cancel_message(
                case,
                meeting,
                invitation,
                now,
                subject=f"Inställt: SIP-möte {when_text(meeting)} ({case.reference})",
                lead="Mötet är inställt. Du behöver inte göra något mer.",
            )
            if message is not None:
                messages.append(message)
        self._queue(session, messages)
        return MailReport(KIND_CANCEL, len(messages), without_email)

    def case_closed(
        self, session: Session, case: Case, participants: list[Participant], now: datetime
    ) -> None:
        """Tell every current participant (with e-mail) that the SIP has ended. Only the case
        reference: no child data, no close reason, not even a name in the greeting (a
        guardian's surname is often the child's); e-mail is not a safe channel for them."""
        messages = [
            self._row(
                case,
                participant,
                now,
                kind=KIND_CASE_CLOSED,
                subject=f"SIP avslutad ({case.reference})",
                lines=[
                    "Hej!",
                    "",
                    f"Den samordnade individuella planen (SIP) i ärende {case.reference} har "
                    "avslutats.",
                    "Du behöver inte göra något mer. Frågor besvaras av ärendets samordnare.",
                ],
            )
            for participant in participants
            if participant.email
        ]
        self._queue(session, messages)

    def withdraw(
        self,
        session: Session,
        case: Case,
        meeting: Meeting,
        participant: Participant,
        now: datetime,
    ) -> None:
        """A participant no longer expected at the meeting (a substitute replaced or called
        off, a participant removed from the case): the meeting leaves their calendar."""
        invitation = session.scalars(
            select(Invitation).where(
                Invitation.meeting_id == meeting.id, Invitation.participant_id == participant.id
            )
        ).first()
        if invitation is None:
            return
        message = self._cancel_message(
            case,
            meeting,
            invitation,
            now,
            subject=f"Du behöver inte komma: SIP-möte {when_text(meeting)} ({case.reference})",
            lead="Du är inte längre med på det här mötet. Du behöver inte göra något mer.",
        )
        if message is not None:
            self._queue(session, [message])

    def invite_substitute(
        self,
        session: Session,
        case: Case,
        meeting: Meeting,
        substitute: Participant,
        now: datetime,
    ) -> Invitation:
        invited, _all, _report = self._ensure_invitations(
            session, case, meeting, [substitute], now, update=False
        )
        return invited[0]

    # --- helpers ------------------------------------------------------------------------

    @staticmethod
    def invitations(session: Session, meeting: Meeting) -> list[Invitation]:
        return list(session.scalars(_INVITATIONS, {"meeting_id": meeting.id}))

    def answer_url(self, invitation: Invitation) -> str:
        return self.links.url(
            self.links.token(
                invitation.id,
                invitation.meeting_id,
                invitation.participant_id,
                invitation.link_nonce,
            )
        )

    def _ensure_invitations(
        self,
        session: Session,
        case: Case,
        meeting: Meeting,
        participants: list[Participant],
        now: datetime,
        *,
        update: bool,
    ) -> tuple[list[Invitation], list[Invitation], MailReport]:
        """Each participant's invitation to the meeting, created and queued where missing
        (and with ``update``, queued again where it told of an older version); all the
        meeting's invitations afterwards, in id order; and what was queued. The existing ones
        are read in one query and the new ones inserted in one statement (their ids go into
        the answer links)."""
        found = self.invitations(session, meeting)
        existing: dict[int, Invitation] = {}
        for invitation in found:
            existing.setdefault(invitation.participant_id, invitation)
        rows = {
            participant.id: {
                "meeting_id": meeting.id,
                "participant_id": participant.id,
                "link_nonce": secrets.token_urlsafe(12),
                "created_at": now,
                "sent_sequence": meeting.sequence,
            }
            for participant in participants
            if participant.id not in existing
        }
        created: dict[int, Invitation] = {}
        if rows:
            # One INSERT for them all, returning each new id with its participant (so the
            # order the rows come back in does not matter); their ids go into the answer
            # links. They join the session as persistent objects, as a flush would leave them.
            for invitation_id, participant_id in session.execute(
                _ADD_INVITATIONS, list(rows.values())
            ):
                created[participant_id] = attach_written(
                    session,
                    Invitation(id=invitation_id, **rows[participant_id], **_UNANSWERED),
                )
        result, messages = [], []
        without_email = 0
        for participant in participants:
            invitation = existing.get(participant.id) or created[participant.id]
            result.append(invitation)
            is_new = participant.id in created
            if not is_new and (not update or invitation.sent_sequence == meeting.sequence):
                continue  # already told about this version of the meeting
            message = self._tell(case, meeting, invitation, participant, now, is_new=is_new)
            if message is not None:
                messages.append(message)
            else:
                without_email += 1
        self._queue(session, messages)
        report = MailReport(KIND_UPDATE if update else KIND_KALLELSE, len(messages), without_email)
        return result, found + sorted(created.values(), key=lambda i: i.id), report

    def _tell(
        self,
        case: Case,
        meeting: Meeting,
        invitation: Invitation,
        participant: Participant,
        now: datetime,
        *,
        is_new: bool,
    ) -> dict[str, Any] | None:
        """The kallelse, inbjudan or update for this version of the meeting (None for a
        participant without e-mail)."""
        if invitation.sent_sequence != meeting.sequence:
            invitation.sent_sequence = meeting.sequence
        if not participant.email:
            return None
        called = participant.kind is ParticipantKind.KALLAD
        if is_new:
            kind = KIND_KALLELSE if called else KIND_INBJUDAN
            word = "Kallelse" if called else "Inbjudan"
            subject = f"{word} till SIP-möte {when_text(meeting)} ({case.reference})"
            lead = (
                "Du kallas till ett möte om en samordnad individuell plan (SIP)."
                if called
                else "Du är inbjuden till ett möte om en samordnad individuell plan (SIP)."
            )
        else:
            kind = KIND_UPDATE
            subject = f"Ny tid: SIP-möte {when_text(meeting)} ({case.reference})"
            lead = "Mötet har flyttats eller ändrats. Tidigare svar gällde den gamla tiden."
        return self._message(
            case,
            meeting,
            invitation,
            participant,
            now,
            kind=kind,
            method="REQUEST",
            subject=subject,
            lead=lead,
            with_link=True,
        )

    @staticmethod
    def _queue(session: Session, messages: list[dict[str, Any]]) -> None:
        """Put the messages in the outbox: one multi-row INSERT, as nothing here needs them
        as objects or their ids."""
        if messages:
            session.execute(_ADD_MESSAGES, messages)

    def _cancel_message(
        self,
        case: Case,
        meeting: Meeting,
        invitation: Invitation,
        now: datetime,
        *,
        subject: str,
        lead: str,
    ) -> dict[str, Any] | None:
        """METHOD:CANCEL with the meeting's UID: the entry leaves the invitee's calendar (None
        for a participant without e-mail)."""
        participant = invitation.participant
        if not participant.email:
            return None
        return self._message(
            case,
            meeting,
            invitation,
            participant,
            now,
            kind=KIND_CANCEL,
            method="CANCEL",
            subject=subject,
            lead=lead,
            with_link=False,
        )

    def _message(
        self,
        case: Case,
        meeting: Meeting,
        invitation: Invitation,
        participant: Participant,
        now: datetime,
        *,
        kind: str,
        method: str,
        subject: str,
        lead: str,
        with_link: bool,
    ) -> dict[str, Any]:
        """An outbox row: the e-mail to one participant about a meeting, with its iCalendar
        file.

        Mail and calendar leave the system: every free text in them (names, place,
        frågeställningar) is shown as to someone outside the case's unit
        (:func:`sip_engine.protection.protected_text`), so a protected child's school and
        address never reach them."""
        assert participant.email

        def outward(text: str) -> str:
            return protected_text(case, text, None)

        name = outward(participant.name)
        where = outward(where_text(meeting))
        leader = outward(meeting.leader.name) if meeting.leader else "sammankallande samordnare"
        lines = [
            f"Hej {name},",
            "",
            lead,
            "",
            f"Ärende: {case.reference}",
            f"Tid: {when_text(meeting)}",
            f"Plats: {where}",
            f"Mötesledare: {leader}",
        ]
        if meeting.questions:
            lines += ["", "Frågeställningar:"] + [f"- {outward(q)}" for q in meeting.questions]
        # The calendar entry tells what the mail tells, without the personal answer link:
        # calendars are shared with delegates and colleagues, and the link answers for its
        # holder. The link is in the mail body only.
        description = "\n".join(lines)
        if with_link:
            lines += [
                "",
                "Svara om du kommer, inte kommer eller skickar en ersättare:",
                self.answer_url(invitation),
                "",
                "Länken är personlig. Du kan ändra ditt svar fram till mötet.",
            ]
        row = self._row(
            case, participant, now, kind=kind, subject=subject, lines=lines, invitation=invitation
        )
        summary = f"SIP-möte ({case.reference})"
        ics = build_ics(
            method=method,
            uid=meeting_uid(meeting.id, self.domain),
            sequence=meeting.sequence,
            summary=summary,
            description=description,
            starts_at=meeting.starts_at,
            ends_at=meeting.ends_at,
            location=where,
            organizer=self.mail_from,
            attendee_email=participant.email,
            attendee_name=name,
            now=now,
        )
        row["ics"], row["ics_method"] = ics, method
        return row

    def _row(
        self,
        case: Case,
        participant: Participant,
        now: datetime,
        *,
        kind: str,
        subject: str,
        lines: list[str],
        invitation: Invitation | None = None,
    ) -> dict[str, Any]:
        """An outbox row: the e-mail to one participant (without a calendar file; the
        meeting's messages add theirs)."""
        assert participant.email
        # Never the child's name, address or school: e-mail is not a safe channel for them.
        body = "\n".join([*lines, "", "Med vänlig hälsning", "SIP-stöd"])
        return {
            "created_at": now,
            "case_id": case.id,
            "invitation_id": invitation.id if invitation is not None else None,
            "kind": kind,
            "to_address": participant.email,
            # Outward, as everything in a mail (a protected child's school never in a name).
            "to_name": protected_text(case, participant.name, None),
            "subject": subject,
            "body_text": body,
            "ics": None,
            "ics_method": None,
            "message_id": f"<sip-{secrets.token_hex(12)}@{self.domain}>",
            "status": OutboxStatus.PENDING,
            "attempts": 0,
            "next_attempt_at": now,
        }
