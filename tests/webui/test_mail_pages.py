"""Answers on the case page, the message log, Mina möten and the local mail view."""

from flask.testing import FlaskClient
from sqlalchemy import select

from sip_engine.models import Answer, Invitation, OutboxMessage, OutboxStatus

from ..world import CaseBuilder
from .conftest import login


def test_case_page_shows_answers_and_the_message_log(
    coordinator_client: FlaskClient, mail_builder: CaseBuilder
) -> None:
    case = mail_builder.case_in("kalla")
    invitations = mail_builder.session.scalars(select(Invitation).order_by(Invitation.id)).all()
    invitations[0].answer, invitations[0].answered_sequence = Answer.KOMMER, 0
    invitations[1].answer, invitations[1].answered_sequence = Answer.KOMMER_INTE, 0
    invitations[1].answer_reason = "Sjuk"
    mail_builder.session.commit()
    page = coordinator_client.get(f"/arenden/{case.id}").get_data(as_text=True)
    assert "Svar på kallelsen" in page
    assert page.count(">Kommer</span>") == 1 and "Kommer inte</span> Sjuk" in page
    assert "Har inte svarat" in page
    assert page.count("Kallelse till SIP-möte") == 3 and "Väntar" in page


def test_mina_moten_lists_a_professionals_invitations(
    client: FlaskClient, mail_builder: CaseBuilder
) -> None:
    case = mail_builder.case_in("kalla")
    login(client, "bup")  # Omar Läkare at BUP takes part
    page = client.get("/mina-moten").get_data(as_text=True)
    assert case.reference in page and "Inte svarat" in page
    answer_path = page.split('href="/svar/')[1].split('"')[0]
    assert client.get(f"/svar/{answer_path}").status_code == 200
    login(client, "kurator")  # takes part in nothing
    assert "Du har inga kommande möten." in client.get("/mina-moten").get_data(as_text=True)


def test_local_mail_view_shows_the_unit_s_messages_only(
    client: FlaskClient, mail_builder: CaseBuilder
) -> None:
    mail_builder.case_in("kalla")
    login(client, "samordnare")
    page = client.get("/post").get_data(as_text=True)
    assert page.count("Kallelse till SIP-möte") == 3 and "/svar/" in page
    login(client, "annan.samordnare")
    assert "Inga meddelanden." in client.get("/post").get_data(as_text=True)
    login(client, "bup")
    assert client.get("/post").status_code == 404
    assert len(mail_builder.session.scalars(select(OutboxMessage)).all()) == 3


def test_local_mail_view_shows_the_admin_no_message_only_counts(
    client: FlaskClient, mail_builder: CaseBuilder
) -> None:
    """The admin has no case in scope: no subject, recipient, body or answer link reaches
    them, only how many messages wait, went out or failed."""
    case = mail_builder.case_in("kalla")
    messages = mail_builder.session.scalars(select(OutboxMessage)).all()
    messages[0].status = OutboxStatus.SENT
    mail_builder.session.commit()
    login(client, "admin")
    response = client.get("/post")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "/svar/" not in page and "Kallelse till SIP-möte" not in page
    assert case.reference not in page
    for message in messages:
        assert message.to_address not in page
        assert message.body_text.splitlines()[0] not in page
    facts = page.split('<dl class="facts">')[1].split("</dl>")[0]
    assert "<dt>Väntar</dt><dd>2</dd>" in facts and "<dt>Skickade</dt><dd>1</dd>" in facts
    assert "<dt>Misslyckade</dt><dd>0</dd>" in facts
    # A coordinator of the case's unit still reads the messages themselves.
    login(client, "chef")
    page = client.get("/post").get_data(as_text=True)
    assert page.count("Kallelse till SIP-möte") == 3 and "/svar/" in page


def test_escalations_appear_under_needs_attention(
    coordinator_client: FlaskClient, mail_builder: CaseBuilder, db_engine, notifier, registry
) -> None:
    from datetime import timedelta

    from sip_engine.db import make_session_factory
    from sip_engine.scheduler import ReminderSweeper

    case = mail_builder.open()
    page = coordinator_client.get("/").get_data(as_text=True)
    assert "Eskalerad av schemaläggaren" not in page
    mail_builder.clock.advance(timedelta(days=10))
    ReminderSweeper(
        make_session_factory(db_engine),
        notifier,
        mail_builder.clock,
        registry,
        base_url="http://sip.test",
    ).sweep()
    page = coordinator_client.get("/").get_data(as_text=True)
    assert case.reference in page and "Eskalerad av schemaläggaren" in page
    listing = coordinator_client.get("/arenden?attention=1").get_data(as_text=True)
    assert case.reference in listing
    # Handled: the case moves on, and the escalation no longer counts.
    mail_builder.fire(case, "forbered")
    page = coordinator_client.get("/").get_data(as_text=True)
    assert "Eskalerad av schemaläggaren" not in page
