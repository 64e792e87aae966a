"""The kallelse reaches a real SMTP server; its calendar part and personal link work."""

from __future__ import annotations

import re
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from email.message import Message
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from icalendar import Calendar
from sqlalchemy import Engine, select
from werkzeug.serving import make_server

from sip_engine.clock import STOCKHOLM, FixedClock
from sip_engine.config import Settings
from sip_engine.models import Answer, Invitation, Meeting, OutboxMessage, OutboxStatus, Participant
from sip_engine.notify import Notifier
from sip_engine.notify.sender import OutboxSender, SmtpConfig
from sip_engine.runtime import runtime_for
from sip_engine.services import meetings
from webui import create_app

from ..smtp import SmtpServer
from ..world import CaseBuilder


def _deliver(builder: CaseBuilder, smtp_server: SmtpServer) -> None:
    builder.session.commit()
    sender = OutboxSender(
        sessionmaker_for(builder),
        SmtpConfig.from_url(smtp_server.url),
        builder.clock,
        "SIP-stöd <sip@sip.test>",
    )
    report = sender.deliver_all_due()
    assert report.retried == report.failed == 0, report.errors


def sessionmaker_for(builder: CaseBuilder):
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(bind=builder.session.get_bind(), expire_on_commit=False)


def _calendar(message: Message) -> tuple[Calendar, str]:
    assert message.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part for part in message.iter_parts()}  # type: ignore[attr-defined]
    assert set(parts) == {"text/plain", "text/calendar"}
    ics_part = parts["text/calendar"]
    method = ics_part.get_param("method")
    text = parts["text/plain"].get_content()
    calendar = Calendar.from_ical(ics_part.get_content())
    assert calendar["METHOD"] == method
    return calendar, text


def _event(calendar: Calendar):
    return next(c for c in calendar.walk() if c.name == "VEVENT")


@pytest.fixture
def live(db_engine: Engine, clock: FixedClock, tmp_path: Path) -> Iterator[str]:
    """The app on a real HTTP server; plain http, so the session cookie is not Secure."""
    settings = Settings(
        database_url=str(db_engine.url),
        instance_dir=tmp_path,
        secret_key="test-secret",
        secure_cookies=False,
    )
    app = create_app(runtime=runtime_for(settings, db_engine, clock))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_kallelse_reaches_the_inbox_and_the_link_records_the_answer(
    mail_builder: CaseBuilder, smtp_server: SmtpServer, live: str, clock: FixedClock
) -> None:
    case = mail_builder.case_in("kalla")
    meeting = meetings.open_meeting(mail_builder.session, case)
    assert meeting is not None
    _deliver(mail_builder, smtp_server)

    received = smtp_server.messages
    assert sorted(m["To"] for m in received) == [
        "Karin Lärare <karin@example.se>",
        "Omar Läkare <omar@example.se>",
        "Sara Socionom <sara@example.se>",
    ]
    uids = set()
    for message in received:
        assert message["Subject"].startswith("Kallelse till SIP-möte 2026-03-16 kl. 09:00")
        calendar, text = _calendar(message)
        event = _event(calendar)
        assert calendar["METHOD"] == "REQUEST"
        assert int(event["SEQUENCE"]) == 0
        start = event.decoded("DTSTART")
        assert start.tzinfo is not None and str(start.tzinfo) == "Europe/Stockholm"
        assert start == meeting.starts_at.astimezone(STOCKHOLM)
        uids.add(str(event["UID"]))
        # The system never adds the child's name, personnummer or school to an e-mail (the
        # frågeställningar are the coordinator's own words and are sent as written).
        for secret in ("Testsson", "201503152389", "Johannebergsskolan"):
            assert secret not in text and secret not in message["Subject"]
    assert len(uids) == 1  # one stable UID per meeting

    # Follow Sara's link with a real HTTP client.
    sara = next(m for m in received if "sara@" in m["To"])
    _ics, text = _calendar(sara)
    link = re.search(r"http://127\.0\.0\.1:8000(/svar/\S+)", text)
    assert link is not None
    url = live + link.group(1)
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
    page = opener.open(url).read().decode("utf-8")
    assert "SIP-möte 2026-03-16 09:00" in page and "Stadsdelshuset, rum 3" in page
    invitation_of = lambda: mail_builder.session.scalars(  # noqa: E731
        select(Invitation).where(Invitation.participant_id == _participant_id(mail_builder, "Sara"))
    ).one()
    mail_builder.session.rollback()
    assert invitation_of().answer is None  # opening the link changed nothing

    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    body = urllib.parse.urlencode({"csrf_token": token, "answer": "kommer"}).encode()
    answered = opener.open(urllib.request.Request(url, data=body)).read().decode("utf-8")
    assert "Tack! Ditt svar är registrerat." in answered
    mail_builder.session.rollback()
    mail_builder.session.expire_all()
    invitation = invitation_of()
    assert (invitation.answer, invitation.answered_sequence) == (Answer.KOMMER, 0)


