"""The one protection rule (sip_engine.protection), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from sip_engine.models import MeetingFormat
from sip_engine.protection import (
    SCHOOL_LABEL,
    child_address,
    child_school,
    organisation_label,
    protected_text,
    sees_protected_identity,
)
from sip_engine.services import meetings
from sip_engine.services.common import ValidationError
from sip_engine.workflow import Actor

from .protected import ADDRESS, SCHOOL, protect_child
from .world import CaseBuilder


def test_only_the_case_s_unit_sees_a_protected_child_s_school_and_address(
    builder: CaseBuilder,
) -> None:
    protect_child(builder)
    case = builder.open()
    w = builder.w
    unit = [Actor.for_user(w.coordinator), Actor.for_user(w.manager)]
    outside = [
        Actor.for_user(w.bup_user),  # a deltagare of another organisation
        Actor.for_user(w.other_coordinator),  # a samordnare of another unit
        Actor.for_user(w.admin),  # the unit's administrator is not its samordnare or chef
        Actor.system(),
        None,  # mail, calendar, printout, answer link
    ]
    for viewer in unit:
        assert sees_protected_identity(case, viewer)
        assert organisation_label(case, w.school, viewer) == SCHOOL
        assert child_school(case, viewer) == SCHOOL
        assert child_address(case, viewer) == ADDRESS
    for viewer in outside:
        assert not sees_protected_identity(case, viewer)
        assert organisation_label(case, w.school, viewer) == SCHOOL_LABEL
        assert organisation_label(case, w.bup, viewer) == "BUP Centrum"
        assert child_school(case, viewer) == SCHOOL_LABEL
        assert child_address(case, viewer) == "skyddad adress"
        text = protected_text(
            case, f"Möte på {SCHOOL.lower()}, sedan hem till hemliga vägen 7.", viewer
        )
        assert text == "Möte på Skolan, sedan hem till skyddad adress."
        assert protected_text(case, f"Bor på {ADDRESS}", viewer) == "Bor på skyddad adress"


def test_a_child_without_protection_is_shown_as_recorded(builder: CaseBuilder) -> None:
    case = builder.open()
    bup = Actor.for_user(builder.w.bup_user)
    assert organisation_label(case, builder.w.school, bup) == SCHOOL
    assert protected_text(case, f"Möte på {SCHOOL}", None) == f"Möte på {SCHOOL}"


def _meeting(location: str) -> meetings.MeetingInput:
    from sip_engine.clock import stockholm

    start = stockholm(2026, 3, 20, 9, 0)
    return meetings.MeetingInput(
        starts_at=start,
        ends_at=start + timedelta(hours=1),
        format=MeetingFormat.PA_PLATS,
        location=location,
        questions=["Hur går det i skolan?"],
    )


@pytest.mark.parametrize("place", [f"{SCHOOL}, aulan", "hemliga vägen 7"])
def test_a_meeting_cannot_be_placed_at_a_protected_child_s_school_or_home(
    builder: CaseBuilder, place: str
) -> None:
    protect_child(builder)
    case = builder.case_in("forbered")
    with pytest.raises(ValidationError) as refused:
        meetings.schedule_meeting(
            builder.session, case, builder.w.actor, builder.now, _meeting(place), workflow=None
        )
    assert "skyddade personuppgifter" in refused.value.errors["location"]
    builder.session.rollback()
    assert meetings.open_meeting(builder.session, case) is None


def test_without_protection_the_school_may_host_the_meeting(builder: CaseBuilder) -> None:
    case = builder.case_in("forbered")
    meeting = meetings.schedule_meeting(
        builder.session,
        case,
        builder.w.actor,
        builder.now,
        _meeting(f"{SCHOOL}, aulan"),
        workflow=None,
    )
    assert meeting.location == f"{SCHOOL}, aulan"
