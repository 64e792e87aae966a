"""The coordinator's pages: new case, list with filters, the case page, forms, transitions."""

import re

from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sip_engine.models import Case, CaseEvent, EventKind, Participant
from sip_engine.services import cases as case_service

from ..world import CaseBuilder, World
from .conftest import csrf_token


def _forget(session: Session) -> None:
    """See what the web requests committed: end the read snapshot (SQLite WAL) and drop the
    identity map (a rollback with no transaction open expires nothing)."""
    session.rollback()
    session.expire_all()


def _new_case_form(world: World, token: str, **overrides: str | list[str]) -> dict[str, object]:
    data: dict[str, object] = {
        "csrf_token": token,
        "first_name": "Nils",
        "last_name": "Holgersson",
        "identity_number": "20120503-1238",
        "guardian1_name": "Anna Holgersson",
        "need_description": "Oro för skolgången.",
        "reasons": ["skolfranvaro"],
        "raised_by": "skola",
        "raised_by_organisation_id": str(world.school.id),
        "raised_on": "2026-03-01",
        "nosam_area_id": str(world.area.id),
        "involved": [str(world.school.id), str(world.bup.id)],
    }
    data.update(overrides)
    return data


def test_new_case_is_opened_in_upptack(
    coordinator_client: FlaskClient, world: World, session: Session
) -> None:
    token = csrf_token(coordinator_client, "/arenden/nytt")
    response = coordinator_client.post("/arenden/nytt", data=_new_case_form(world, token))
    assert response.status_code == 302
    case = session.scalars(select(Case)).one()
    assert (case.state, case.coordinator_id, case.unit_id) == (
        "upptack",
        world.coordinator.id,
        world.unit.id,
    )
    assert case.child.identity_number == "201205031238"
    assert case.child.guardians[0].name == "Anna Holgersson"
    page = coordinator_client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Ärendet {case.reference} är öppnat." in page
    assert 'aria-current="step"' in page