def _participant_id(builder: CaseBuilder, first_name: str) -> int:
    case_participants = builder.session.scalars(select(Invitation.participant_id)).all()

    return next(
        p.id
        for p in builder.session.scalars(select(Participant))
        if p.name.startswith(first_name) and p.id in case_participants
    )


def test_reschedule_raises_sequence_and_cancel_sends_cancel(
    mail_builder: CaseBuilder, smtp_server: SmtpServer, notifier: Notifier
) -> None:
    case = mail_builder.case_in("kalla")
    _deliver(mail_builder, smtp_server)
    first_uid = str(_event(_calendar(smtp_server.messages[0])[0])["UID"])
    invitation = mail_builder.session.scalars(select(Invitation)).first()
    assert invitation is not None
    invitation.answer, invitation.answered_sequence = Answer.KOMMER, 0
    mail_builder.session.commit()

    mail_builder.plan_meeting(case, in_days=21)  # moving the meeting sends the update
    _deliver(mail_builder, smtp_server)
    updates = smtp_server.messages[3:]
    assert len(updates) == 3
    for message in updates:
        calendar, text = _calendar(message)
        event = _event(calendar)
        assert calendar["METHOD"] == "REQUEST" and int(event["SEQUENCE"]) == 1
        assert str(event["UID"]) == first_uid
        assert message["Subject"].startswith("Ny tid: SIP-möte 2026-03-23")
        assert "Tidigare svar gällde den gamla tiden." in text
    mail_builder.session.refresh(invitation)
    assert invitation.answered_sequence == 0 < invitation.sent_sequence == 1

    mail_builder.fire(case, "stall_in", reason="Skolan stänger.")
    _deliver(mail_builder, smtp_server)
    cancels = smtp_server.messages[6:]
    assert len(cancels) == 3
    for message in cancels:
        calendar, _text = _calendar(message)
        event = _event(calendar)
        assert calendar["METHOD"] == "CANCEL" and int(event["SEQUENCE"]) == 2
        assert str(event["STATUS"]) == "CANCELLED" and str(event["UID"]) == first_uid


def _link_path(notifier: Notifier, invitation: Invitation) -> str:
    return notifier.answer_url(invitation).removeprefix("http://127.0.0.1:8000")


def test_get_changes_nothing_and_bad_links_are_refused(
    mail_builder: CaseBuilder, client: FlaskClient, notifier: Notifier, clock: FixedClock
) -> None:
    mail_builder.case_in("kalla")
    invitation = mail_builder.session.scalars(select(Invitation)).first()
    assert invitation is not None
    path = _link_path(notifier, invitation)
    for _ in range(3):
        assert client.get(path).status_code == 200  # a mail scanner opening it
    mail_builder.session.refresh(invitation)
    assert invitation.answer is None

    tampered = path[:-2] + ("AA" if not path.endswith("AA") else "BB")
    response = client.get(tampered)
    assert response.status_code == 404 and "Länken fungerar inte" in response.get_data(True)
    forged = Notifier(notifier.links.__class__("another-secret", "http://x"), "a@b.c")
    assert client.get(_link_path(forged, invitation).replace("http://x", "")).status_code == 404
    # Someone else's invitation id with this link's signature does not work either.
    other = mail_builder.session.scalars(
        select(Invitation).where(Invitation.id != invitation.id)
    ).first()
    assert other is not None
    swapped = notifier.links.token(
        other.id, other.meeting_id, other.participant_id, invitation.link_nonce
    )
    assert client.get(f"/svar/{swapped}").status_code == 404

    # A wrong answer changes nothing.
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    bad = client.post(path, data={"csrf_token": token, "answer": "kommer_inte"})
    assert bad.status_code == 400 and "Skriv kort varför du inte kan komma." in bad.get_data(True)
    no_csrf = client.post(path, data={"answer": "kommer"})
    assert no_csrf.status_code == 400
    mail_builder.session.refresh(invitation)
    assert invitation.answer is None

    # After the meeting the link has expired.
    meeting_end = mail_builder.session.get_one(Meeting, invitation.meeting_id).ends_at
    clock.set(meeting_end + timedelta(minutes=1))
    expired = client.post(path, data={"csrf_token": token, "answer": "kommer"})
    assert expired.status_code == 410 and "Länken har gått ut" in expired.get_data(True)
    mail_builder.session.refresh(invitation)
    assert invitation.answer is None


