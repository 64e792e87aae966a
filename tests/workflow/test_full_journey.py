from sqlalchemy import select

from sip_engine.models import CaseEvent, EventKind
from sip_engine.services import plans

from ..world import CaseBuilder


def test_a_case_goes_through_all_six_steps(builder: CaseBuilder) -> None:
    case = builder.case_in("folj_upp")
    assert case.state == "folj_upp"
    builder.fire(case, "avsluta", reason="Målen är nådda.", reason_code="samordning_behovs_inte")
    assert case.state == "avslutad"
    assert case.closed_at == builder.clock.now()
    assert case.close_reason == "samordning_behovs_inte"

    transitions = builder.session.scalars(
        select(CaseEvent)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.TRANSITION)
        .order_by(CaseEvent.id)
    ).all()
    assert [(e.from_state, e.to_state) for e in transitions] == [
        ("upptack", "forbered"),
        ("forbered", "kalla"),
        ("kalla", "mote"),
        ("mote", "folj_upp"),
        ("folj_upp", "avslutad"),
    ]
    assert all(e.workflow_name == "sip" and e.workflow_version == 1 for e in transitions)
    assert all(e.actor_user_id == builder.w.coordinator.id for e in transitions)
    assert transitions[-1].reason == "Målen är nådda."
    adopted = plans.current_plan(builder.session, case)
    assert adopted is not None and adopted.version_no == 1 and adopted.meeting_id is not None


def test_rescheduling_keeps_the_time_in_the_step(builder: CaseBuilder) -> None:
    from datetime import timedelta

    case = builder.case_in("kalla")
    entered = case.state_entered_at
    builder.clock.advance(timedelta(days=2))
    builder.plan_meeting(case, in_days=10)
    assert case.state_entered_at == entered


def test_the_shared_machine_keeps_no_case_after_firing(builder: CaseBuilder) -> None:
    builder.case_in("folj_upp")
    machine = builder.engine.registry.compiled("sip", 1).machine
    assert machine.models == []  # one machine per version; no model kept per case
