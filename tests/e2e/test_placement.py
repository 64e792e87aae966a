"""In chromium: a coordinator registers a placement through the drawn form and sees both
health-examination requests on the Placerade barn dashboard; every placement page (and the
region's personal link) passes axe-core and reflows at 320 px."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock, local_date
from sip_engine.models import HealthExamRequest, Placement
from sip_engine.notify import Notifier
from sip_engine.notify.links import AnswerLinks
from sip_engine.services import placements
from sip_engine.workflow import WorkflowRegistry

from ..placement_helpers import folktandvarden, new_placement
from ..world import World
from .test_accessibility import Screen, check_screens

if TYPE_CHECKING:
    from playwright.sync_api import Page


def _submit_empty(page: Page) -> None:
    page.get_by_role("button", name="Registrera placering").click()
    page.get_by_role("alert").wait_for()


def test_a_coordinator_registers_a_placement_and_sees_both_requests_on_the_dashboard(
    sign_in: Callable[..., Page],
    expect: Callable[..., Any],
    axe_report: Callable[[Page], str | None],
    reflow_report: Callable[..., str | None],
    session: Session,
    world: World,
) -> None:
    ftv = folktandvarden(session, world)
    session.commit()
    page = sign_in(world.coordinator.username)
    page.goto("/")
    page.get_by_role("link", name="Placerade barn").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Placerade barn")
    page.get_by_role("link", name="Registrera placering").click()

    page.get_by_label("Förnamn").fill("Elsa")
    page.get_by_label("Efternamn").fill("Placerad")
    page.get_by_label("Personnummer", exact=True).fill("20160610-2380")
    page.get_by_label("Placeringsform").select_option(label="Familjehem")
    page.get_by_label("Lagrum").select_option(label="LVU")
    page.get_by_label(re.compile("^Mottagande kommun")).fill("Partille")
    page.get_by_label("NOSAM-område").select_option(label=world.area.name)
    vc = page.get_by_role("group", name="Hälsoundersökning: fysisk och psykisk hälsa (vårdcentral)")
    vc.get_by_label("Mottagning").select_option(label=world.vardcentral.name)
    vc.get_by_label(re.compile("^Kontaktperson ")).fill("Vera Vårdcentral")
    vc.get_by_label("Kontaktpersonens e-post").fill("vera@vc.example.se")
    tand = page.get_by_role("group", name="Hälsoundersökning: munhälsa (Folktandvården)")
    tand.get_by_label("Mottagning").select_option(label=ftv.name)
    tand.get_by_label(re.compile("^Kontaktperson ")).fill("Tore Tandvård")
    tand.get_by_label("Kontaktpersonens e-post").fill("tore@ftv.example.se")
    page.get_by_role("button", name="Registrera placering").click()

    expect(page.get_by_role("status").first).to_contain_text("Placeringen är registrerad.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Placering: Elsa Placerad")
    for part in ("Fysisk och psykisk hälsa (vårdcentral)", "Munhälsa (Folktandvården)"):
        expect(page.get_by_role("region", name=part)).to_contain_text("Status: Begärd")

    page.get_by_role("link", name="Till Placerade barn").click()
    row = page.get_by_role("row").filter(has_text="Elsa Placerad")
    expect(row).to_have_count(1)
    cells = row.get_by_role("cell")
    # Columns after the child (a row header): placement, phase, area, the two parts.
    expect(cells.nth(1)).to_have_text("Under placering")
    expect(cells.nth(3)).to_contain_text("Begärd")
    expect(cells.nth(4)).to_contain_text("Begärd")
    expect(page.get_by_role("columnheader", name="Munhälsa (Folktandvården)")).to_be_visible()

    placement = session.scalars(select(Placement)).one()
    exam = session.scalars(
        select(HealthExamRequest).where(HealthExamRequest.placement_id == placement.id)
    ).first()
    assert exam is not None
    link = placements.exam_link(
        Notifier(AnswerLinks("test-secret", "http://x"), "SIP-stöd <sip@sip.test>"), exam
    ).removeprefix("http://x")
    check_screens(
        page,
        [
            Screen("placement dashboard", "/placerade-barn"),
            Screen("placement page", f"/placeringar/{placement.id}"),
            Screen("new placement form", "/placeringar/ny"),
            Screen("new placement form with errors", "/placeringar/ny", _submit_empty),
            Screen("region link", link),
        ],
        axe_report,
        reflow_report,
    )


def test_region_staff_page_is_accessible(
    sign_in: Callable[..., Page],
    axe_report: Callable[[Page], str | None],
    reflow_report: Callable[..., str | None],
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    clock: FixedClock,
) -> None:
    ftv = folktandvarden(session, world)
    placements.register_placement(
        session,
        registry,
        None,
        world.actor,
        clock.now(),
        new_placement(world, ftv, local_date(clock.now())),
    )
    session.commit()
    page = sign_in(world.other_deltagare.username)
    check_screens(
        page,
        [Screen("region staff requests", "/halsoundersokningar")],
        axe_report,
        reflow_report,
    )
    assert "Alva Testsson" in page.content()
