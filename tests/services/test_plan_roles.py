"""The plan's roles: huvudansvar is held by a huvudman (kommun, region, skola in VG), the
samordningsansvarig is a professional of a huvudman; and the plan in force is the one source
of truth for who the samordningsansvarig is (closing, reminders and the case page read it)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from sip_engine.clock import local_date
from sip_engine.models import (
    Case,
    Participant,
    PlanVersion,
    Reminder,
    ReminderStatus,
    samordningsansvarig_of,
)
from sip_engine.services import participants, plans
from sip_engine.services.common import ValidationError
from sip_engine.workflow import Actor, GuardRefused

from ..world import CaseBuilder


def _in_the_meeting(builder: CaseBuilder) -> tuple[Case, dict[str, Participant]]:
    case = builder.open()
    builder.fire(case, "forbered")
    people = builder.prepare(case)
    builder.fire(case, "kalla")
    builder.hold_meeting(case)
    return case, people


def _draft(builder: CaseBuilder, case: Case, **roles: int | None) -> PlanVersion:
    w = builder.w
    plan = plans.save_plan_draft(
        builder.session,
        case,
        w.actor,
        builder.now,
        plans.PlanInput(
            insatser=[plans.InsatsInput("Samtalskontakt", w.bup.id)],
            next_follow_up=local_date(builder.now) + timedelta(days=60),
            **roles,  # type: ignore[arg-type]
        ),
    )
    builder.session.commit()
    return plan


def _no_plan(builder: CaseBuilder, case: Case) -> bool:
    builder.session.rollback()
    return not builder.session.scalars(
        select(PlanVersion).where(PlanVersion.case_id == case.id)
    ).all()


def test_huvudansvar_is_held_by_a_huvudman_never_forsakringskassan(
    builder: CaseBuilder,
) -> None:
    w = builder.w
    case, _people = _in_the_meeting(builder)
    with pytest.raises(ValidationError) as raised:
        _draft(builder, case, lead_organisation_id=w.forsakringskassan.id)
    assert raised.value.errors == {
        "lead_organisation_id": "Försäkringskassan Göteborg är inte en huvudman: huvudansvaret "
        "ligger hos kommunen, regionen eller skolan."
    }
    assert _no_plan(builder, case)
    # The school is a huvudman in VG.
    plan = _draft(builder, case, lead_organisation_id=w.school.id)
    assert plan.lead_organisation_id == w.school.id


def test_samordningsansvarig_is_a_professional_of_a_huvudman(builder: CaseBuilder) -> None:
    w = builder.w
    case, people = _in_the_meeting(builder)
    guardian = participants.add_participant(
        builder.session,
        case,
        w.actor,
        builder.now,
        relative_id=w.child.guardians[0].id,
        workflow=builder.engine,
    )
    handlaggare = participants.add_participant(
        builder.session,
        case,
        w.actor,
        builder.now,
        organisation_id=w.forsakringskassan.id,
        name="Fia Handläggare",
        workflow=builder.engine,
    )
    builder.session.commit()
    for participant, expected in [
        (
            guardian,
            "Maria Testsson deltar som familj; samordningsansvarig är en yrkesperson hos en "
            "huvudman.",
        ),
        (
            handlaggare,
            "Fia Handläggare företräder Försäkringskassan Göteborg, som inte är en huvudman; "
            "samordningsansvarig är en yrkesperson hos kommunen, regionen eller skolan.",
        ),
    ]:
        with pytest.raises(ValidationError) as raised:
            _draft(builder, case, samordningsansvarig_participant_id=participant.id)
        assert raised.value.errors == {"samordningsansvarig_participant_id": expected}
        assert _no_plan(builder, case)
    plan = _draft(builder, case, samordningsansvarig_participant_id=people["skola"].id)
    assert plan.samordningsansvarig_participant_id == people["skola"].id


def test_adopting_holds_the_same_rule(builder: CaseBuilder) -> None:
    """What reached the draft by another way, or changed since, is refused at adoption."""
    w = builder.w
    case, people = _in_the_meeting(builder)
    builder.write_plan(case, people, samordningsansvarig="bup")
    plan = plans.draft_plan(builder.session, case)
    assert plan is not None
    plan.lead_organisation_id = w.forsakringskassan.id  # not through the service
    participants.remove_participant(builder.session, case, w.actor, builder.now, people["bup"])
    builder.session.commit()
    builder.session.expire_all()
    with pytest.raises(GuardRefused) as raised:
        builder.engine.fire(builder.session, case, "anta_plan", w.actor)
    builder.session.rollback()
    assert raised.value.reasons == [
        "Försäkringskassan Göteborg är inte en huvudman: huvudansvaret ligger hos kommunen, "
        "regionen eller skolan.",
        "Omar Läkare, som planen anger som samordningsansvarig, deltar inte längre.",
    ]
    assert builder.session.get_one(Case, case.id).state == "mote"


def test_samordningsansvarig_is_not_a_participant_tag(builder: CaseBuilder) -> None:
    w = builder.w
    case = builder.case_in("forbered")
    with pytest.raises(ValidationError) as raised:
        participants.add_participant(
            builder.session,
            case,
            w.actor,
            builder.now,
            professional_id=w.bup_doctor.id,
            roles=["samordningsansvarig"],
        )
    assert raised.value.errors == {"roles": "Okänd funktion: samordningsansvarig."}


def _close_as(builder: CaseBuilder, case: Case, actor: Actor) -> None:
    builder.engine.fire(
        builder.session,
        case,
        "avsluta",
        actor,
        reason="Familjen vill inte fortsätta.",
        reason_code="familjen_avbojer",
    )


def _reminded(builder: CaseBuilder, case: Case) -> set[int | None]:
    return set(
        builder.session.scalars(
            select(Reminder.participant_id).where(
                Reminder.case_id == case.id,
                Reminder.recipient == "samordningsansvarig",
                Reminder.status == ReminderStatus.PENDING,
            )
        )
    )


def test_the_plan_in_force_names_the_one_samordningsansvarig(builder: CaseBuilder) -> None:
    """A draft names nobody yet; the plan in force does, for closing and the reminders alike;
    a new version moves both to the person it names."""
    w = builder.w
    bup_user = Actor.for_user(w.bup_user)
    case, people = _in_the_meeting(builder)
    builder.write_plan(case, people, samordningsansvarig="bup")
    assert samordningsansvarig_of(builder.session, case.id) is None
    with pytest.raises(GuardRefused) as raised:
        _close_as(builder, case, bup_user)
    builder.session.rollback()
    assert raised.value.reasons == [
        "Bara ärendets samordnare, den samordningsansvariga eller enhetens chef kan avsluta."
    ]

    builder.fire(case, "anta_plan")
    named = samordningsansvarig_of(builder.session, case.id)
    assert named is not None and named.id == people["bup"].id
    assert _reminded(builder, case) == {people["bup"].id}

    # A follow-up meeting adopts a new version naming the social worker instead.
    builder.plan_meeting(case)
    builder.fire(case, "kalla_uppfoljning")
    builder.hold_meeting(case)
    builder.write_plan(case, people, samordningsansvarig="socialtjanst")
    builder.fire(case, "anta_plan")
    named = samordningsansvarig_of(builder.session, case.id)
    assert named is not None and named.id == people["socialtjanst"].id
    assert _reminded(builder, case) == {people["socialtjanst"].id}
    with pytest.raises(GuardRefused):
        _close_as(builder, case, bup_user)
    builder.session.rollback()
    assert builder.session.get_one(Case, case.id).state == "folj_upp"
