"""A coordinator takes a new case through all six SIP steps in the browser, and the case page
explains why a step cannot be taken yet."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock, stockholm
from sip_engine.models import Case, CaseEvent, EventKind
from sip_engine.services import plans

from ..world import PASSWORD, CaseBuilder, World

if TYPE_CHECKING:
    from playwright.sync_api import Page

Expect = Callable[..., Any]


def current_step(page: Page) -> Any:
    return page.locator('.steps [aria-current="step"] .step-label')


def press_step(
    page: Page, expect: Expect, button: str, lands_in: str, mail: str | None = None
) -> None:
    """Press a step button on the case page and check the case moved to ``lands_in`` (and,
    for a step that sends mail, that the flash says what was sent to how many)."""
    page.get_by_role("button", name=button, exact=True).click()
    moved = f"Klart: ärendet är nu i steget ”{lands_in}”."
    expect(page.locator(".flash-success")).to_have_text(
        f"{moved} {mail}" if mail else re.compile(rf"^{re.escape(moved)}( .*)?$")
    )
    expect(current_step(page)).to_have_text(lands_in)


def saved(page: Page, expect: Expect, message: str) -> None:
    expect(page.locator(".flash-success")).to_have_text(message)


def test_coordinator_takes_a_case_through_all_six_steps(
    page: Page,
    expect: Expect,
    world: World,
    clock: FixedClock,
    session: Session,
) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/logga-in\?next=%2F$"))
    page.get_by_label("Användarnamn").fill(world.coordinator.username)
    page.get_by_label("Lösenord").fill(PASSWORD)
    page.get_by_role("button", name="Logga in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mina ärenden")

    # 1. Upptäck: a new case for a new child, through the form.
    page.get_by_role("navigation", name="Huvudmeny").get_by_role("link", name="Nytt ärende").click()
    page.get_by_label("Förnamn").fill("Elis")
    page.get_by_label("Efternamn").fill("Webbsson")
    page.get_by_label("Personnummer eller samordningsnummer").fill("20140612-1234")
    page.get_by_label("Skola eller förskola").select_option(label="Johannebergsskolan")
    page.get_by_label("Vårdnadshavare 1, namn").fill("Lina Webbsson")
    page.get_by_label("Vårdnadshavare 1, e-post").fill("lina@example.se")
    page.get_by_label("Vårdnadshavare 2, namn").fill("Ali Webbsson")
    page.get_by_label("Kort beskrivning av behovet").fill("Går sällan till skolan, mår dåligt.")
    page.get_by_label("Problematisk skolfrånvaro").check()
    page.get_by_label("Psykisk ohälsa").check()
    page.get_by_label("Vem väckte behovet").select_option(label="Skola")
    page.get_by_label("Från verksamhet").select_option(label="Johannebergsskolan")
    page.get_by_label("NOSAM-område").select_option(label="Centrum")
    page.get_by_label("Verksamheter som är involverade i dag").select_option(
        label=["Johannebergsskolan (Skola)", "BUP Centrum (Region)"]
    )
    page.get_by_role("button", name="Öppna ärendet").click()
    expect(page.locator(".flash-success")).to_have_text(re.compile(r"Ärendet .+ är öppnat\."))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Elis Webbsson")
    expect(current_step(page)).to_have_text("Upptäck behov")
    case_url = page.url

    # 2. Förbered.
    press_step(page, expect, "Gå vidare till förberedelse", "Förbered")

    # Participants from three parties, each through the form.
    for person, roles in [
        ("Sara Socionom, Socialsekreterare", ["Sammankallande", "Mötesledare"]),
        ("Karin Lärare, Mentor", ["Dokumentansvarig"]),
        ("Omar Läkare, Läkare", ["Kontaktperson"]),
    ]:
        page.get_by_role("link", name="Hantera deltagare").click()
        page.get_by_label("Person", exact=True).select_option(label=person)
        for role in roles:
            page.get_by_label(role, exact=True).check()
        page.get_by_role("button", name="Lägg till").click()
        saved(page, expect, "Deltagaren är tillagd.")
    participants = page.get_by_role("region", name="Deltagare")
    for name in ("Sara Socionom", "Karin Lärare", "Omar Läkare"):
        expect(participants.get_by_role("cell", name=name, exact=True)).to_be_visible()

    # Consent from both guardians, covering every participating organisation.
    page.get_by_role("link", name="Registrera samtycke").click()
    page.get_by_label("Skriftligt", exact=True).check()
    page.get_by_label("Lina Webbsson (vårdnadshavare)").check()
    page.get_by_label("Ali Webbsson (vårdnadshavare)").check()
    sharing = page.get_by_role("group", name="Verksamheter som får dela uppgifter")
    for org in ("Socialtjänst Centrum, barn och unga", "Johannebergsskolan", "BUP Centrum"):
        sharing.get_by_label(org, exact=True).check()
    page.get_by_label("Skolgång och lärande").check()
    page.get_by_label("Hälsa, vård och hälsoundersökningar", exact=True).check()
    page.get_by_label("Barnets egen syn").fill("Elis vill att skolan och BUP pratar ihop sig.")
    page.get_by_role("button", name="Registrera samtycket").click()
    saved(page, expect, "Samtycket är registrerat.")

    # The child's voice.
    page.get_by_role("link", name="Dokumentera barnets röst").click()
    page.get_by_label("Barnets egna ord").fill("Att jag får spela fotboll på rasterna.")
    page.get_by_role("button", name="Spara").click()
    saved(page, expect, "Barnets röst är sparad.")
    expect(page.get_by_text("Att jag får spela fotboll på rasterna.")).to_be_visible()

    # The meeting, two weeks ahead.
    page.get_by_role("link", name="Planera möte").click()
    page.get_by_label("Börjar (svensk tid)").fill("2026-03-16T10:00")
    page.get_by_label("Längd i minuter").fill("90")
    page.get_by_label("På plats").check()
    page.get_by_label("Plats", exact=True).fill("Stadsdelshuset, rum 3")
    page.get_by_label("Frågeställningar").fill(
        "Hur får Elis en fungerande skolgång?\nVem stöttar måendet?"
    )
    page.get_by_label("Mötesledare").select_option(label="Sara Socionom")
    page.get_by_label("Dokumentansvarig").select_option(label="Karin Lärare")
    page.get_by_role("button", name="Spara").click()
    saved(page, expect, "Mötet är sparat.")
    expect(page.get_by_text("2026-03-16 10:00")).to_be_visible()

    # 3. Kalla.
    press_step(
        page, expect, "Skicka kallelse", "Kalla / bjud in", "Kallelse skickas till 3 deltagare."
    )

    # Before the meeting the meeting cannot start; at its time (the server's clock) it can.
    blocked = page.locator(".action.blocked", has_text="Starta SIP-mötet")
    expect(blocked).to_contain_text("det kan startas tidigast en timme före")
    clock.set(stockholm(2026, 3, 16, 10, 0))
    page.goto(case_url)

    # 4. SIP-möte.
    press_step(page, expect, "Starta SIP-mötet", "SIP-möte")

    page.get_by_role("link", name="Registrera närvaro").click()
    for name in ("Sara Socionom", "Karin Lärare", "Omar Läkare"):
        page.get_by_label(re.compile(f"^{name},")).check()
    page.get_by_role("button", name="Spara").click()
    saved(page, expect, "Närvaron är registrerad.")

    page.get_by_role("link", name="Skriv planen").click()
    expect(page.get_by_label("Vad är viktigt för dig? (barnets egna ord)")).to_have_value(
        "Att jag får spela fotboll på rasterna."
    )
    page.get_by_label("Vårdnadshavarnas syn").fill("Föräldrarna vill ha en kontaktperson.")
    page.get_by_label("Behov", exact=True).fill("Stöd i skolan\nUtredning av måendet")
    page.get_by_label("Mål och delmål").fill("Gå i skolan varje dag")
    page.locator("#insats0_description").fill("Anpassad studiegång")
    page.locator("#insats0_organisation").select_option(label="Johannebergsskolan")
    page.locator("#insats0_contact").fill("Karin Lärare")
    page.locator("#insats1_description").fill("Samtalskontakt")
    page.locator("#insats1_organisation").select_option(label="BUP Centrum")
    page.get_by_label("Huvudman med övergripande ansvar (verksamhet)").select_option(
        label="Socialtjänst Centrum, barn och unga"
    )
    page.get_by_label("Samordningsansvarig").select_option(
        label="Sara Socionom, Socialtjänst Centrum, barn och unga"
    )
    page.get_by_label("Nästa uppföljning").fill("2026-06-15")
    page.get_by_role("button", name="Spara planen").click()
    saved(page, expect, "Planen är sparad.")

    # 5. Följ upp.
    press_step(page, expect, "Anta planen och gå till uppföljning", "Följ upp")
    expect(page.get_by_text("Gällande plan: version 1")).to_be_visible()
    page.get_by_role("link", name="Visa SIP-dokumentet").click()
    document = page.locator("article.sip-document")
    expect(document).to_contain_text("Att jag får spela fotboll på rasterna.")
    expect(document.get_by_role("cell", name="Anpassad studiegång")).to_be_visible()
    expect(document).to_contain_text("2026-06-15")
    page.get_by_role("link", name="Tillbaka till ärendet").click()

    # 6. Avsluta.
    closing = page.locator(".action", has=page.get_by_role("button", name="Avsluta SIP"))
    expect(
        closing, "”Avsluta SIP” must offer its form (reason and note), not be blocked"
    ).not_to_have_class(re.compile(r"\bblocked\b"))
    closing.get_by_label("Skäl").select_option(label="Samordning behövs inte längre")
    closing.get_by_label("Motivering").fill("Stödet fungerar, familjen är nöjd.")
    press_step(page, expect, "Avsluta SIP", "Avsluta")
    expect(page.get_by_text("Samordning behövs inte längre – Stödet fungerar")).to_be_visible()
    # A closed case offers one thing only: reopening it, with a reason.
    actions = page.get_by_role("region", name="Vad kan göras nu").get_by_role("button")
    expect(actions).to_have_count(1)
    expect(actions).to_have_text("Återöppna SIP")

    # What the browser did is what is stored.
    session.rollback()
    case = session.scalars(select(Case).where(Case.child.has(first_name="Elis"))).one()
    assert case.state == "avslutad"
    assert case.close_reason == "samordning_behovs_inte"
    assert case.child_voice == "Att jag får spela fotboll på rasterna."
    plan = plans.current_plan(session, case)
    assert plan is not None and plan.version_no == 1
    assert [i.description for i in plan.insatser] == ["Anpassad studiegång", "Samtalskontakt"]
    steps = session.scalars(
        select(CaseEvent.to_state)
        .where(CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.TRANSITION)
        .order_by(CaseEvent.id)
    ).all()
    assert steps == ["forbered", "kalla", "mote", "folj_upp", "avslutad"]


def test_a_blocked_step_shows_why(
    sign_in: Callable[..., Page], expect: Expect, world: World, builder: CaseBuilder
) -> None:
    case = builder.case_in("forbered")
    page = sign_in(world.coordinator.username)
    page.goto(f"/arenden/{case.id}")

    button = page.get_by_role("button", name="Skicka kallelse")
    expect(button).to_have_attribute("aria-disabled", "true")
    expect(button).to_be_disabled()  # as assistive technology sees it
    # The reasons are the button's description, so a screen reader hears them with it.
    expect(button).to_have_accessible_description(re.compile("Inget möte är planerat."))
    reasons = page.locator(f"#{button.get_attribute('aria-describedby')}")
    expect(reasons).to_contain_text("Går inte ännu:")
    expect(reasons.get_by_role("listitem")).to_contain_text(
        [
            "Barnets röst (”Vad är viktigt för dig?”) är inte dokumenterad",
            "Inget möte är planerat.",
            "Deltagare behövs från minst två av parterna",
        ]
    )

    # Pressing it (it stays focusable, so the reasons can be reached) does nothing.
    button.focus()
    page.keyboard.press("Enter")
    button.click(force=True)
    expect(current_step(page)).to_have_text("Förbered")
    expect(page.locator(".flash")).to_have_count(0)
