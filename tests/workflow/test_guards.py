"""Each guard refuses with its reason in plain Swedish, and a refusal changes nothing."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sip_engine.clock import local_date
from sip_engine.models import Case, CaseEvent, Consent, EventKind, Role, User
from sip_engine.services import cases, meetings, plans
from sip_engine.workflow import Actor, GuardRefused, NotPermitted, ReasonRequired

from ..world import CaseBuilder


def _refusal(builder: CaseBuilder, case: Case, trigger: str, **kwargs: object) -> list[str]:
    version, state = case.version, case.state
    with pytest.raises(GuardRefused) as raised:
        builder.engine.fire(builder.session, case, trigger, builder.w.actor, **kwargs)  # type: ignore[arg-type]
    builder.session.rollback()
    assert (case.state, case.version) == (state, version)
    option = next(
        o for o in builder.engine.options(builder.session, case, builder.w.actor) if o.id == trigger
    )
    assert not option.allowed
    assert list(option.reasons) == raised.value.reasons
    return raised.value.reasons


def test_forbered_needs_two_parties(builder: CaseBuilder) -> None:
    w = builder.w
    case = builder.open()
    case.involved_organisation_ids = [w.unit.id]
    case.raised_by_organisation_id = None
    builder.session.commit()
    assert _refusal(builder, case, "forbered") == [
        "Behovet måste beröra minst två av parterna kommun/socialtjänst, skola och region "
        "(nu: Kommun/socialtjänst)."
    ]
    case.involved_organisation_ids = [w.unit.id, w.vardcentral.id]
    builder.session.commit()
    builder.fire(case, "forbered")
    assert case.state == "forbered"


def test_kalla_lists_everything_missing_at_once(builder: CaseBuilder) -> None:
    case = builder.case_in("forbered")
    reasons = _refusal(builder, case, "kalla")
    assert reasons == [
        "Barnets röst (”Vad är viktigt för dig?”) är inte dokumenterad, "
        "och inte heller skälet till att den saknas.",
        "Inget möte är planerat.",  # two guards need the meeting: said once
        "Deltagare behövs från minst två av parterna kommun/socialtjänst, skola och region "
        "(nu: ingen).",
        "Inget samtycke är registrerat.",
    ]


def test_kalla_needs_consent_for_every_organisation(builder: CaseBuilder) -> None:
    w = builder.w
    case = builder.case_in("forbered")
    builder.add_participants(case)
    builder.give_consent(case, orgs=[w.unit.id, w.school.id])  # BUP missing
    cases.record_child_voice(
        builder.session, case, w.actor, builder.now, voice=None, missing_reason="Barnet är två år."
    )
    builder.session.commit()
    builder.plan_meeting(case)
    assert _refusal(builder, case, "kalla") == [
        "Vårdnadshavaren Maria Testssons samtycke omfattar inte BUP Centrum.",
        "Vårdnadshavaren Jonas Testssons samtycke omfattar inte BUP Centrum.",
    ]


def test_kalla_needs_consent_from_both_guardians(builder: CaseBuilder) -> None:
    w = builder.w
    case = builder.case_in("forbered")
    builder.prepare(case)
    consent_row = builder.session.scalars(select(Consent)).one()
    consent_row.given_by_relative_ids = [w.child.guardians[0].id]
    builder.session.commit()
    assert _refusal(builder, case, "kalla") == [
        "Vårdnadshavaren Jonas Testsson har inte lämnat samtycke."
    ]


def test_kalla_needs_consent_valid_at_the_meeting(builder: CaseBuilder) -> None:
    case = builder.case_in("forbered")
    builder.add_participants(case)
    builder.give_consent(case, days=7)
    cases.record_child_voice(builder.session, case, builder.w.actor, builder.now, voice="Hej")
    builder.session.commit()
    builder.plan_meeting(case, in_days=14)
    assert _refusal(builder, case, "kalla") == [
        "Vid mötet 2026-03-16: Samtycket gäller bara till 2026-03-09, inte 2026-03-16."
    ]


def test_kalla_needs_a_question_and_a_future_time(builder: CaseBuilder) -> None:
    case = builder.case_in("forbered")
    builder.prepare(case)
    meeting = meetings.open_meeting(builder.session, case)
    assert meeting is not None
    meeting.questions = []
    builder.session.commit()
    builder.clock.advance(timedelta(days=15))
    reasons = _refusal(builder, case, "kalla")
    assert "Mötet behöver minst en frågeställning." in reasons
    assert "Mötestiden (2026-03-16 kl. 09:00) har redan passerat; välj en ny tid." in reasons


def test_hall_mote_waits_for_the_meeting_time(builder: CaseBuilder) -> None:
    case = builder.case_in("kalla")
    assert _refusal(builder, case, "hall_mote") == [
        "Mötet börjar 2026-03-16 kl. 09:00; det kan startas tidigast en timme före."
    ]
    builder.clock.set(builder.clock.now() + timedelta(days=14) - timedelta(minutes=30))
    builder.fire(case, "hall_mote")
    assert case.state == "mote"


def test_anta_plan_needs_a_complete_plan(builder: CaseBuilder) -> None:
    case = builder.case_in("mote")
    assert _refusal(builder, case, "anta_plan") == [
        "Närvaron vid mötet är inte registrerad.",
        "Ingen plan är påbörjad för mötet.",  # three guards need the plan: said once
    ]
    plans.save_plan_draft(
        builder.session,
        case,
        builder.w.actor,
        builder.now,
        plans.PlanInput(next_follow_up=local_date(builder.now)),
    )
    builder.session.commit()
    assert _refusal(builder, case, "anta_plan") == [
        "Närvaron vid mötet är inte registrerad.",
        "Planen saknar insatser.",
        "Planen anger inte vilken huvudman som har det övergripande ansvaret.",
        "Planen anger ingen samordningsansvarig.",
        "Datumet för nästa uppföljning måste ligga i framtiden.",
    ]


def test_attendance_must_cover_every_participant(builder: CaseBuilder) -> None:
    case = builder.case_in("mote")
    first = case.active_participants[0]
    meetings.record_attendance(
        builder.session, case, builder.w.actor, builder.now, {first.id: True}
    )
    builder.session.commit()
    reasons = _refusal(builder, case, "anta_plan")
    assert reasons[0] == "Närvaro är inte registrerad för: Karin Lärare, Omar Läkare."


def test_closing_needs_a_reason_and_the_right_person(builder: CaseBuilder) -> None:
    w = builder.w
    case = builder.case_in("forbered")
    with pytest.raises(ReasonRequired):
        builder.engine.fire(builder.session, case, "avsluta", w.actor, reason="  ")
    with pytest.raises(GuardRefused) as no_code:
        builder.engine.fire(builder.session, case, "avsluta", w.actor, reason="Flyttar")
    builder.session.rollback()
    assert no_code.value.reasons == ["Välj ett skäl till att SIP:en avslutas."]
    # The button is offered all the same: the reason is chosen in its form.
    option = next(
        o for o in builder.engine.options(builder.session, case, w.actor) if o.id == "avsluta"
    )
    assert option.allowed and option.requires_reason
    # Another samordnare of the same unit is not this case's coordinator.
    colleague = User(
        username="kollega",
        display_name="Kollega",
        password_hash="x",
        role=Role.SAMORDNARE,
        organisation_id=w.unit.id,
    )
    builder.session.add(colleague)
    builder.session.commit()
    with pytest.raises(GuardRefused) as raised:
        builder.engine.fire(
            builder.session,
            case,
            "avsluta",
            Actor.for_user(colleague),
            reason="Flyttar",
            reason_code="flyttat",
        )
    builder.session.rollback()
    assert raised.value.reasons == [
        "Bara ärendets samordnare, den samordningsansvariga eller enhetens chef kan avsluta."
    ]
    builder.engine.fire(
        builder.session,
        case,
        "avsluta",
        Actor.for_user(w.manager),
        reason="Flyttar till Malmö",
        reason_code="flyttat",
    )
    builder.session.commit()
    assert (case.state, case.close_reason, case.closed_by_id) == (
        "avslutad",
        "flyttat",
        w.manager.id,
    )


def test_samordningsansvarig_participant_may_close(builder: CaseBuilder) -> None:
    """The person the plan in force names closes the case (no participant tag involved)."""
    w = builder.w
    case = builder.following_up(samordningsansvarig="bup")
    builder.engine.fire(
        builder.session,
        case,
        "avsluta",
        Actor.for_user(w.bup_user),
        reason="Familjen vill inte fortsätta",
        reason_code="familjen_avbojer",
    )
    builder.session.commit()
    assert case.state == "avslutad"


def test_roles_and_scope_are_checked(builder: CaseBuilder) -> None:
    w = builder.w
    case = builder.case_in("upptack")
    with pytest.raises(NotPermitted) as other_unit:
        builder.engine.fire(builder.session, case, "forbered", Actor.for_user(w.other_coordinator))
    assert other_unit.value.message == "Du arbetar inte med det här ärendet."
    with pytest.raises(NotPermitted) as wrong_role:
        builder.engine.fire(builder.session, case, "forbered", Actor.for_user(w.bup_user))
    assert wrong_role.value.message == "Din roll får inte göra detta."
    with pytest.raises(NotPermitted):
        builder.engine.fire(builder.session, case, "forbered", Actor.for_user(w.admin))
    options = builder.engine.options(builder.session, case, Actor.for_user(w.other_coordinator))
    assert options and all(not o.allowed for o in options)
    assert case.state == "upptack"


def test_a_refusal_can_be_recorded_in_the_history(builder: CaseBuilder) -> None:
    case = builder.case_in("forbered")
    try:
        builder.engine.fire(builder.session, case, "kalla", builder.w.actor)
    except GuardRefused as error:
        builder.session.rollback()
        builder.engine.record_refusal(builder.session, case, builder.w.actor, error)
        builder.session.commit()
    refused = builder.session.scalars(
        select(CaseEvent).where(CaseEvent.kind == EventKind.TRANSITION_REFUSED)
    ).one()
    assert refused.trigger == "kalla" and refused.from_state == "forbered"
    assert "Inget möte är planerat." in (refused.reason or "")
    assert case.state == "forbered"
    assert (
        builder.session.scalar(
            select(func.count()).where(
                CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.TRANSITION
            )
        )
        == 1
    )
