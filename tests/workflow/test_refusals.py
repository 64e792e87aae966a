"""Every refusal is recorded in the history (actor, trigger, reasons), each reason once; a
conflict's refusal is written after the failed transaction's rollback, so it is kept."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from sip_engine.models import Case, CaseEvent, EventKind
from sip_engine.workflow import (
    Actor,
    CaseConflict,
    GuardRefused,
    NotPermitted,
    WorkflowEngine,
    WorkflowError,
)

from ..world import CaseBuilder


def _refused(session: Session, case_id: int) -> list[CaseEvent]:
    return list(
        session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case_id, CaseEvent.kind == EventKind.TRANSITION_REFUSED)
            .order_by(CaseEvent.id)
        )
    )


def _fire_and_record(
    builder: CaseBuilder, case: Case, trigger: str, actor: Actor, **kwargs: object
) -> WorkflowError:
    """As the entry point does: fire; on refusal roll back, record, commit."""
    with pytest.raises(WorkflowError) as raised:
        builder.engine.fire(builder.session, case, trigger, actor, **kwargs)  # type: ignore[arg-type]
    builder.session.rollback()
    builder.engine.record_refusal(builder.session, case, actor, raised.value)
    builder.session.commit()
    return raised.value


def test_a_wrong_role_refusal_is_recorded_with_actor_trigger_and_reason(
    builder: CaseBuilder,
) -> None:
    case = builder.case_in("upptack")
    bup = Actor.for_user(builder.w.bup_user)
    error = _fire_and_record(builder, case, "forbered", bup)
    assert isinstance(error, NotPermitted)
    (event,) = _refused(builder.session, case.id)
    assert (event.trigger, event.from_state) == ("forbered", "upptack")
    assert (event.actor_user_id, event.actor_organisation_id) == (
        builder.w.bup_user.id,
        builder.w.bup.id,
    )
    assert event.reason == "Din roll får inte göra detta."
    assert event.details["error"] == "NotPermitted"
    assert case.state == "upptack"


def test_a_stale_version_refusal_is_recorded(builder: CaseBuilder) -> None:
    case = builder.case_in("upptack")
    error = _fire_and_record(
        builder, case, "forbered", builder.w.actor, expected_version=case.version - 1
    )
    assert isinstance(error, CaseConflict)
    (event,) = _refused(builder.session, case.id)
    assert event.trigger == "forbered" and event.details["error"] == "CaseConflict"
    assert "ändrats av någon annan" in (event.reason or "")


def test_a_concurrent_conflict_is_recorded_after_the_rollback(
    builder: CaseBuilder, db_engine: Engine, engine_api: WorkflowEngine
) -> None:
    case = builder.case_in("upptack")
    actor = builder.w.actor
    with Session(db_engine) as first, Session(db_engine) as second:
        mine = first.get_one(Case, case.id)
        theirs = second.get_one(Case, case.id)
        engine_api.fire(first, mine, "forbered", actor)
        first.commit()
        with pytest.raises(CaseConflict) as raised:
            engine_api.fire(second, theirs, "avboj", actor, reason="x", reason_code="annat")
        # The failed transaction is rolled back; the refusal goes in a fresh one.
        second.rollback()
        assert (raised.value.trigger, raised.value.state) == ("avboj", "upptack")
        engine_api.record_refusal(second, second.get_one(Case, case.id), actor, raised.value)
        second.commit()
    with Session(db_engine) as check:
        (event,) = _refused(check, case.id)
        assert (event.trigger, event.from_state) == ("avboj", "upptack")
        assert event.actor_user_id == builder.w.coordinator.id
        assert check.get_one(Case, case.id).state == "forbered"


def test_a_guard_refusal_lists_each_reason_once(builder: CaseBuilder) -> None:
    case = builder.case_in("forbered")
    error = _fire_and_record(builder, case, "kalla", builder.w.actor)
    assert isinstance(error, GuardRefused)
    # has_question and meeting_in_future both need the meeting: one text, listed once.
    assert error.reasons.count("Inget möte är planerat.") == 1
    assert len(error.reasons) == len(set(error.reasons)) > 1
    # Several reasons: the message is the heading, the reasons follow it (not repeated in it).
    assert error.message == "”Skicka kallelse” går inte ännu:"
    (event,) = _refused(builder.session, case.id)
    assert (event.reason or "").count("Inget möte är planerat.") == 1
