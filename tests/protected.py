"""A case about a child with skyddade personuppgifter, taken to the kallelse, for the tests of
the protection rule (sip_engine.protection) at every layer."""

from __future__ import annotations

from datetime import timedelta

from sip_engine.models import Case, MeetingFormat, Participant
from sip_engine.services import cases, meetings

from .world import CaseBuilder

ADDRESS = "Hemliga vägen 7, 412 58 Göteborg"
SCHOOL = "Johannebergsskolan"
# What must never reach anyone outside the unit (the first line of the address included).
SECRETS = (SCHOOL, "Hemliga vägen 7", "412 58")


def protect_child(builder: CaseBuilder) -> None:
    child = builder.w.child
    child.protected_identity = True
    child.address = ADDRESS
    builder.session.commit()


def protected_case_in_kalla(builder: CaseBuilder) -> tuple[Case, dict[str, Participant]]:
    """A protected child's case in kalla: the school raised the need and takes part, and a
    frågeställning names the school (the coordinator's own words)."""
    protect_child(builder)
    case = builder.case_in("forbered")
    people = builder.add_participants(case)
    builder.give_consent(case)
    cases.record_child_voice(
        builder.session, case, builder.w.actor, builder.now, voice="Att få vara med kompisarna."
    )
    start = builder.now + timedelta(days=14)
    meetings.schedule_meeting(
        builder.session,
        case,
        builder.w.actor,
        builder.now,
        meetings.MeetingInput(
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            format=MeetingFormat.PA_PLATS,
            location="Stadsdelshuset, rum 3",
            questions=[f"Hur kan {SCHOOL} anpassa skoldagen?"],
        ),
        workflow=builder.engine,
    )
    builder.session.commit()
    builder.fire(case, "kalla")
    return case, people
