"""The flash after a kallelse, a change of a called meeting and a cancellation says what was
sent to how many (issue 13: nothing about mail happens silently)."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient

from sip_engine.clock import STOCKHOLM
from sip_engine.models import Case
from sip_engine.services import meetings

from ..world import CaseBuilder
from .conftest import csrf_token


def _page(client: FlaskClient, case: Case) -> str:
    return client.get(f"/arenden/{case.id}").get_data(as_text=True)


def test_the_flash_says_what_was_sent_to_how_many(
    coordinator_client: FlaskClient, builder: CaseBuilder
) -> None:
    client, session = coordinator_client, builder.session
    case = builder.case_in("forbered")
    builder.prepare(case)  # three participants with e-mail, consent, a meeting
    token = csrf_token(client, f"/arenden/{case.id}")
    response = client.post(
        f"/arenden/{case.id}/steg/kalla", data={"csrf_token": token, "version": case.version}
    )
    assert response.status_code == 303
    assert "Kallelse skickas till 3 deltagare." in _page(client, case)

    # Moving the called meeting through its form sends the update to the same three.
    session.rollback()
    session.expire_all()
    case = session.get_one(Case, case.id)
    meeting = meetings.open_meeting(session, case)
    assert meeting is not None
    starts = (meeting.starts_at + timedelta(days=1)).astimezone(STOCKHOLM)
    response = client.post(
        f"/arenden/{case.id}/mote",
        data={
            "csrf_token": token,
            "version": case.version,
            "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
            "duration": "90",
            "format": "pa_plats",
            "location": "Stadsdelshuset, rum 3",
            "questions": "Hur får Alva en fungerande skolgång?",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)[:2000]
    assert "En uppdaterad kallelse skickas till 3 deltagare." in _page(client, case)

    session.rollback()
    session.expire_all()
    case = session.get_one(Case, case.id)
    response = client.post(
        f"/arenden/{case.id}/steg/stall_in",
        data={"csrf_token": token, "version": case.version, "reason": "Skolan stänger."},
    )
    assert response.status_code == 303
    assert "Inställelse skickas till 3 deltagare." in _page(client, case)
