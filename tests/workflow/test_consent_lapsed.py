"""After a consent is revoked (or runs out) with no valid consent in its place, exactly two
ways on remain in every open state: seek a new consent, or close. The rule lives once, as the
workflow rule ``samtycke_saknas`` in sip.yaml; every other trigger is refused by it."""

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sip_engine.clock import local_date
from sip_engine.models import Case, CaseEvent, Consent, Meeting, OutboxMessage
from sip_engine.notify import KIND_CANCEL
from sip_engine.services import consent, meetings
from sip_engine.workflow import GuardRefused
from sip_engine.workflow.guards import CONSENT_LAPSED_WAYS_ON

from ..world import STATES_IN_ORDER, CaseBuilder

OPEN_STATES = [s for s in STATES_IN_ORDER if s != "avslutad"]
# Seek a new consent, or close. From upptäck, preparing is where consent is sought.
WAYS_ON = {state: {"sok_nytt_samtycke", "avsluta"} for state in OPEN_STATES}
WAYS_ON["upptack"] = {"forbered", "avboj"}


def _case_with_revoked_consent(builder: CaseBuilder, state: str) -> Case:
    """A case in ``state`` whose every consent has been revoked. In ``mote`` the plan is
    complete first, so adopting it is refused by the rule alone."""
    if state == "mote":
        case = builder.open()
        builder.fire(case, "forbered")
        people = builder.prepare(case)
        builder.fire(case, "kalla")
        builder.hold_meeting(case)
        builder.write_plan(case, people)
    else:
        case = builder.case_in(state)
    if state in ("upptack", "forbered"):
        builder.give_consent(case)
    for row in builder.session.scalars(select(Consent).where(Consent.case_id == case.id)):
        consent.revoke_consent(builder.session, case, builder.w.actor, builder.now, row)
    builder.session.commit()
    return case


def _history(builder: CaseBuilder, case: Case) -> int:
    return builder.session.scalar(select(func.count()).where(CaseEvent.case_id == case.id)) or 0


@pytest.mark.parametrize("state", OPEN_STATES)
def test_after_revocation_only_a_new_consent_or_closing_is_offered(
    builder: CaseBuilder, state: str
) -> None:
    case = _case_with_revoked_consent(builder, state)
    assert case.state == state
    options = builder.engine.options(builder.session, case, builder.w.actor)
    assert {o.id for o in options if o.allowed} == WAYS_ON[state]
    others = [o for o in options if o.id not in WAYS_ON[state]]
    for option in others:
        assert option.reasons[-1] == CONSENT_LAPSED_WAYS_ON
    # Firing any other trigger is refused with the reason, and changes nothing.
    for option in others:
        before = (case.state, case.version, _history(builder, case))
        with pytest.raises(GuardRefused) as raised:
            builder.engine.fire(builder.session, case, option.id, builder.w.actor, reason="test")
        builder.session.rollback()
        assert raised.value.reasons == [
            "Samtycket har återkallats; inget giltigt samtycke finns.",
            CONSENT_LAPSED_WAYS_ON,
        ]
        assert (case.state, case.version, _history(builder, case)) == before


def test_the_plan_cannot_be_adopted_after_consent_is_revoked_in_the_meeting(
    builder: CaseBuilder,
) -> None:
    case = _case_with_revoked_consent(builder, "mote")
    with pytest.raises(GuardRefused) as raised:
        builder.engine.fire(builder.session, case, "anta_plan", builder.w.actor)
    builder.session.rollback()
    assert "”Anta planen och gå till uppföljning” går inte ännu" in raised.value.message
    assert CONSENT_LAPSED_WAYS_ON in raised.value.reasons
    assert builder.session.get_one(Case, case.id).state == "mote"


def test_an_expired_consent_leaves_the_same_two_ways(builder: CaseBuilder) -> None:
    case = builder.case_in("folj_upp")
    (row,) = builder.session.scalars(select(Consent)).all()
    builder.clock.advance(timedelta(days=366))  # the consent ran for a year
    options = builder.engine.options(builder.session, case, builder.w.actor)
    assert {o.id for o in options if o.allowed} == {"sok_nytt_samtycke", "avsluta"}
    blocked = next(o for o in options if o.id == "kalla_uppfoljning")
    assert blocked.reasons == (
        f"Samtycket gäller bara till {row.valid_until.isoformat()}, "
        f"inte {local_date(builder.now).isoformat()}.",
        CONSENT_LAPSED_WAYS_ON,
    )


def test_before_any_consent_the_rule_does_not_apply(builder: CaseBuilder) -> None:
    """Preparing a first consent is the ordinary step 2: no "seek a new consent" there."""
    case = builder.case_in("forbered")
    options = {o.id: o for o in builder.engine.options(builder.session, case, builder.w.actor)}
    assert options["sok_nytt_samtycke"].reasons == (
        "Inget samtycke har registrerats ännu; det första registreras under Samtycke.",
    )
    assert CONSENT_LAPSED_WAYS_ON not in options["kalla"].reasons


def test_a_new_consent_opens_the_way_again(mail_builder: CaseBuilder) -> None:
    """Revoked in the meeting: seeking a new consent returns to förbered with the meeting kept
    as held (nobody is told it was cancelled); a new consent lets the case go on."""
    builder = mail_builder
    case = _case_with_revoked_consent(builder, "mote")
    meeting = meetings.open_meeting(builder.session, case)
    assert meeting is not None
    builder.fire(case, "sok_nytt_samtycke", reason="Familjen vill tänka över samtycket.")
    assert case.state == "forbered"
    builder.session.expire_all()
    held = builder.session.get_one(Meeting, meeting.id)
    assert held.held_at is not None and held.cancelled_at is None
    cancels = builder.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == KIND_CANCEL)
    ).all()
    assert cancels == []
    builder.give_consent(case)
    options = {o.id: o for o in builder.engine.options(builder.session, case, builder.w.actor)}
    assert CONSENT_LAPSED_WAYS_ON not in options["kalla"].reasons
    assert not options["sok_nytt_samtycke"].allowed