def test_new_case_errors_are_shown_at_the_field_and_nothing_is_saved(
    coordinator_client: FlaskClient, world: World, session: Session
) -> None:
    token = csrf_token(coordinator_client, "/arenden/nytt")
    response = coordinator_client.post(
        "/arenden/nytt",
        data=_new_case_form(
            world, token, identity_number="20120503-1239", need_description="", reasons=[]
        ),
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert (
        '<p class="field-error" id="identity_number-error">Kontrollsiffran stämmer inte.</p>'
        in page
        or ("Beskriv behovet kort." in page)
    )
    assert 'id="need_description-error">Beskriv behovet kort.' in page
    assert 'id="reasons-error">Välj minst ett skäl till SIP.' in page
    assert 'value="Nils"' in page  # what was typed stays
    assert session.scalars(select(Case)).all() == []


def test_list_filters_search_and_pagination(
    coordinator_client: FlaskClient, builder: CaseBuilder
) -> None:
    first = builder.case_in("upptack")
    builder.case_in("kalla")
    page = coordinator_client.get("/arenden?state=kalla").get_data(as_text=True)
    assert "1 ärende" in page and first.reference not in page
    # A personnummer typed with ten or twelve digits, or its first digits; never a longer one.
    for term, hits in (("150315-2389", 2), ("20150315-2389", 2), ("201503", 2), ("1503152", 2)):
        page = coordinator_client.get(f"/arenden?q={term}").get_data(as_text=True)
        assert f"{hits} ärenden" in page, term
    page = coordinator_client.get("/arenden?q=2015031523891").get_data(as_text=True)
    assert "0 ärenden" in page
    page = coordinator_client.get("/arenden?q=nobody").get_data(as_text=True)
    assert "0 ärenden" in page
    # A case number as typed, in any case: only that case.
    page = coordinator_client.get(f"/arenden?q={first.reference.lower()}").get_data(as_text=True)
    assert "1 ärende" in page and first.reference in page
    page = coordinator_client.get("/arenden?reason=placering").get_data(as_text=True)
    assert "0 ärenden" in page
    page = coordinator_client.get("/arenden?reason=skolfranvaro&sort=reference").get_data(
        as_text=True
    )
    assert "2 ärenden" in page


def test_blocked_actions_show_the_engines_reasons(
    coordinator_client: FlaskClient, builder: CaseBuilder
) -> None:
    case = builder.case_in("forbered")
    page = coordinator_client.get(f"/arenden/{case.id}").get_data(as_text=True)
    assert "Skicka kallelse" in page
    assert "Inget möte är planerat." in page
    assert "Inget samtycke är registrerat." in page


def test_firing_a_trigger_from_the_page(
    coordinator_client: FlaskClient, builder: CaseBuilder
) -> None:
    case = builder.case_in("upptack")
    token = csrf_token(coordinator_client, f"/arenden/{case.id}")
    response = coordinator_client.post(
        f"/arenden/{case.id}/steg/forbered", data={"csrf_token": token, "version": case.version}
    )
    assert response.status_code == 303
    _forget(builder.session)
    page = coordinator_client.get(f"/arenden/{case.id}").get_data(as_text=True)
    assert builder.session.get_one(Case, case.id).state == "forbered"
    assert "Klart: ärendet är nu i steget ”Förbered”." in page


def test_a_refused_trigger_is_explained_and_recorded(
    coordinator_client: FlaskClient, builder: CaseBuilder
) -> None:
    case = builder.case_in("forbered")
    token = csrf_token(coordinator_client, f"/arenden/{case.id}")
    response = coordinator_client.post(
        f"/arenden/{case.id}/steg/kalla", data={"csrf_token": token, "version": case.version}
    )
    assert response.status_code == 303
    page = coordinator_client.get(f"/arenden/{case.id}").get_data(as_text=True)
    assert "”Skicka kallelse” går inte ännu" in page
    _forget(builder.session)
    refused = builder.session.scalars(
        select(CaseEvent).where(CaseEvent.kind == EventKind.TRANSITION_REFUSED)
    ).one()
    assert refused.trigger == "kalla"
    assert builder.session.get_one(Case, case.id).state == "forbered"


def test_a_stale_edit_shows_a_conflict_and_keeps_what_was_typed(
    coordinator_client: FlaskClient, builder: CaseBuilder
) -> None:
    case = builder.case_in("forbered")
    form = coordinator_client.get(f"/arenden/{case.id}/barnets-rost").get_data(as_text=True)
    seen_version = re.search(r'name="version" value="(\d+)"', form).group(1)  # type: ignore[union-attr]
    token = csrf_token(coordinator_client, f"/arenden/{case.id}/barnets-rost")
    # Someone else saves first.
    case_service.record_child_voice(
        builder.session, case, builder.w.actor, builder.now, voice="Kollegans text"
    )
    builder.session.commit()
    response = coordinator_client.post(
        f"/arenden/{case.id}/barnets-rost",
        data={"csrf_token": token, "version": seen_version, "child_voice": "Min egen text"},
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "Någon annan har ändrat ärendet" in page
    assert "Min egen text" in page
    _forget(builder.session)
    assert builder.session.get_one(Case, case.id).child_voice == "Kollegans text"


def test_forms_take_a_case_from_forbered_to_kalla(
    coordinator_client: FlaskClient, builder: CaseBuilder, session: Session
) -> None:
    w = builder.w
    case = builder.case_in("forbered")
    base = f"/arenden/{case.id}"

    def post(path: str, data: dict[str, object]) -> None:
        token = csrf_token(coordinator_client, base + path)
        version = builder.session.get_one(Case, case.id).version
        _forget(builder.session)
        response = coordinator_client.post(
            base + path, data={"csrf_token": token, "version": version, **data}
        )
        assert response.status_code == 303, response.get_data(as_text=True)
        _forget(builder.session)

    post("/barnets-rost", {"child_voice": "Att få vara med kompisarna."})
    post("/deltagare", {"person": f"pro:{w.social_worker.id}", "roles": ["motesledare"]})
    post("/deltagare", {"person": f"pro:{w.teacher.id}", "roles": ["dokumentansvarig"]})
    post("/deltagare", {"person": f"pro:{w.bup_doctor.id}"})
    post(
        "/samtycke",
        {
            "form": "skriftlig",
            "given_by": [str(g.id) for g in w.child.guardians],
            "organisation_ids": [str(w.unit.id), str(w.school.id), str(w.bup.id)],
            "information_categories": ["skola"],
            "valid_from": "2026-03-02",
            "valid_until": "2027-03-01",
        },
    )
    post(
        "/mote",
        {
            "starts_at": "2026-03-20T13:00",
            "duration": "90",
            "format": "pa_plats",
            "location": "Stadsdelshuset",
            "questions": "Hur blir skolan bättre?",
        },
    )
    token = csrf_token(coordinator_client, base)
    version = builder.session.get_one(Case, case.id).version
    response = coordinator_client.post(
        base + "/steg/kalla", data={"csrf_token": token, "version": version}
    )
    assert response.status_code == 303
    _forget(builder.session)
    fresh = builder.session.get_one(Case, case.id)
    assert fresh.state == "kalla"
    names = session.scalars(select(Participant.name).where(Participant.case_id == case.id)).all()
    assert sorted(names) == ["Karin Lärare", "Omar Läkare", "Sara Socionom"]
    page = coordinator_client.get(base).get_data(as_text=True)
    assert "2026-03-20 13:00" in page  # shown in Stockholm time


def test_sip_document_and_workflow_pages(
    coordinator_client: FlaskClient, builder: CaseBuilder
) -> None:
    case = builder.case_in("folj_upp")
    doc = coordinator_client.get(f"/arenden/{case.id}/sip-dokument").get_data(as_text=True)
    assert "Samordnad individuell plan" in doc and "Anpassad studiegång" in doc
    assert "print.css" in doc
    assert coordinator_client.get(f"/arenden/{case.id}/sip-dokument?version=9").status_code == 404
    diagram = coordinator_client.get("/arbetsfloden/sip").get_data(as_text=True)
    assert "stateDiagram-v2" in diagram and "vendor/mermaid/mermaid.min.js" in diagram
    assert coordinator_client.get("/arbetsfloden/nope").status_code == 404
    script = coordinator_client.get("/static/vendor/mermaid/mermaid.min.js")
    assert script.status_code == 200
    script.close()


def test_search_folds_swedish_letters(
    coordinator_client: FlaskClient, world: World, session: Session
) -> None:
    token = csrf_token(coordinator_client, "/arenden/nytt")
    response = coordinator_client.post(
        "/arenden/nytt",
        data=_new_case_form(
            world, token, first_name="Åsa", last_name="Öberg", identity_number="20120503-1238"
        ),
    )
    assert response.status_code == 302
    for term in ("öberg", "ÖBERG", "åsa ö"):
        page = coordinator_client.get(f"/arenden?q={term}").get_data(as_text=True)
        assert "1 ärende" in page, term
