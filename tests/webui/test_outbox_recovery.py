"""Messages that did not arrive: visible on the case page and the start page, resendable by
the case's unit and by the admin (who sees no content), 404 for everyone else."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock
from sip_engine.models import CaseEvent, EventKind, OutboxMessage, OutboxStatus
from sip_engine.services.outbox import LONG_DELAY

from ..world import CaseBuilder
from .conftest import csrf_token, login


def _stuck_case(builder: CaseBuilder, clock: FixedClock) -> tuple[int, list[OutboxMessage]]:
    """A called case with three kallelser: one failed, one pending past LONG_DELAY, one new."""
    case = builder.case_in("kalla")
    messages = list(
        builder.session.scalars(
            select(OutboxMessage).where(OutboxMessage.case_id == case.id).order_by(OutboxMessage.id)
        )
    )
    assert len(messages) == 3
    failed, delayed, fresh = messages
    failed.status, failed.attempts = OutboxStatus.FAILED, 10
    failed.last_error = "SMTPRecipientsRefused 550"
    delayed.created_at = clock.now() - LONG_DELAY - timedelta(minutes=1)
    delayed.attempts, delayed.last_error = 3, "ConnectionRefusedError"
    fresh.created_at = clock.now() - LONG_DELAY + timedelta(minutes=1)
    builder.session.commit()
    return case.id, messages


def _fresh(session: Session) -> None:
    """End the test's read transaction and forget what it loaded: read what the web wrote."""
    session.rollback()
    session.expire_all()


def _resend(client: FlaskClient, case_id: int, message_id: int, *, token: bool = True) -> int:
    data = {"csrf_token": csrf_token(client, "/")} if token else {}
    return client.post(
        f"/arenden/{case_id}/meddelanden/{message_id}/skicka-om", data=data
    ).status_code


def test_failed_and_delayed_messages_stand_out_on_the_case_and_start_page(
    client: FlaskClient, mail_builder: CaseBuilder, clock: FixedClock
) -> None:
    case_id, (failed, _delayed, _new) = _stuck_case(mail_builder, clock)
    login(client, "samordnare")
    page = client.get(f"/arenden/{case_id}").get_data(as_text=True)
    assert "2 meddelanden har inte kommit fram." in page
    assert "Misslyckades: SMTPRecipientsRefused 550" in page
    assert "Försenat (3 försök, ConnectionRefusedError)" in page
    assert page.count('class="row-warn"') == 2
    # One resend button: for the failed message only.
    assert page.count("/meddelanden/") == 1
    assert f"/meddelanden/{failed.id}/skicka-om" in page

    start = client.get("/").get_data(as_text=True)
    section = start.split('id="stuck-messages"')[1].split("</section>")[0]
    assert section.count(f'href="/arenden/{case_id}#messages-title"') == 2
    assert "misslyckades" in section and "försenat" in section and "Kallelse" in section
    # The start page names the case, not the recipient or the content.
    assert failed.to_address not in section and failed.subject not in section

    for outsider in ("annan.samordnare", "bup", "kurator"):
        login(client, outsider)
        assert "Meddelanden som inte kommit fram" not in client.get("/").get_data(as_text=True)


def test_the_coordinator_resends_a_failed_message_once_and_it_is_in_the_history(
    client: FlaskClient, mail_builder: CaseBuilder, clock: FixedClock
) -> None:
    case_id, (failed, delayed, _new) = _stuck_case(mail_builder, clock)
    session = mail_builder.session
    login(client, "samordnare")
    assert _resend(client, case_id, failed.id, token=False) == 400  # CSRF
    _fresh(session)
    assert session.get_one(OutboxMessage, failed.id).status is OutboxStatus.FAILED

    assert _resend(client, case_id, failed.id) == 303
    _fresh(session)
    row = session.get_one(OutboxMessage, failed.id)
    assert row.status is OutboxStatus.PENDING and row.attempts == 0
    assert row.next_attempt_at == clock.now() and row.last_error is None
    events = list(
        session.scalars(select(CaseEvent).where(CaseEvent.kind == EventKind.MESSAGE_RESENT))
    )
    assert len(events) == 1 and events[0].case_id == case_id
    assert events[0].details["message_id"] == failed.id
    assert events[0].details["previous_error"] == "SMTPRecipientsRefused 550"
    page = client.get(f"/arenden/{case_id}").get_data(as_text=True)
    assert "Meddelandet skickas om." in page and "Meddelande skickades om" in page

    # Pressed again (now pending), or on a message still being tried: refused, unchanged.
    for message_id in (failed.id, delayed.id):
        assert _resend(client, case_id, message_id) == 303
        page = client.get(f"/arenden/{case_id}").get_data(as_text=True)
        assert "Meddelandet väntar redan på att skickas." in page
    # A sent message is never sent again.
    _fresh(session)
    row = session.get_one(OutboxMessage, failed.id)
    row.status, row.sent_at = OutboxStatus.SENT, clock.now()
    session.commit()
    assert _resend(client, case_id, failed.id) == 303
    assert "Meddelandet är redan skickat" in client.get(f"/arenden/{case_id}").get_data(
        as_text=True
    )
    _fresh(session)
    assert session.get_one(OutboxMessage, failed.id).status is OutboxStatus.SENT
    assert (
        len(
            list(
                session.scalars(select(CaseEvent).where(CaseEvent.kind == EventKind.MESSAGE_RESENT))
            )
        )
        == 1
    )


