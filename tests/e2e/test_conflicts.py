"""A stale edit: someone else changed the case while the form was open. The page says so, keeps
what the user typed, and saves nothing until the user saves again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock
from sip_engine.services import cases as case_service
from sip_engine.services import meetings as meeting_service

from ..world import CaseBuilder, World

if TYPE_CHECKING:
    from playwright.sync_api import Page

Expect = Callable[..., Any]

CONFLICT = "Någon annan har ändrat ärendet"


def test_stale_child_voice_keeps_the_typed_text(
    sign_in: Callable[..., Page],
    expect: Expect,
    assert_accessible: Callable[[Page], None],
    world: World,
    builder: CaseBuilder,
    session: Session,
    clock: FixedClock,
) -> None:
    case = builder.case_in("forbered")
    page = sign_in(world.coordinator.username)
    page.goto(f"/arenden/{case.id}/barnets-rost")
    typed = "Att jag får gå till skolan med min kompis.\nOch att ingen bråkar."
    page.get_by_label("Barnets egna ord").fill(typed)

    # Meanwhile, the case changes elsewhere (the services, as another request would).
    session.refresh(case)
    case_service.record_child_voice(
        session, case, world.actor, clock.now(), voice="Det som kollegan skrev."
    )
    session.commit()

    page.get_by_role("button", name="Spara").click()
    alert = page.get_by_role("alert")
    expect(alert.get_by_role("heading")).to_have_text(CONFLICT)
    expect(alert).to_contain_text("Det du skrev finns kvar nedan men är inte sparat.")
    expect(page.get_by_label("Barnets egna ord")).to_have_value(typed)
    assert_accessible(page)

    session.rollback()  # end the test's read transaction: see what the server committed
    session.refresh(case)
    assert case.child_voice == "Det som kollegan skrev.", "the stale form must save nothing"

    # Saving again is a deliberate choice, and then it saves.
    page.get_by_role("button", name="Spara").click()
    expect(page.locator(".flash-success")).to_have_text("Barnets röst är sparad.")
    session.rollback()
    session.refresh(case)
    assert (case.child_voice or "").replace("\r\n", "\n") == typed


def test_two_browsers_editing_the_meeting(
    sign_in: Callable[..., Page],
    new_page: Callable[[], Page],
    expect: Expect,
    world: World,
    builder: CaseBuilder,
    session: Session,
    clock: FixedClock,
) -> None:
    case = builder.case_in("forbered")
    builder.add_participants(case)
    coordinator = sign_in(world.coordinator.username)
    manager = sign_in(world.manager.username, on=new_page())
    for page in (coordinator, manager):
        page.goto(f"/arenden/{case.id}/mote")

    # Time passes while they type (see the report: with a clock that stands still, a change
    # that touches only the meeting does not raise the case's version).
    clock.advance(timedelta(minutes=2))

    # The manager books the meeting first.
    manager.get_by_label("Börjar (svensk tid)").fill("2026-03-20T13:00")
    manager.get_by_label("Plats", exact=True).fill("Skolan, konferensrummet")
    manager.get_by_label("Frågeställningar").fill("Hur blir skoldagen lugnare?")
    manager.get_by_role("button", name="Spara").click()
    expect(manager.locator(".flash-success")).to_have_text("Mötet är sparat.")
    clock.advance(timedelta(minutes=1))

    # The coordinator, still on the old form, saves their own booking.
    coordinator.get_by_label("Börjar (svensk tid)").fill("2026-03-18T09:30")
    coordinator.get_by_label("Plats", exact=True).fill("Stadsdelshuset, rum 3")
    coordinator.get_by_label("Frågeställningar").fill("Vem gör vad?\nNär ses vi igen?")
    coordinator.get_by_label("Mötesledare").select_option(label="Sara Socionom")
    coordinator.get_by_role("button", name="Spara").click()

    expect(coordinator.get_by_role("alert").get_by_role("heading")).to_have_text(CONFLICT)
    expect(coordinator.get_by_label("Börjar (svensk tid)")).to_have_value("2026-03-18T09:30")
    expect(coordinator.get_by_label("Plats", exact=True)).to_have_value("Stadsdelshuset, rum 3")
    expect(coordinator.get_by_label("Frågeställningar")).to_have_value(
        "Vem gör vad?\nNär ses vi igen?"
    )
    expect(coordinator.get_by_label("Mötesledare")).to_have_value(
        str(next(p.id for p in case.active_participants if p.name == "Sara Socionom"))
    )

    session.rollback()
    meeting = meeting_service.open_meeting(session, case)
    assert meeting is not None
    assert meeting.location == "Skolan, konferensrummet", "the stale form must save nothing"
