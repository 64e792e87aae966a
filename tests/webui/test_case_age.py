"""Opening a case for someone older than the target group (0–20 years) on the page: a warning
at a confirmation box, and the case opens only when it is ticked."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sip_engine.models import Case

from ..world import World
from .conftest import csrf_token
from .test_case_pages import _new_case_form

TWENTY_TWO = "20040120-2387"  # 22 years old on 2026-03-02


def test_a_case_for_someone_over_20_needs_the_coordinators_confirmation(
    coordinator_client: FlaskClient, world: World, session: Session
) -> None:
    token = csrf_token(coordinator_client, "/arenden/nytt")
    form = _new_case_form(world, token, identity_number=TWENTY_TWO, reasons=["overgang_vuxen"])
    response = coordinator_client.post("/arenden/nytt", data=form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert (
        '<p class="field-error" id="confirm_age-error">Den unga är 22 år. SIP för barn och '
        "unga gäller 0–20 år; den som har fyllt 21 hör normalt till vuxenspåret. Bekräfta att "
        "ärendet ändå ska öppnas här.</p>" in page
    )
    assert 'id="confirm_age" name="confirm_age"' in page and 'value="Nils"' in page
    assert session.scalars(select(Case)).all() == []

    response = coordinator_client.post("/arenden/nytt", data={**form, "confirm_age": "1"})
    assert response.status_code == 302
    session.rollback()
    case = session.scalars(select(Case)).one()
    assert case.child.identity_number == "200401202387"


def test_a_child_gets_no_age_question(
    coordinator_client: FlaskClient, world: World, session: Session
) -> None:
    page = coordinator_client.get("/arenden/nytt").get_data(as_text=True)
    assert "confirm_age" not in page
