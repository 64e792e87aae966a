"""Closing a SIP: a meeting that took place stays held; every participant is told that the SIP
has ended, through the outbox and a real SMTP server, with the case reference only."""

from __future__ import annotations

from sqlalchemy import select

from sip_engine.models import Meeting, OutboxMessage
from sip_engine.notify import KIND_CANCEL, KIND_CASE_CLOSED
from sip_engine.services import meetings, participants

from ..smtp import SmtpServer
from ..world import CaseBuilder
from .test_kallelse import _deliver

# What the system itself must never put in the closing mail: the child's name and
# personnummer, the school, the close note and the close reason.
CLOSE_NOTE = "Familjen flyttar till Malmö i april."
NEVER_IN_THE_MAIL = (
    "Alva",
    "Testsson",
    "20150315",
    "Johannebergsskolan",
    "Malmö",
    "Barnet har flyttat",
)


def _kinds(builder: CaseBuilder) -> list[tuple[str, str]]:
    return [
        (m.kind, m.to_address)
        for m in builder.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    ]


def test_closing_after_the_meeting_keeps_it_held_and_tells_everyone_the_sip_ended(
    mail_builder: CaseBuilder, smtp_server: SmtpServer
) -> None:
    builder, w = mail_builder, mail_builder.w
    case = builder.case_in("mote")
    participants.add_participant(
        builder.session,
        case,
        w.actor,
        builder.now,
        relative_id=w.child.guardians[0].id,
        workflow=builder.engine,
    )
    builder.session.commit()
    meeting = meetings.open_meeting(builder.session, case)
    assert meeting is not None
    invited = len(_kinds(builder))
    builder.fire(case, "avsluta", reason=CLOSE_NOTE, reason_code="flyttat")
    assert case.state == "avslutad"

    builder.session.expire_all()
    held = builder.session.get_one(Meeting, meeting.id)
    assert held.held_at is not None
    assert (held.cancelled_at, held.cancel_reason) == (None, None)
    new = _kinds(builder)[invited:]
    assert KIND_CANCEL not in {kind for kind, _to in new}  # nobody gets "Inställt"
    assert sorted(new) == [
        (KIND_CASE_CLOSED, "karin@example.se"),
        (KIND_CASE_CLOSED, "maria@example.se"),  # the family is told too
        (KIND_CASE_CLOSED, "omar@example.se"),
        (KIND_CASE_CLOSED, "sara@example.se"),
    ]

    _deliver(builder, smtp_server)
    ended = [m for m in smtp_server.messages if m["Subject"] == f"SIP avslutad ({case.reference})"]
    assert len(ended) == 4
    for message in ended:
        assert message.get_content_type() == "text/plain"  # no calendar entry
        text = message.get_content()
        assert f"ärende {case.reference} har avslutats" in text
        for secret in NEVER_IN_THE_MAIL:
            assert secret not in text, secret


def test_closing_before_the_meeting_cancels_it_and_tells_everyone(
    mail_builder: CaseBuilder, smtp_server: SmtpServer
) -> None:
    builder = mail_builder
    case = builder.case_in("kalla")
    meeting = meetings.open_meeting(builder.session, case)
    assert meeting is not None
    invited = len(_kinds(builder))
    builder.fire(case, "avsluta", reason=CLOSE_NOTE, reason_code="flyttat")

    builder.session.expire_all()
    cancelled = builder.session.get_one(Meeting, meeting.id)
    assert cancelled.cancelled_at is not None and cancelled.held_at is None
    new = sorted(_kinds(builder)[invited:])
    people = ["karin@example.se", "omar@example.se", "sara@example.se"]
    assert new == sorted(
        [(KIND_CANCEL, to) for to in people] + [(KIND_CASE_CLOSED, to) for to in people]
    )
    _deliver(builder, smtp_server)
    subjects = sorted(m["Subject"] for m in smtp_server.messages)
    assert subjects.count(f"SIP avslutad ({case.reference})") == 3
    assert sum(s.startswith("Inställt: SIP-möte") for s in subjects) == 3
