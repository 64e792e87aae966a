"""Two coordinators editing the same case: the second gets a conflict, nothing is overwritten."""

from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from sip_engine.models import Case, MeetingFormat, OutboxMessage
from sip_engine.services import cases, meetings
from sip_engine.workflow import CaseConflict, WorkflowEngine

from ..world import CaseBuilder


def test_two_concurrent_edits_the_second_gets_a_conflict(
    builder: CaseBuilder, db_engine: Engine
) -> None:
    case = builder.case_in("forbered")
    actor, now = builder.w.actor, builder.now
    with Session(db_engine) as first, Session(db_engine) as second:
        mine = first.get_one(Case, case.id)
        theirs = second.get_one(Case, case.id)
        cases.record_child_voice(first, mine, actor, now, voice="Att få spela fotboll.")
        first.commit()
        with pytest.raises(CaseConflict) as raised:
            cases.record_child_voice(second, theirs, actor, now, voice="Något annat.")
        second.rollback()
        assert "ändrats av någon annan" in raised.value.message
    with Session(db_engine) as check:
        assert check.get_one(Case, case.id).child_voice == "Att få spela fotboll."


def test_a_stale_version_from_a_form_is_refused_before_anything_changes(
    builder: CaseBuilder,
) -> None:
    case = builder.case_in("forbered")
    seen_version = case.version
    cases.record_child_voice(builder.session, case, builder.w.actor, builder.now, voice="A")
    builder.session.commit()
    with pytest.raises(CaseConflict):
        cases.record_child_voice(
            builder.session,
            case,
            builder.w.actor,
            builder.now,
            voice="B",
            expected_version=seen_version,
        )
    assert case.child_voice == "A"


def test_a_transition_racing_an_edit_is_refused(
    builder: CaseBuilder, db_engine: Engine, engine_api: WorkflowEngine
) -> None:
    case = builder.case_in("upptack")
    with Session(db_engine) as first, Session(db_engine) as second:
        mine = first.get_one(Case, case.id)
        theirs = second.get_one(Case, case.id)
        engine_api.fire(first, mine, "forbered", builder.w.actor)
        first.commit()
        with pytest.raises(CaseConflict):
            engine_api.fire(
                second,
                theirs,
                "avboj",
                builder.w.actor,
                reason="Inget behov",
                reason_code="behov_saknas",
            )
        second.rollback()
    with Session(db_engine) as check:
        fresh = check.get_one(Case, case.id)
        assert (fresh.state, fresh.closed_at) == ("forbered", None)


def test_fire_with_an_expected_version_that_is_old_is_refused(builder: CaseBuilder) -> None:
    case = builder.case_in("upptack")
    with pytest.raises(CaseConflict):
        builder.engine.fire(
            builder.session, case, "forbered", builder.w.actor, expected_version=case.version - 1
        )
    assert case.state == "upptack"


def test_two_saves_in_the_same_clock_tick_still_conflict(builder: CaseBuilder) -> None:
    """A save that touches only another table (here the meeting) must still raise the case's
    version, even when the clock has not moved since the last save."""
    case = builder.case_in("forbered")
    builder.plan_meeting(case)  # the builder's clock stands still from here on
    seen = case.version
    builder.plan_meeting(case, in_days=20)
    assert case.version == seen + 1
    with pytest.raises(CaseConflict):
        meetings.schedule_meeting(
            builder.session,
            case,
            builder.w.actor,
            builder.now,
            meetings.MeetingInput(
                starts_at=builder.now + timedelta(days=30),
                ends_at=builder.now + timedelta(days=30, hours=1),
                format=MeetingFormat.VIDEO,
                video_link="https://video.example/sip",
            ),
            expected_version=seen,
            workflow=builder.engine,
        )


def test_a_kallelse_racing_an_edit_is_refused_and_queues_nothing(
    mail_builder: CaseBuilder, db_engine: Engine
) -> None:
    """kalla's actions read (and so autoflush the state change) before the engine's own
    flush: the conflict must still come out as CaseConflict, with nothing queued."""
    case = mail_builder.case_in("forbered")
    mail_builder.prepare(case)
    actor, now = mail_builder.w.actor, mail_builder.now
    with Session(db_engine) as first, Session(db_engine) as second:
        mine = first.get_one(Case, case.id)
        theirs = second.get_one(Case, case.id)
        cases.record_child_voice(first, mine, actor, now, voice="Att få spela fotboll.")
        first.commit()
        with pytest.raises(CaseConflict):
            mail_builder.engine.fire(second, theirs, "kalla", actor)
        second.rollback()
    with Session(db_engine) as check:
        assert check.get_one(Case, case.id).state == "forbered"
        assert check.scalars(select(OutboxMessage)).all() == []
