"""A closed SIP can be reopened by its unit's coordinator or chef, with a reason that goes to
the history; it opens again in förbered and can be changed and closed again."""

import pytest
from sqlalchemy import select

from sip_engine.models import Case, CaseEvent, EventKind
from sip_engine.services import cases
from sip_engine.workflow import Actor, NotPermitted, ReasonRequired

from ..world import CaseBuilder

REASON = "Familjen har flyttat tillbaka och vill ha samordning igen."


def _closed(builder: CaseBuilder) -> Case:
    case = builder.case_in("folj_upp")
    builder.fire(case, "avsluta", reason="Flyttar till Malmö.", reason_code="flyttat")
    assert case.closed_at is not None
    return case


def _transitions(builder: CaseBuilder, case: Case) -> list[tuple[str | None, str | None]]:
    return [
        (e.trigger, e.reason)
        for e in builder.session.scalars(
            select(CaseEvent)
            .where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.TRANSITION)
            .order_by(CaseEvent.id)
        )
    ]


@pytest.mark.parametrize("who", ["coordinator", "manager"])
def test_the_units_coordinator_or_chef_reopens_with_a_reason(
    builder: CaseBuilder, who: str
) -> None:
    case = _closed(builder)
    actor = Actor.for_user(getattr(builder.w, who))
    builder.engine.fire(builder.session, case, "ateroppna", actor, reason=REASON)
    builder.session.commit()
    builder.session.expire_all()
    case = builder.session.get_one(Case, case.id)
    assert case.state == "forbered"
    assert (case.closed_at, case.close_reason, case.close_note, case.closed_by_id) == (
        None,
        None,
        None,
        None,
    )
    # Both the close and the reopening stay in the history, each with its reason.
    assert _transitions(builder, case)[-2:] == [
        ("avsluta", "Flyttar till Malmö."),
        ("ateroppna", REASON),
    ]
    reopened = builder.session.scalars(
        select(CaseEvent).where(CaseEvent.trigger == "ateroppna")
    ).one()
    assert (reopened.from_state, reopened.to_state, reopened.actor_user_id) == (
        "avslutad",
        "forbered",
        actor.user_id,
    )
    # The case can be worked on again.
    cases.record_child_voice(
        builder.session, case, builder.w.actor, builder.now, voice="Jag vill ha hjälp igen."
    )
    builder.session.commit()


def test_reopening_needs_a_reason(builder: CaseBuilder) -> None:
    case = _closed(builder)
    with pytest.raises(ReasonRequired) as raised:
        builder.engine.fire(builder.session, case, "ateroppna", builder.w.actor, reason="  ")
    assert raised.value.message == "”Återöppna SIP” kräver en motivering."
    builder.session.rollback()
    assert builder.session.get_one(Case, case.id).state == "avslutad"


def test_only_the_units_coordinators_and_chef_reopen(builder: CaseBuilder) -> None:
    w = builder.w
    case = _closed(builder)
    for user, message in [
        (w.other_coordinator, "Du arbetar inte med det här ärendet."),  # another unit
        (w.bup_user, "Din roll får inte göra detta."),  # a participant
        (w.admin, "Din roll får inte göra detta."),
    ]:
        with pytest.raises(NotPermitted) as raised:
            builder.engine.fire(
                builder.session, case, "ateroppna", Actor.for_user(user), reason=REASON
            )
        builder.session.rollback()
        assert raised.value.message == message
    assert builder.session.get_one(Case, case.id).state == "avslutad"
    options = builder.engine.options(builder.session, case, Actor.for_user(w.manager))
    assert [(o.id, o.allowed, o.requires_reason) for o in options] == [("ateroppna", True, True)]


def test_a_case_declined_in_upptack_reopens_only_if_the_need_spans_two_parties(
    builder: CaseBuilder,
) -> None:
    """Reopening lands in förbered, so it asks what entering förbered asks."""
    case = builder.case_in("avslutad")  # declined in upptäck
    case.involved_organisation_ids = []
    case.raised_by_organisation_id = None
    builder.session.commit()
    options = builder.engine.options(builder.session, case, builder.w.actor)
    assert [(o.id, o.allowed) for o in options] == [("ateroppna", False)]
    assert options[0].reasons[0].startswith("Behovet måste beröra minst två av parterna")
