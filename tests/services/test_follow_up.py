from datetime import timedelta

from sip_engine.models import MeetingKind
from sip_engine.services import meetings, plans

from ..world import CaseBuilder


def test_a_follow_up_loop_gives_a_second_plan_version(builder: CaseBuilder) -> None:
    case = builder.case_in("folj_upp")
    first = plans.current_plan(builder.session, case)
    assert first is not None and first.version_no == 1
    first_insatser = [i.description for i in first.insatser]

    builder.clock.advance(timedelta(days=80))
    builder.plan_meeting(case, in_days=7)
    follow_up = meetings.open_meeting(builder.session, case)
    assert follow_up is not None and follow_up.kind is MeetingKind.UPPFOLJNING
    builder.fire(case, "kalla_uppfoljning")
    builder.hold_meeting(case)
    people = {p.organisation.kind if p.organisation else "": p for p in case.active_participants}
    builder.write_plan(case, {"socialtjanst": people["socialtjänst"]})
    draft = plans.draft_plan(builder.session, case)
    assert draft is not None and draft.version_no == 2
    builder.fire(case, "anta_plan")

    versions = plans.plan_versions(builder.session, case)
    assert [v.version_no for v in versions] == [1, 2]
    assert all(v.adopted_at is not None for v in versions)
    assert versions[0].meeting_id != versions[1].meeting_id
    # The earlier version stays readable and unchanged.
    builder.session.expire_all()
    assert [i.description for i in plans.plan_versions(builder.session, case)[0].insatser] == (
        first_insatser
    )
    assert plans.current_plan(builder.session, case).version_no == 2  # type: ignore[union-attr]
    assert case.state == "folj_upp"


def test_rescheduling_raises_the_sequence_and_cancelling_returns_to_forbered(
    builder: CaseBuilder,
) -> None:
    case = builder.case_in("kalla")
    meeting = meetings.open_meeting(builder.session, case)
    assert meeting is not None and meeting.sequence == 0 and meeting.called_at is not None
    builder.plan_meeting(case, in_days=20)  # moved: the form alone tells everyone
    assert meeting.sequence == 1
    assert case.state == "kalla"
    builder.fire(case, "stall_in", reason="Skolan är stängd.")
    assert case.state == "forbered"
    assert meeting.cancelled_at is not None and meeting.sequence == 2
    assert meetings.open_meeting(builder.session, case) is None
