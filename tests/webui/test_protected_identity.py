"""Skyddade personuppgifter through the web client: only the case's unit sees the school and
the address; a participant, the printout and the answer link show "Skolan"."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from sip_engine.models import Invitation
from sip_engine.notify import Notifier

from ..protected import ADDRESS, SCHOOL, SECRETS, protected_case_in_kalla
from ..world import CaseBuilder
from .conftest import login


def _assert_outward(page: str) -> None:
    for secret in SECRETS:
        assert secret not in page, secret


def test_the_unit_s_coordinator_sees_school_and_address(
    coordinator_client: FlaskClient, mail_builder: CaseBuilder
) -> None:
    case, _people = protected_case_in_kalla(mail_builder)
    page = coordinator_client.get(f"/arenden/{case.id}").get_data(as_text=True)
    assert ADDRESS in page
    assert f"<dd>{SCHOOL}</dd>" in page  # the child's school
    assert f"Karin Lärare</td><td>{SCHOOL}</td>" in page  # the participant list
    assert f"Hur kan {SCHOOL} anpassa skoldagen?" in page


def test_a_participant_of_another_organisation_sees_skolan(
    client: FlaskClient, mail_builder: CaseBuilder
) -> None:
    case, _people = protected_case_in_kalla(mail_builder)
    login(client, "bup")  # BUP takes part and the consent covers BUP: details are shown
    page = client.get(f"/arenden/{case.id}").get_data(as_text=True)
    assert "Alva Testsson" in page  # the details are there...
    _assert_outward(page)  # ...but not the school or the address
    assert "<dd>Skolan</dd>" in page and "<dd>skyddad adress</dd>" in page
    assert "Karin Lärare</td><td>Skolan</td>" in page
    assert "Väckt av</dt><dd>Skola, Skolan" in page
    assert "Hur kan Skolan anpassa skoldagen?" in page
    for path in ("/", "/mina-moten", f"/arenden/{case.id}/sip-dokument"):
        response = client.get(path)
        assert response.status_code == 200, path
        _assert_outward(response.get_data(as_text=True))


def test_the_printout_shows_skolan_even_for_the_coordinator(
    coordinator_client: FlaskClient, mail_builder: CaseBuilder
) -> None:
    case, people = protected_case_in_kalla(mail_builder)
    mail_builder.hold_meeting(case)
    mail_builder.write_plan(case, people)  # an insats by the school
    page = coordinator_client.get(f"/arenden/{case.id}/sip-dokument").get_data(as_text=True)
    assert "Anpassad studiegång</td><td>Skolan</td>" in page
    assert "Karin Lärare, Skolan" in page
    _assert_outward(page)


def test_the_answer_link_page_shows_skolan(
    client: FlaskClient, mail_builder: CaseBuilder, notifier: Notifier
) -> None:
    protected_case_in_kalla(mail_builder)
    for invitation in mail_builder.session.scalars(select(Invitation)):
        path = notifier.answer_url(invitation).removeprefix("http://127.0.0.1:8000")
        page = client.get(path).get_data(as_text=True)
        assert "Hur kan Skolan anpassa skoldagen?" in page
        # The substitute's organisation is chosen from every organisation: the list names
        # them all and so tells nothing; nothing else on the page may name the school.
        _assert_outward(page.split('id="substitute_organisation_id"')[0])
