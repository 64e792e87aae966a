"""A substitute named through an answer link from an organisation the consent does not cover
is held for the coordinator: nothing about the meeting reaches them until it is approved, and
approval needs a complete consent for their organisation (the one consent rule)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from sip_engine.clock import FixedClock
from sip_engine.models import Answer, CaseEvent, EventKind, Invitation, Participant
from sip_engine.notify import Notifier
from sip_engine.services import answers
from sip_engine.services.common import ValidationError

from ..smtp import SmtpServer
from ..webui.conftest import csrf_token, login
from ..world import CaseBuilder
from .test_kallelse import _deliver, _participant_id


def _karins_invitation(builder: CaseBuilder) -> Invitation:
    karin_id = _participant_id(builder, "Karin")
    return builder.session.scalars(
        select(Invitation).where(Invitation.participant_id == karin_id)
    ).one()


def _answer_with_substitute(
    builder: CaseBuilder, notifier: Notifier, clock: FixedClock, organisation_id: int
) -> Invitation:
    invitation = _karins_invitation(builder)
    token = notifier.answer_url(invitation).rsplit("/", 1)[1]
    opened = answers.open_invitation(builder.session, notifier, token, clock.now())
    answers.record_answer(
        builder.session,
        notifier,
        opened,
        answers.AnswerInput(
            Answer.ERSATTARE,
            substitute_name="Eva Vikarie",
            substitute_email="eva@example.se",
            substitute_organisation_id=organisation_id,
        ),
        clock.now(),
    )
    builder.session.commit()
    return invitation


def _recipients(smtp_server: SmtpServer, since: int) -> list[str]:
    return [str(m["To"]) for m in smtp_server.messages[since:]]


def test_a_substitute_outside_the_consent_is_held_until_approved(
    mail_builder: CaseBuilder, smtp_server: SmtpServer, notifier: Notifier, clock: FixedClock
) -> None:
    w, session = mail_builder.w, mail_builder.session
    case = mail_builder.case_in("kalla")
    _deliver(mail_builder, smtp_server)
    sent = len(smtp_server.messages)
    # Vårdcentralen is not named by the consent.
    invitation = _answer_with_substitute(mail_builder, notifier, clock, w.vardcentral.id)
    _deliver(mail_builder, smtp_server)
    assert _recipients(smtp_server, sent) == []  # nothing about the meeting reaches Eva
    assert invitation.substitute is None and invitation.substitute_request is not None
    assert session.scalars(select(Participant).where(Participant.name == "Eva Vikarie")).all() == []
    kinds = [e.kind for e in session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id))]
    assert EventKind.SUBSTITUTE_HELD in kinds

    # Approving without a consent for Vårdcentralen is refused and changes nothing.
    with pytest.raises(ValidationError, match="Samtycket omfattar inte ersättarens verksamhet"):
        answers.decide_substitute(
            session, notifier, case, w.actor, clock.now(), invitation, approve=True
        )
    session.rollback()
    assert invitation.substitute_request is not None

    # Both guardians consent to Vårdcentralen too; then the approval sends the kallelse.
    mail_builder.give_consent(case, orgs=[w.unit.id, w.school.id, w.bup.id, w.vardcentral.id])
    answers.decide_substitute(
        session, notifier, case, w.actor, clock.now(), invitation, approve=True
    )
    session.commit()
    _deliver(mail_builder, smtp_server)
    assert _recipients(smtp_server, sent) == ["Eva Vikarie <eva@example.se>"]
    assert invitation.substitute is not None and invitation.substitute_request is None


def test_a_substitute_inside_the_consent_is_invited_at_once(
    mail_builder: CaseBuilder, smtp_server: SmtpServer, notifier: Notifier, clock: FixedClock
) -> None:
    w = mail_builder.w
    mail_builder.case_in("kalla")
    _deliver(mail_builder, smtp_server)
    sent = len(smtp_server.messages)
    invitation = _answer_with_substitute(mail_builder, notifier, clock, w.school.id)
    _deliver(mail_builder, smtp_server)
    assert _recipients(smtp_server, sent) == ["Eva Vikarie <eva@example.se>"]
    assert invitation.substitute_request is None


def test_the_coordinator_rejects_a_held_substitute_on_the_case_page(
    mail_builder: CaseBuilder,
    smtp_server: SmtpServer,
    notifier: Notifier,
    clock: FixedClock,
    client: FlaskClient,
) -> None:
    w = mail_builder.w
    case = mail_builder.case_in("kalla")
    invitation = _answer_with_substitute(mail_builder, notifier, clock, w.vardcentral.id)
    login(client, "samordnare")
    page = client.get(f"/arenden/{case.id}").get_data(as_text=True)
    assert "väntar på godkännande" in page
    path = f"/arenden/{case.id}/ersattare/{invitation.id}"
    assert "Eva Vikarie" in client.get(path).get_data(as_text=True)
    token = csrf_token(client, path)
    # No decision: a form error, nothing changed.
    response = client.post(path, data={"csrf_token": token, "version": case.version})
    assert response.status_code == 400
    response = client.post(
        path, data={"csrf_token": token, "version": case.version, "decision": "avsla"}
    )
    assert response.status_code == 303
    mail_builder.session.refresh(invitation)
    assert invitation.substitute_request is None and invitation.answer is None
    # A participant cannot reach the decision page.
    client.post("/logga-ut", data={"csrf_token": token})
    login(client, "bup")
    assert client.get(path).status_code == 404
