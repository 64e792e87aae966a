"""Every (state, trigger) pair the workflow does not allow is refused and changes nothing."""

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sip_engine.models import Case, CaseEvent
from sip_engine.workflow import IllegalTransition, UnknownTrigger, WorkflowRegistry

from ..world import STATES_IN_ORDER, CaseBuilder

SIP = WorkflowRegistry.from_directory().latest("sip")
ILLEGAL_PAIRS = [
    (state, trigger.id)
    for state in STATES_IN_ORDER
    for trigger in SIP.triggers.values()
    if state not in trigger.sources
]


def _snapshot(session: Session, case: Case) -> tuple[object, ...]:
    session.expire_all()
    fresh = session.get_one(Case, case.id)
    events = session.scalar(select(func.count()).where(CaseEvent.case_id == case.id))
    return (fresh.state, fresh.version, fresh.closed_at, events)


def test_the_matrix_is_not_empty() -> None:
    # 6 states × 10 triggers, minus the 15 legal (state, trigger) pairs.
    assert len(ILLEGAL_PAIRS) == 6 * len(SIP.triggers) - sum(
        len(t.sources) for t in SIP.triggers.values()
    )
    assert ("upptack", "kalla") in ILLEGAL_PAIRS
    assert ("avslutad", "avsluta") in ILLEGAL_PAIRS


@pytest.mark.parametrize("state", STATES_IN_ORDER)
def test_illegal_triggers_are_refused_and_leave_the_case_unchanged(
    builder: CaseBuilder, state: str
) -> None:
    case = builder.case_in(state)
    assert case.state == state
    before = _snapshot(builder.session, case)
    illegal = [trigger for s, trigger in ILLEGAL_PAIRS if s == state]
    assert illegal
    for trigger in illegal:
        with pytest.raises(IllegalTransition) as raised:
            builder.engine.fire(
                builder.session, case, trigger, builder.w.actor, reason="test", reason_code="annat"
            )
        builder.session.rollback()
        assert raised.value.trigger == trigger and raised.value.state == state
        assert "kan inte göras i steget" in raised.value.message
        assert _snapshot(builder.session, case) == before


def test_an_unknown_trigger_is_refused(builder: CaseBuilder) -> None:
    case = builder.case_in("upptack")
    with pytest.raises(UnknownTrigger):
        builder.engine.fire(builder.session, case, "to_avslutad", builder.w.actor)
    assert case.state == "upptack"
