"""axe-core (WCAG 2.1 A and AA, and axe's best practices) on every main page, and reflow at
320 CSS pixels: the page must not scroll sideways (a wide table scrolls inside its own box,
which is allowed)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from string import Formatter
from typing import TYPE_CHECKING

import pytest

from ..world import CaseBuilder, World

if TYPE_CHECKING:
    from playwright.sync_api import Page


def _submit_empty(page: Page) -> None:
    page.get_by_role("button", name="Öppna ärendet").click()
    page.get_by_role("alert").wait_for()


def _fail_login(page: Page) -> None:
    page.get_by_label("Användarnamn").fill("samordnare")
    page.get_by_label("Lösenord").fill("fel-lösenord")
    page.get_by_role("button", name="Logga in").click()
    page.get_by_role("alert").wait_for()


def _diagram_drawn(page: Page) -> None:
    page.locator("pre.mermaid svg").wait_for()


def _plan_with_errors(page: Page) -> None:
    page.locator("#insats0_description").fill("Samtalskontakt")  # but no organisation
    page.get_by_role("button", name="Spara planen").click()
    page.get_by_role("alert").wait_for()


def _in_english(page: Page) -> None:
    page.get_by_role("button", name="English").click()
    page.locator("html[lang=en]").wait_for()


def _new_user_errors(page: Page) -> None:
    page.get_by_role("button", name="Skapa användare").click()
    page.get_by_role("alert").wait_for()


@dataclass(frozen=True)
class Screen:
    name: str
    path: str  # "{forbered}" stands for the id of a case standing in that state
    then: Callable[[Page], None] | None = None  # brings the page into the state to check

    @property
    def states(self) -> set[str]:
        return {field for _, field, _, _ in Formatter().parse(self.path) if field}


def check_screens(
    page: Page,
    screens: list[Screen],
    axe_report: Callable[[Page], str | None],
    reflow_report: Callable[..., str | None],
    case_ids: dict[str, int] | None = None,
) -> None:
    """Every screen at desktop width through axe, then at 320 px for reflow; one report of
    everything found, so one test shows all the problems of its pages at once."""
    found = []
    for screen in screens:
        page.goto(screen.path.format(**(case_ids or {})))
        if screen.then:
            screen.then(page)
        for report in (axe_report(page), reflow_report(page, 320)):
            if report:
                found.append(f"[{screen.name}] {report}")
    assert not found, "\n\n".join(found)


# The case page in every state, and the forms each state offers (the participants and meeting
# forms where they have something in them), in a few groups: one sign-in each.
CASE_SCREENS = {
    "upptack-forbered": [
        Screen("case page, upptäck", "/arenden/{upptack}"),
        Screen("case page, förbered", "/arenden/{forbered}"),
        Screen("child's voice form", "/arenden/{forbered}/barnets-rost"),
        Screen("consent form", "/arenden/{forbered}/samtycke"),
    ],
    "kalla": [
        Screen("start page", "/"),
        Screen("case list", "/arenden"),
        Screen("case page, kalla", "/arenden/{kalla}"),
        Screen("participants form", "/arenden/{kalla}/deltagare"),
        Screen("meeting form", "/arenden/{kalla}/mote"),
    ],
    "mote": [
        Screen("case page, möte", "/arenden/{mote}"),
        Screen("attendance form", "/arenden/{mote}/narvaro"),
        Screen("plan form", "/arenden/{mote}/plan"),
        Screen("plan form with errors", "/arenden/{mote}/plan", _plan_with_errors),
    ],
    "folj_upp-avslutad": [
        Screen("case page, följ upp", "/arenden/{folj_upp}"),
        Screen("SIP document", "/arenden/{folj_upp}/sip-dokument"),
        Screen("case page, avslutad", "/arenden/{avslutad}"),
    ],
}


@pytest.mark.parametrize("group", list(CASE_SCREENS))
def test_case_pages(
    group: str,
    sign_in: Callable[..., Page],
    axe_report: Callable[[Page], str | None],
    reflow_report: Callable[..., str | None],
    world: World,
    builder: CaseBuilder,
) -> None:
    screens = CASE_SCREENS[group]
    states = set().union(*(screen.states for screen in screens))
    case_ids = {state: builder.case_in(state).id for state in sorted(states)}
    page = sign_in(world.coordinator.username)
    check_screens(page, screens, axe_report, reflow_report, case_ids)


def test_coordinator_pages(
    sign_in: Callable[..., Page],
    axe_report: Callable[[Page], str | None],
    reflow_report: Callable[..., str | None],
    world: World,
) -> None:
    page = sign_in(world.coordinator.username)
    screens = [
        Screen("new case form", "/arenden/nytt"),
        Screen("new case form with errors", "/arenden/nytt", _submit_empty),
        Screen("workflow diagram", "/arbetsfloden/sip", _diagram_drawn),
        Screen("not found", "/arenden/999999"),
    ]
    check_screens(page, screens, axe_report, reflow_report)


def test_signed_out_pages(
    page: Page,
    axe_report: Callable[[Page], str | None],
    reflow_report: Callable[..., str | None],
    world: World,
) -> None:
    screens = [
        Screen("login", "/logga-in"),
        Screen("login failed", "/logga-in", _fail_login),
        Screen("English login", "/logga-in", _in_english),
    ]
    check_screens(page, screens, axe_report, reflow_report)


def test_admin_pages(
    sign_in: Callable[..., Page],
    axe_report: Callable[[Page], str | None],
    reflow_report: Callable[..., str | None],
    world: World,
) -> None:
    page = sign_in(world.admin.username)
    screens = [
        Screen("users", "/admin/anvandare"),
        Screen("users with errors", "/admin/anvandare", _new_user_errors),
        Screen("organisations", "/admin/verksamheter"),
    ]
    check_screens(page, screens, axe_report, reflow_report)
