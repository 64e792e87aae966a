"""Refusals through the web client reach the history: wrong role, stale version, stale edit."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from sip_engine.models import Case, CaseEvent, EventKind

from ..world import CaseBuilder
from .conftest import csrf_token, login


def _refusals(builder: CaseBuilder, case_id: int) -> list[CaseEvent]:
    builder.session.rollback()
    builder.session.expire_all()
    return list(
        builder.session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id, CaseEvent.kind == EventKind.TRANSITION_REFUSED)
            .order_by(CaseEvent.id)
        )
    )


def test_a_participant_pressing_a_coordinator_s_trigger_is_recorded(
    client: FlaskClient, builder: CaseBuilder
) -> None:
    case = builder.case_in("kalla")  # BUP takes part
    login(client, "bup")
    token = csrf_token(client, f"/arenden/{case.id}")
    response = client.post(
        f"/arenden/{case.id}/steg/stall_in", data={"csrf_token": token, "version": case.version}
    )
    assert response.status_code == 303
    (event,) = _refusals(builder, case.id)
    assert (event.trigger, event.actor_user_id) == ("stall_in", builder.w.bup_user.id)
    assert event.details["error"] == "NotPermitted"
    assert builder.session.get_one(Case, case.id).state == "kalla"


def test_a_stale_trigger_and_a_stale_edit_are_recorded(
    coordinator_client: FlaskClient, builder: CaseBuilder
) -> None:
    case = builder.case_in("upptack")
    stale = case.version - 1
    token = csrf_token(coordinator_client, f"/arenden/{case.id}")
    response = coordinator_client.post(
        f"/arenden/{case.id}/steg/forbered", data={"csrf_token": token, "version": stale}
    )
    assert response.status_code == 303
    response = coordinator_client.post(
        f"/arenden/{case.id}/barnets-rost",
        data={"csrf_token": token, "version": stale, "voice": "Att få spela fotboll."},
    )
    assert response.status_code == 409
    fired, edited = _refusals(builder, case.id)
    assert (fired.trigger, fired.details["error"]) == ("forbered", "CaseConflict")
    assert edited.trigger is None and edited.details == {
        "error": "CaseConflict",
        "action": "cases.child_voice",
    }
    assert edited.actor_user_id == builder.w.coordinator.id
    assert "ändrats av någon annan" in (edited.reason or "")
    assert builder.session.get_one(Case, case.id).child_voice is None