def test_outsiders_get_404_and_change_nothing(
    client: FlaskClient, mail_builder: CaseBuilder, clock: FixedClock
) -> None:
    case_id, (failed, *_rest) = _stuck_case(mail_builder, clock)
    other = mail_builder.case_in("upptack")
    for outsider in ("annan.samordnare", "bup", "kurator"):
        login(client, outsider)
        assert _resend(client, case_id, failed.id) == 404
        assert client.get("/admin/meddelanden").status_code == 404
    login(client, "samordnare")
    # A message id under another case of one's own unit is not that case's message.
    assert _resend(client, other.id, failed.id) == 404
    assert _resend(client, case_id, 999_999) == 404
    _fresh(mail_builder.session)
    row = mail_builder.session.get_one(OutboxMessage, failed.id)
    assert row.status is OutboxStatus.FAILED and row.attempts == 10


def test_the_admin_resends_without_seeing_content(
    client: FlaskClient, mail_builder: CaseBuilder, clock: FixedClock
) -> None:
    case_id, (failed, delayed, _new) = _stuck_case(mail_builder, clock)
    second = mail_builder.case_in("kalla")
    other_failed = mail_builder.session.scalars(
        select(OutboxMessage).where(OutboxMessage.case_id == second.id)
    ).first()
    assert other_failed is not None
    other_failed.status, other_failed.last_error = OutboxStatus.FAILED, "SMTPDataError 554"
    mail_builder.session.commit()
    case_reference = second.reference

    login(client, "admin")
    assert client.get(f"/arenden/{case_id}").status_code == 404  # still no case scope
    response = client.get("/admin/meddelanden")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert case_reference in page and "SMTPRecipientsRefused 550" in page
    assert "SMTPDataError 554" in page and "Kallelse" in page
    for message in (failed, other_failed, delayed):
        assert message.to_address not in page
        assert message.subject not in page
        assert message.body_text.splitlines()[0] not in page
        assert (message.to_name or "@@") not in page
    assert "Alva" not in page and "Testsson" not in page
    assert "/svar/" not in page

    token = csrf_token(client, "/admin/meddelanden")
    one = client.post(
        "/admin/meddelanden/skicka-om", data={"csrf_token": token, "message_id": failed.id}
    )
    assert one.status_code == 303
    _fresh(mail_builder.session)
    assert mail_builder.session.get_one(OutboxMessage, failed.id).status is OutboxStatus.PENDING
    assert (
        mail_builder.session.get_one(OutboxMessage, other_failed.id).status is OutboxStatus.FAILED
    )
    everything = client.post("/admin/meddelanden/skicka-om", data={"csrf_token": token})
    assert everything.status_code == 303
    _fresh(mail_builder.session)
    row = mail_builder.session.get_one(OutboxMessage, other_failed.id)
    assert row.status is OutboxStatus.PENDING and row.attempts == 0
    assert "1 meddelanden skickas om." in client.get("/admin/meddelanden").get_data(as_text=True)
    events = mail_builder.session.scalars(
        select(CaseEvent).where(CaseEvent.kind == EventKind.MESSAGE_RESENT)
    ).all()
    assert {e.case_id for e in events} == {case_id, second.id}
    assert all(e.actor_label == "Admin" for e in events)
    # A message that was not failed is not the admin's to resend either.
    bad = client.post(
        "/admin/meddelanden/skicka-om", data={"csrf_token": token, "message_id": delayed.id}
    )
    assert bad.status_code == 303
    assert "väntar redan" in client.get("/admin/meddelanden").get_data(as_text=True)
    assert (
        client.post(
            "/admin/meddelanden/skicka-om", data={"csrf_token": token, "message_id": 999_999}
        ).status_code
        == 404
    )


def test_healthz_reports_the_outbox_without_personal_data(
    client: FlaskClient, mail_builder: CaseBuilder, clock: FixedClock
) -> None:
    assert client.get("/healthz").get_json()["outbox"] == {
        "oldest_pending_seconds": None,
        "failed": 0,
    }
    _case_id, (failed, _delayed, _new) = _stuck_case(mail_builder, clock)
    response = client.get("/healthz")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    outbox = response.get_json()["outbox"]
    assert outbox == {
        "oldest_pending_seconds": int((LONG_DELAY + timedelta(minutes=1)).total_seconds()),
        "failed": 1,
    }
    assert failed.to_address not in body and "Kallelse" not in body
