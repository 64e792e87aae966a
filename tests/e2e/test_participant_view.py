"""A participant (role deltagare) sees a case's personal details only while the consent is
complete for their organisation; otherwise only the reference, the step, the meeting and their
own participation, and the SIP document not at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sip_engine.services import cases as case_service

from ..world import CaseBuilder, World

if TYPE_CHECKING:
    from playwright.sync_api import Page

Expect = Callable[..., Any]

NO_CONSENT = (
    "Det finns inget fullständigt samtycke för din verksamhet. Bara ärendets nummer, steg, "
    "mötet och ditt eget deltagande visas."
)


def test_participant_sees_only_what_consent_allows(
    sign_in: Callable[..., Page],
    expect: Expect,
    assert_accessible: Callable[[Page], None],
    world: World,
    builder: CaseBuilder,
) -> None:
    # Consent names BUP: the BUP doctor may see the details.
    shared = builder.case_in("kalla")
    # Consent names only the unit and the school, not BUP.
    withheld = builder.open()
    builder.fire(withheld, "forbered")
    builder.add_participants(withheld)
    builder.give_consent(withheld, orgs=[world.unit.id, world.school.id])
    case_service.record_child_voice(
        builder.session, withheld, world.actor, builder.now, voice="Hemlig önskan."
    )
    builder.session.commit()

    page = sign_in(world.bup_user.username)
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ärenden jag deltar i")

    page.get_by_role("navigation", name="Huvudmeny").get_by_role(
        "link", name="Ärenden", exact=True
    ).click()
    rows = page.get_by_role("row")
    expect(rows.filter(has_text=shared.reference)).to_contain_text("Alva Testsson")
    expect(rows.filter(has_text=withheld.reference)).to_contain_text("Dolt (samtycke saknas)")
    expect(rows.filter(has_text=withheld.reference)).not_to_contain_text("Alva")

    # With consent: the child, the child's voice and the plan section; no editing.
    page.get_by_role("link", name=shared.reference).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{shared.reference} – Alva Testsson")
    expect(page.get_by_text("Att jag får vara med mina kompisar i skolan.")).to_be_visible()
    expect(page.get_by_role("link", name="Visa SIP-dokumentet")).to_be_visible()
    for editing in ("Dokumentera barnets röst", "Hantera deltagare", "Registrera samtycke"):
        expect(page.get_by_role("link", name=editing)).to_have_count(0)
    expect(page.get_by_text(NO_CONSENT)).to_have_count(0)
    assert_accessible(page)

    # Without consent: the basic facts only, said plainly; nothing personal in the page.
    page.goto(f"/arenden/{withheld.id}")
    expect(page.get_by_role("heading", level=1)).to_have_text(withheld.reference)
    expect(page.get_by_text(NO_CONSENT)).to_be_visible()
    expect(page.get_by_role("region", name="Barnet och behovet")).to_contain_text(
        world.coordinator.display_name
    )
    html = page.content()
    for secret in ("Alva", "Testsson", "20150315", "Hemlig önskan", "Maria", "Hög skolfrånvaro"):
        assert secret not in html, f"{secret!r} shown without consent"
    expect(page.get_by_role("link", name="Visa SIP-dokumentet")).to_have_count(0)
    assert_accessible(page)

    # Asking for the document or an edit form directly: as if it did not exist.
    for path in (f"/arenden/{withheld.id}/sip-dokument", f"/arenden/{withheld.id}/barnets-rost"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
        expect(page.get_by_role("heading", level=1)).to_have_text("Sidan finns inte")
        assert "Hemlig önskan" not in page.content()
