"""The one consent rule (sip_engine.consent_rules) at the service layer, on both databases:
each guardian's own consent, the young person from 18, the child's view by age, validity,
revocation, exclusions, and the categories that decide what a participant sees."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from sip_engine import consent_rules
from sip_engine.clock import local_date
from sip_engine.consent_rules import CasePart, subject_of
from sip_engine.models import Case, Consent, ConsentForm, Invitation
from sip_engine.services import cases, consent
from sip_engine.services.access import parts_by_case, visible_parts
from sip_engine.services.common import ValidationError
from sip_engine.workflow import Actor
from sip_engine.workflow.errors import GuardRefused

from ..world import CaseBuilder


def _consent(
    builder: CaseBuilder,
    case: Case,
    *,
    guardians: list[int] | None = None,
    orgs: list[int] | None = None,
    categories: list[str] | None = None,
    excluded: list[int] | None = None,
    young_person: bool = False,
    valid_from: date | None = None,
    days: int = 365,
    child_view: str | None = "Vill att de pratar med varandra.",
) -> Consent:
    w, today = builder.w, local_date(builder.now)
    row = consent.record_consent(
        builder.session,
        case,
        w.actor,
        builder.now,
        consent.ConsentInput(
            form=ConsentForm.SKRIFTLIG,
            organisation_ids=orgs or [w.unit.id, w.school.id, w.bup.id],
            valid_from=valid_from or today,
            valid_until=(valid_from or today) + timedelta(days=days),
            information_categories=categories or list(consent.information_categories()),
            given_by_relative_ids=guardians if guardians is not None else [],
            given_by_young_person=young_person,
            child_view=child_view,
            excluded_organisation_ids=excluded or [],
        ),
    )
    builder.session.commit()
    return row


def _verdict(builder: CaseBuilder, case: Case, org_id: int, day: date | None = None):
    consents = list(builder.session.scalars(select(Consent).where(Consent.case_id == case.id)))
    return consent_rules.verdict(
        consents, subject_of(case.child), org_id, "BUP Centrum", day or local_date(builder.now)
    )


def test_two_guardians_consents_are_never_pooled(builder: CaseBuilder) -> None:
    w = builder.w
    case = builder.case_in("forbered")
    maria, jonas = (g.id for g in w.child.guardians)
    _consent(builder, case, guardians=[maria], orgs=[w.unit.id, w.bup.id])
    _consent(builder, case, guardians=[jonas], orgs=[w.unit.id, w.school.id])
    bup = _verdict(builder, case, w.bup.id)
    assert not bup.complete
    assert bup.reasons == ("Vårdnadshavaren Jonas Testssons samtycke omfattar inte BUP Centrum.",)
    assert _verdict(builder, case, w.unit.id).complete
    assert not _verdict(builder, case, w.school.id).complete


def test_kalla_is_refused_when_one_guardian_left_bup_out(builder: CaseBuilder) -> None:
    w = builder.w
    case = builder.case_in("forbered")
    builder.add_participants(case)
    maria, jonas = (g.id for g in w.child.guardians)
    _consent(builder, case, guardians=[maria])  # unit, school and BUP
    _consent(builder, case, guardians=[jonas], orgs=[w.unit.id, w.school.id])
    cases.record_child_voice(builder.session, case, w.actor, builder.now, voice="Hej")
    builder.session.commit()
    builder.plan_meeting(case)
    with pytest.raises(GuardRefused) as refused:
        builder.fire(case, "kalla")
    assert "Vårdnadshavaren Jonas Testssons samtycke omfattar inte BUP Centrum." in (
        refused.value.reasons
    )
    builder.session.rollback()
    assert case.state == "forbered"  # BUP is not called
    assert builder.session.scalars(select(Invitation)).all() == []


def test_from_eighteen_the_young_person_alone_consents(builder: CaseBuilder) -> None:
    w = builder.w
    case = builder.case_in("forbered")
    w.child.birth_date = local_date(builder.now) - timedelta(days=365 * 18 + 10)
    builder.session.commit()
    _consent(builder, case, guardians=[g.id for g in w.child.guardians])
    found = _verdict(builder, case, w.bup.id)
    assert found.reasons == ("Den unga är myndig och behöver själv lämna samtycke.",)
    _consent(builder, case, young_person=True)
    assert _verdict(builder, case, w.bup.id).complete


def test_the_childs_own_view_is_recorded_from_the_configured_age(builder: CaseBuilder) -> None:
    w = builder.w
    case = builder.case_in("forbered")
    age = consent_rules.definition().child_view_from_age
    today = local_date(builder.now)
    w.child.birth_date = date(today.year - age, 1, 1)
    builder.session.commit()
    _consent(builder, case, guardians=[g.id for g in w.child.guardians], child_view=None)
    found = _verdict(builder, case, w.bup.id)
    assert found.reasons == (
        f"Barnets egen syn på samtycket är inte dokumenterad (barnet är {age} år).",
    )
    w.child.birth_date = date(today.year - age + 1, 12, 31)  # younger: not asked
    builder.session.commit()
    assert _verdict(builder, case, w.bup.id).complete


def test_validity_revocation_and_exclusion(builder: CaseBuilder) -> None:
    w = builder.w
    case = builder.case_in("forbered")
    guardians = [g.id for g in w.child.guardians]
    today = local_date(builder.now)
    row = _consent(builder, case, guardians=guardians, days=6)
    assert _verdict(builder, case, w.bup.id).complete
    day_after = today + timedelta(days=7)
    last = (today + timedelta(days=6)).isoformat()
    assert _verdict(builder, case, w.bup.id, day_after).reasons == tuple(
        f"Vårdnadshavaren {name}s samtycke för BUP Centrum gäller bara till {last} (dagen före), "
        f"inte {day_after.isoformat()}."
        for name in ("Maria Testsson", "Jonas Testsson")
    )
    consent.revoke_consent(builder.session, case, w.actor, builder.now, row)
    builder.session.commit()
    assert not _verdict(builder, case, w.bup.id).complete
    # An explicit exclusion wins over a consent of the same giver that names BUP.
    _consent(builder, case, guardians=guardians)
    assert _verdict(builder, case, w.bup.id).complete
    _consent(builder, case, guardians=guardians[:1], orgs=[w.unit.id], excluded=[w.bup.id])
    assert _verdict(builder, case, w.bup.id).reasons == (
        "Vårdnadshavaren Maria Testsson har undantagit BUP Centrum i sitt samtycke.",
    )


def test_a_consent_cannot_both_name_and_exclude_an_organisation(builder: CaseBuilder) -> None:
    w = builder.w
    case = builder.case_in("forbered")
    with pytest.raises(ValidationError) as refused:
        _consent(builder, case, guardians=[w.child.guardians[0].id], excluded=[w.bup.id])
    assert "excluded_organisation_ids" in refused.value.errors
    builder.session.rollback()
    assert builder.session.scalars(select(Consent)).all() == []


def test_categories_decide_the_parts_a_participant_sees(builder: CaseBuilder) -> None:
    w = builder.w
    case = builder.case_in("forbered")
    bup = Actor.for_user(w.bup_user)
    today = local_date(builder.now)
    assert visible_parts(builder.session, case, bup, today) == consent_rules.always()
    _consent(builder, case, guardians=[g.id for g in w.child.guardians], categories=["plan"])
    seen = visible_parts(builder.session, case, bup, today)
    assert {CasePart.CHILD, CasePart.PARTICIPANTS, CasePart.PLAN} <= seen
    assert not {CasePart.NEED, CasePart.FAMILY, CasePart.CHILD_VOICE, CasePart.HEALTH} & seen
    # The case's own unit sees everything, whatever the consent says.
    unit = Actor.for_user(w.coordinator)
    assert parts_by_case(builder.session, [case.id], unit, today) == {
        case.id: consent_rules.everything()
    }
    # Another organisation's participant is not covered.
    nurse = Actor.for_user(w.other_deltagare)
    assert visible_parts(builder.session, case, nurse, today) == consent_rules.always()


def test_every_category_shows_a_part_and_unknown_parts_fail_at_load() -> None:
    rules = consent_rules.definition()
    assert all(c.shows for c in rules.categories.values())
    with pytest.raises(consent_rules.DefinitionError, match="okänd del"):
        consent_rules.parse_definition(
            "age_of_own_consent: 18\nchild_view_from_age: 12\nalways: [reference]\n"
            "with_complete_consent: [child]\ncategories:\n  x: {label: X, shows: [secrets]}\n",
            "test",
        )
