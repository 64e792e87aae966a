from datetime import timedelta

import pytest
from sqlalchemy import select

from sip_engine.models import CaseEvent, Consent, EventKind
from sip_engine.services import consent
from sip_engine.services.common import ValidationError
from sip_engine.workflow import GuardRefused
from sip_engine.workflow.guards import CONSENT_LAPSED_WAYS_ON

from ..world import CaseBuilder


def test_consent_revoked_midway_stops_the_case_at_once(builder: CaseBuilder) -> None:
    case = builder.case_in("kalla")
    row = builder.session.scalars(select(Consent).where(Consent.case_id == case.id)).one()
    consent.revoke_consent(
        builder.session,
        case,
        builder.w.actor,
        builder.now,
        row,
        reason="Vårdnadshavarna återkallade muntligt.",
    )
    builder.session.commit()
    # The meeting can no longer be held...
    builder.clock.advance(timedelta(days=14))
    with pytest.raises(GuardRefused) as raised:
        builder.engine.fire(builder.session, case, "hall_mote", builder.w.actor)
    builder.session.rollback()
    assert raised.value.reasons == [
        "Samtycket har återkallats; inget giltigt samtycke finns.",
        CONSENT_LAPSED_WAYS_ON,
    ]
    # ...and the coordinator either seeks a new consent or closes the case.
    builder.fire(case, "sok_nytt_samtycke", reason="Nytt samtal med familjen bokas.")
    assert case.state == "forbered"
    history = builder.session.scalars(
        select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
    ).all()
    assert EventKind.CONSENT_REVOKED in history
    builder.fire(case, "avsluta", reason="Samtycke lämnas inte.", reason_code="samtycke_aterkallat")
    assert case.state == "avslutad"


def test_seeking_new_consent_is_refused_while_consent_is_valid(builder: CaseBuilder) -> None:
    case = builder.case_in("kalla")
    with pytest.raises(GuardRefused) as raised:
        builder.engine.fire(builder.session, case, "sok_nytt_samtycke", builder.w.actor, reason="x")
    assert raised.value.reasons == ["Det finns ett giltigt samtycke; ett nytt behöver inte sökas."]


def test_a_consent_must_name_organisations_information_and_givers(builder: CaseBuilder) -> None:
    case = builder.case_in("forbered")
    today = builder.now.date()
    with pytest.raises(ValidationError) as raised:
        consent.record_consent(
            builder.session,
            case,
            builder.w.actor,
            builder.now,
            consent.ConsentInput(
                form=consent.ConsentForm.MUNTLIG,
                organisation_ids=[],
                valid_from=today,
                valid_until=today - timedelta(days=1),
            ),
        )
    assert set(raised.value.errors) == {
        "organisation_ids",
        "information_categories",
        "valid_until",
        "given_by",
    }
    builder.session.rollback()
    assert builder.session.scalars(select(Consent)).all() == []


def test_a_revoked_consent_cannot_be_revoked_twice(builder: CaseBuilder) -> None:
    case = builder.case_in("kalla")
    row = builder.session.scalars(select(Consent)).one()
    consent.revoke_consent(builder.session, case, builder.w.actor, builder.now, row)
    with pytest.raises(ValidationError):
        consent.revoke_consent(builder.session, case, builder.w.actor, builder.now, row)


def test_a_young_person_of_18_consents_alone(builder: CaseBuilder) -> None:
    w = builder.w
    w.child.birth_date = w.child.birth_date.replace(year=2006)
    builder.session.commit()
    case = builder.case_in("forbered")
    builder.prepare(case)  # consent given by the guardians only
    with pytest.raises(GuardRefused) as raised:
        builder.engine.fire(builder.session, case, "kalla", w.actor)
    builder.session.rollback()
    assert raised.value.reasons == ["Den unga är myndig och behöver själv lämna samtycke."]
    today = builder.now.date()
    consent.record_consent(
        builder.session,
        case,
        w.actor,
        builder.now,
        consent.ConsentInput(
            form=consent.ConsentForm.MUNTLIG,
            organisation_ids=[w.unit.id, w.school.id, w.bup.id],
            valid_from=today,
            valid_until=today + timedelta(days=180),
            information_categories=["halsa"],
            given_by_young_person=True,
        ),
    )
    builder.session.commit()
    builder.fire(case, "kalla")
    assert case.state == "kalla"
