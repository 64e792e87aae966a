"""A called meeting changes in one way (the meeting form), and the change itself tells everyone;
a participant added after the kallelse gets it at once; the answer link stays out of calendars.

Delivered to a real SMTP server (tests/smtp.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from sip_engine.clock import STOCKHOLM
from sip_engine.models import CaseEvent, EventKind, Invitation, OutboxMessage
from sip_engine.notify import KIND_INBJUDAN, KIND_KALLELSE, KIND_UPDATE, MailReport
from sip_engine.services import meetings, participants
from sip_engine.services.common import ValidationError, mail_of_last_change

from ..smtp import SmtpServer
from ..world import CaseBuilder
from .test_kallelse import _calendar, _deliver, _event

LINK = re.compile(r"http://127\.0\.0\.1:8000/svar/\S+")


def _outbox(builder: CaseBuilder) -> list[tuple[str, str]]:
    return [
        (m.kind, m.to_address)
        for m in builder.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    ]


def _move(builder: CaseBuilder, case_id: int, *, in_days: int) -> meetings.Meeting:
    case = builder.session.get_one(meetings.Case, case_id)
    start = builder.now + timedelta(days=in_days)
    return meetings.schedule_meeting(
        builder.session,
        case,
        builder.w.actor,
        builder.now,
        meetings.MeetingInput(
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            format=meetings.MeetingFormat.PA_PLATS,
            location="Biblioteket, rum 2",
            questions=["Hur får Alva en fungerande skolgång?"],
        ),
        workflow=builder.engine,
    )


def test_moving_a_called_meeting_sends_the_update_in_the_same_transaction(
    mail_builder: CaseBuilder, smtp_server: SmtpServer
) -> None:
    case = mail_builder.case_in("kalla")
    _deliver(mail_builder, smtp_server)
    assert len(smtp_server.messages) == 3
    uid = str(_event(_calendar(smtp_server.messages[0])[0])["UID"])
    before = _outbox(mail_builder)

    # Rolled back, the change sends nothing and the meeting keeps its time.
    _move(mail_builder, case.id, in_days=21)
    assert len(_outbox(mail_builder)) == len(before) + 3  # queued with the change itself
    mail_builder.session.rollback()
    assert _outbox(mail_builder) == before
    meeting = meetings.open_meeting(mail_builder.session, case)
    assert meeting is not None and meeting.sequence == 0

    meeting = _move(mail_builder, case.id, in_days=21)
    report = mail_of_last_change(mail_builder.session, case)
    assert report == MailReport(KIND_UPDATE, 3, 0)
    event = mail_builder.session.scalars(
        select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc())
    ).first()
    assert event is not None and event.kind is EventKind.MEETING_UPDATED  # the history keeps it
    assert event.details["sequence"] == 1
    _deliver(mail_builder, smtp_server)
    updates = smtp_server.messages[3:]
    assert sorted(m["To"].addresses[0].addr_spec for m in updates) == [
        "karin@example.se",
        "omar@example.se",
        "sara@example.se",
    ]
    for message in updates:
        calendar, text = _calendar(message)
        ics = _event(calendar)
        assert calendar["METHOD"] == "REQUEST"
        assert str(ics["UID"]) == uid and int(ics["SEQUENCE"]) == 1
        assert ics.decoded("DTSTART") == meeting.starts_at.astimezone(STOCKHOLM)
        assert str(ics["LOCATION"]) == "Biblioteket, rum 2"
        assert message["Subject"].startswith("Ny tid: SIP-möte 2026-03-23")
        assert LINK.search(text)  # the answer link for the new time, in the mail
    for invitation in mail_builder.session.scalars(select(Invitation)):
        assert invitation.sent_sequence == 1


def test_the_reschedule_trigger_is_gone(mail_builder: CaseBuilder) -> None:
    """One way to change a called meeting: no trigger beside the meeting form."""
    case = mail_builder.case_in("kalla")
    definition = mail_builder.engine.definition_for(case)
    assert "boka_om" not in definition.triggers
    assert [t.id for t in definition.triggers_from("kalla") if t.dest == "kalla"] == []


def test_a_change_the_consent_does_not_cover_is_refused_and_sends_nothing(
    mail_builder: CaseBuilder,
) -> None:
    case = mail_builder.case_in("kalla")  # consent for 365 days
    before = _outbox(mail_builder)
    with pytest.raises(ValidationError) as refused:
        _move(mail_builder, case.id, in_days=400)
    assert "Mötet är redan kallat, och samtycket räcker inte" in refused.value.errors["state"]
    mail_builder.session.rollback()
    assert _outbox(mail_builder) == before
    meeting = meetings.open_meeting(mail_builder.session, case)
    assert meeting is not None and meeting.sequence == 0


def test_a_called_meeting_changes_only_through_the_engine(mail_builder: CaseBuilder) -> None:
    case = mail_builder.case_in("kalla")
    start = mail_builder.now + timedelta(days=20)
    with pytest.raises(ValueError):
        meetings.schedule_meeting(
            mail_builder.session,
            case,
            mail_builder.w.actor,
            mail_builder.now,
            meetings.MeetingInput(
                starts_at=start,
                ends_at=start + timedelta(hours=1),
                format=meetings.MeetingFormat.PA_PLATS,
                location="Biblioteket",
            ),
            workflow=None,
        )
    mail_builder.session.rollback()


def test_a_participant_added_after_the_kallelse_gets_it_when_added(
    mail_builder: CaseBuilder, smtp_server: SmtpServer
) -> None:
    case = mail_builder.case_in("kalla")
    _deliver(mail_builder, smtp_server)
    before = _outbox(mail_builder)
    guardian = mail_builder.w.child.guardians[0]
    participants.add_participant(
        mail_builder.session,
        case,
        mail_builder.w.actor,
        mail_builder.now,
        relative_id=guardian.id,
        workflow=mail_builder.engine,
    )
    assert _outbox(mail_builder)[len(before) :] == [(KIND_INBJUDAN, guardian.email)]
    assert mail_of_last_change(mail_builder.session, case) == MailReport(KIND_KALLELSE, 1, 0)
    _deliver(mail_builder, smtp_server)
    (message,) = smtp_server.messages[3:]
    calendar, text = _calendar(message)
    assert calendar["METHOD"] == "REQUEST" and int(_event(calendar)["SEQUENCE"]) == 0
    assert str(_event(calendar)["UID"]) == str(_event(_calendar(smtp_server.messages[0])[0])["UID"])
    assert LINK.search(text)

    # A later change reaches them too, once (they are invited now).
    _move(mail_builder, case.id, in_days=20)
    assert mail_of_last_change(mail_builder.session, case) == MailReport(KIND_UPDATE, 4, 0)


def test_a_participant_the_consent_does_not_cover_is_refused_while_called(
    mail_builder: CaseBuilder,
) -> None:
    case = mail_builder.case_in("kalla")  # consent: the unit, the school, BUP
    before = _outbox(mail_builder)
    with pytest.raises(ValidationError) as refused:
        participants.add_participant(
            mail_builder.session,
            case,
            mail_builder.w.actor,
            mail_builder.now,
            professional_id=mail_builder.w.nurse.id,  # Vårdcentralen: not covered
            workflow=mail_builder.engine,
        )
    assert "Vårdcentralen Centrum" in refused.value.errors["participant"]
    mail_builder.session.rollback()
    assert _outbox(mail_builder) == before
    assert "Eva Sköterska" not in {p.name for p in case.active_participants}


def test_the_answer_link_is_in_the_mail_body_not_in_the_calendar_entry(
    mail_builder: CaseBuilder, smtp_server: SmtpServer
) -> None:
    """Calendar entries are shared with delegates: the personal link stays in the mail."""
    mail_builder.case_in("kalla")
    _deliver(mail_builder, smtp_server)
    for message in smtp_server.messages:
        calendar, text = _calendar(message)
        description = str(_event(calendar)["DESCRIPTION"])
        assert LINK.search(text)
        assert "/svar/" not in description and "Länken är personlig" not in description
        assert "Tid: 2026-03-16 kl. 09:00" in description  # the meeting itself is described
