"""Scope on every route: other units, other organisations, admins and consent-limited views."""

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sip_engine.models import AccessLog, Consent

from ..world import CaseBuilder, World
from .conftest import csrf_token, login

CASE_PAGES = [
    "",
    "/sip-dokument",
    "/barnets-rost",
    "/deltagare",
    "/samtycke",
    "/mote",
    "/narvaro",
    "/plan",
]


@pytest.mark.parametrize("username", ["annan.samordnare", "kurator", "admin"])
def test_outsiders_get_404_on_every_case_route(
    client: FlaskClient, builder: CaseBuilder, username: str
) -> None:
    case = builder.case_in("kalla")
    login(client, username)
    for suffix in CASE_PAGES:
        assert client.get(f"/arenden/{case.id}{suffix}").status_code == 404, suffix
    token = csrf_token(client, "/arbetsfloden/sip")
    response = client.post(
        f"/arenden/{case.id}/steg/avsluta",
        data={"csrf_token": token, "reason": "x", "reason_code": "annat"},
    )
    assert response.status_code == 404
    builder.session.expire_all()
    assert case.state == "kalla"


def test_other_units_cases_are_not_listed(client: FlaskClient, builder: CaseBuilder) -> None:
    builder.case_in("upptack")
    login(client, "annan.samordnare")
    page = client.get("/arenden").get_data(as_text=True)
    assert "0 ärenden" in page and "Alva" not in page


def test_admin_has_no_case_list(client: FlaskClient, world: World) -> None:
    login(client, "admin")
    assert client.get("/arenden").status_code == 404
    assert client.get("/").status_code == 302  # to administration
    assert client.get("/admin/anvandare").status_code == 200


def test_non_admins_cannot_reach_administration(client: FlaskClient, world: World) -> None:
    login(client, "chef")
    assert client.get("/admin/anvandare").status_code == 404
    assert client.get("/admin/verksamheter").status_code == 404


def test_a_participant_sees_only_what_consent_allows(
    client: FlaskClient, builder: CaseBuilder, session: Session
) -> None:
    case = builder.case_in("kalla")  # BUP takes part, consent covers BUP
    login(client, "bup")
    page = client.get(f"/arenden/{case.id}").get_data(as_text=True)
    assert "Alva Testsson" in page and "Vad är viktigt för dig?" in page
    assert client.get(f"/arenden/{case.id}/sip-dokument").status_code == 200
    # Edit forms are for the coordinator's unit only.
    assert client.get(f"/arenden/{case.id}/barnets-rost").status_code == 404

    consent = session.scalars(select(Consent)).one()
    consent.organisations = [o for o in consent.organisations if o.name != "BUP Centrum"]
    session.commit()
    page = client.get(f"/arenden/{case.id}").get_data(as_text=True)
    assert "Alva Testsson" not in page and "201503152389" not in page
    assert "Det finns inget fullständigt samtycke för din verksamhet" in page
    assert client.get(f"/arenden/{case.id}/sip-dokument").status_code == 404
    listing = client.get("/arenden").get_data(as_text=True)
    assert case.reference in listing and "Alva" not in listing


def test_case_reads_are_audited(
    coordinator_client: FlaskClient, builder: CaseBuilder, session: Session
) -> None:
    case = builder.case_in("upptack")
    coordinator_client.get(f"/arenden/{case.id}")
    coordinator_client.get(f"/arenden/{case.id}/sip-dokument")
    session.expire_all()
    rows = session.scalars(select(AccessLog).where(AccessLog.case_id == case.id)).all()
    assert [(r.action, r.user_id) for r in rows] == [
        ("case_page", builder.w.coordinator.id),
        ("sip_document", builder.w.coordinator.id),
    ]