def test_outbox_rows_are_written_with_the_transition_and_not_without_it(
    mail_builder: CaseBuilder,
) -> None:
    case = mail_builder.case_in("forbered")
    mail_builder.prepare(case)
    assert mail_builder.session.scalars(select(OutboxMessage)).all() == []
    mail_builder.engine.fire(mail_builder.session, case, "kalla", mail_builder.w.actor)
    mail_builder.session.rollback()  # the request failed after the trigger: nothing is sent
    assert mail_builder.session.scalars(select(OutboxMessage)).all() == []
    mail_builder.fire(case, "kalla")
    rows = mail_builder.session.scalars(select(OutboxMessage)).all()
    assert len(rows) == 3 and {r.status for r in rows} == {OutboxStatus.PENDING}
    assert {r.kind for r in rows} == {"kallelse"}


def test_a_substitute_address_cannot_inject_headers(
    mail_builder: CaseBuilder, client: FlaskClient, notifier: Notifier
) -> None:
    mail_builder.case_in("kalla")
    invitation = mail_builder.session.scalars(select(Invitation)).first()
    assert invitation is not None
    path = _link_path(notifier, invitation)
    page = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    for address in ("a@b.se\r\nBcc: x@y.se", "a b@c.se", "a@b@c.se"):
        response = client.post(
            path,
            data={
                "csrf_token": token,
                "answer": "ersattare",
                "substitute_name": "X",
                "substitute_email": address,
            },
        )
        assert response.status_code == 400, address
    mail_builder.session.refresh(invitation)
    assert invitation.answer is None


def test_a_replaced_substitute_and_a_removed_participant_get_the_meeting_cancelled(
    mail_builder: CaseBuilder, smtp_server: SmtpServer, notifier: Notifier, clock: FixedClock
) -> None:
    from sip_engine.services import answers, participants

    case = mail_builder.case_in("kalla")
    session = mail_builder.session
    _deliver(mail_builder, smtp_server)
    uid = str(_event(_calendar(smtp_server.messages[0])[0])["UID"])
    karin = session.get_one(Participant, _participant_id(mail_builder, "Karin"))
    invitation = session.scalars(
        select(Invitation).where(Invitation.participant_id == karin.id)
    ).one()

    def answer(data: answers.AnswerInput) -> None:
        token = notifier.answer_url(invitation).rsplit("/", 1)[1]
        opened = answers.open_invitation(session, notifier, token, clock.now())
        answers.record_answer(session, notifier, opened, data, clock.now())
        _deliver(mail_builder, smtp_server)

    def new_messages(since: int) -> list[tuple[str, str, str]]:
        found = []
        for message in smtp_server.messages[since:]:
            calendar, _text = _calendar(message)
            found.append(
                (str(message["To"]), str(calendar["METHOD"]), str(_event(calendar)["UID"]))
            )
        return found

    ersattare = answers.Answer.ERSATTARE
    answer(
        answers.AnswerInput(
            ersattare, substitute_name="Eva Vikarie", substitute_email="eva@example.se"
        )
    )
    assert new_messages(3) == [("Eva Vikarie <eva@example.se>", "REQUEST", uid)]

    # Another substitute instead: Eva's calendar entry is cancelled, Nils is invited.
    answer(
        answers.AnswerInput(
            ersattare, substitute_name="Nils Vikarie", substitute_email="nils@example.se"
        )
    )
    assert sorted(new_messages(4)) == [
        ("Eva Vikarie <eva@example.se>", "CANCEL", uid),
        ("Nils Vikarie <nils@example.se>", "REQUEST", uid),
    ]
    # Karin comes herself after all: Nils is told he need not come.
    answer(answers.AnswerInput(answers.Answer.KOMMER))
    assert new_messages(6) == [("Nils Vikarie <nils@example.se>", "CANCEL", uid)]

    # The coordinator removes Omar from the case: he is told too, once.
    omar = session.get_one(Participant, _participant_id(mail_builder, "Omar"))
    participants.remove_participant(
        session, case, mail_builder.w.actor, clock.now(), omar, notifier=notifier
    )
    _deliver(mail_builder, smtp_server)
    assert new_messages(7) == [("Omar Läkare <omar@example.se>", "CANCEL", uid)]

    # Cancelling the meeting reaches those still on it, and nobody twice.
    mail_builder.fire(case, "stall_in", reason="Skolan stänger.")
    _deliver(mail_builder, smtp_server)
    assert sorted(to for to, method, _uid in new_messages(8) if method == "CANCEL") == [
        "Karin Lärare <karin@example.se>",
        "Sara Socionom <sara@example.se>",
    ]
