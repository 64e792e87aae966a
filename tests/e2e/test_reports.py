"""The reports page in a real browser: chosen through its form, charts drawn as SVG with
their table beside them, clean under axe (WCAG 2.1 AA) and reflowing at 320 px."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from ..reports.dataset import build_dataset
from ..world import World
from .test_accessibility import Screen, check_screens

if TYPE_CHECKING:
    from playwright.sync_api import Page


def test_chef_chooses_a_report_and_sees_its_chart(
    sign_in: Callable[..., Page],
    expect: Callable[..., Any],
    axe_report: Callable[[Page], str | None],
    reflow_report: Callable[..., str | None],
    session: Session,
    world: World,
) -> None:
    data = build_dataset(session, world)
    page = sign_in(world.manager.username)
    page.goto("/")
    page.get_by_role("link", name="Rapporter").click()
    page.get_by_label("Period", exact=True).fill("2025")
    page.get_by_label("NOSAM-område", exact=True).select_option(label="Centrum")
    page.get_by_role("button", name="Visa rapport").click()
    expect(page.get_by_role("heading", name="Centrum, 2025 (jämfört med 2024)")).to_be_visible()

    chart = page.get_by_role("img", name="SIP per månad, 2025")
    expect(chart).to_be_visible()
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100
    # Drawn bars for the published months only: January (10) and March (8) started,
    # nothing for the hidden ones (<5, döljs), whose labels are drawn instead.
    assert chart.locator("rect[fill='#0b5394']").count() == 1 + 2  # legend swatch + 2 bars
    expect(chart.locator("text", has_text="döljs").first).to_be_visible()
    # The same numbers as a table next to it.
    table = page.get_by_role("table", name="SIP per månad, 2025, Centrum")
    expect(table.get_by_role("row", name="Januari 2025 10 0")).to_be_visible()

    screens = [
        Screen("reports, one area", f"/rapporter/?period=2025&omrade={data.centrum.id}"),
        Screen("reports, all areas", "/rapporter/?period=2025"),
        Screen("reports, bad period", "/rapporter/?period=fel"),
        Screen("årsrapport", f"/rapporter/arsrapport?period=2025&omrade={data.centrum.id}"),
    ]
    check_screens(page, screens, axe_report, reflow_report)
