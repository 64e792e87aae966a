"""Reopening a closed SIP from the case page: a form with a mandatory reason."""

import re

from flask.testing import FlaskClient
from sqlalchemy import select

from sip_engine.models import Case, CaseEvent, EventKind

from ..world import CaseBuilder
from .conftest import csrf_token


def test_the_coordinator_reopens_a_closed_case_from_its_page(
    coordinator_client: FlaskClient, builder: CaseBuilder
) -> None:
    case = builder.case_in("avslutad")
    path = f"/arenden/{case.id}"
    page = coordinator_client.get(path).get_data(as_text=True)
    form = re.search(
        rf'<form method="post" action="{path}/steg/ateroppna">(.*?)</form>', page, re.S
    )
    assert form is not None, "no reopening form on the closed case's page"
    assert 'name="reason"' in form.group(1) and "required" in form.group(1)
    assert "Återöppna SIP" in form.group(1)

    token = csrf_token(coordinator_client, path)
    # Without a reason nothing changes, and the refusal is explained and recorded.
    response = coordinator_client.post(
        f"{path}/steg/ateroppna", data={"csrf_token": token, "version": case.version}
    )
    assert response.status_code == 303
    page = coordinator_client.get(path).get_data(as_text=True)
    assert "”Återöppna SIP” kräver en motivering." in page
    builder.session.rollback()
    builder.session.expire_all()
    assert builder.session.get_one(Case, case.id).state == "avslutad"

    response = coordinator_client.post(
        f"{path}/steg/ateroppna",
        data={
            "csrf_token": token,
            "version": case.version,
            "reason": "Skolan ser ett nytt behov av samordning.",
        },
    )
    assert response.status_code == 303
    page = coordinator_client.get(path).get_data(as_text=True)
    assert "Klart: ärendet är nu i steget ”Förbered”." in page
    builder.session.rollback()
    builder.session.expire_all()
    reopened = builder.session.get_one(Case, case.id)
    assert (reopened.state, reopened.closed_at) == ("forbered", None)
    event = builder.session.scalars(
        select(CaseEvent).where(
            CaseEvent.case_id == case.id,
            CaseEvent.kind == EventKind.TRANSITION,
            CaseEvent.trigger == "ateroppna",
        )
    ).one()
    assert event.reason == "Skolan ser ett nytt behov av samordning."
    refused = builder.session.scalars(
        select(CaseEvent).where(CaseEvent.kind == EventKind.TRANSITION_REFUSED)
    ).one()
    assert refused.trigger == "ateroppna"
