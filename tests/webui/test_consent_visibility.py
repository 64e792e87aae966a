"""What a participant sees of a case, through the web client: without a complete consent only
the reference, the step, the meeting and their own participation; with one, the parts its
categories name. The search never confirms a hidden child by name or personnummer."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import select

from sip_engine.models import Case, Consent

from ..world import CaseBuilder
from .conftest import login

GUARDIANS = ("Maria Testsson", "Jonas Testsson")
OTHERS = ("Karin Lärare", "Sara Socionom", "Johannebergsskolan")


def _page(client: FlaskClient, case_id: int) -> str:
    response = client.get(f"/arenden/{case_id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _drop_bup_from_one_guardian(builder: CaseBuilder, case: Case) -> None:
    """Guardian Jonas's consent no longer names BUP: Maria's alone must not be enough."""
    w = builder.w
    (row,) = builder.session.scalars(select(Consent)).all()
    row.given_by_relative_ids = [w.child.guardians[0].id]
    builder.give_consent(
        case, orgs=[w.unit.id, w.school.id], guardian_ids=[w.child.guardians[1].id]
    )


def test_without_a_complete_consent_only_the_basics_are_shown(
    client: FlaskClient, builder: CaseBuilder
) -> None:
    case = builder.case_in("kalla")
    _drop_bup_from_one_guardian(builder, case)
    login(client, "bup")
    page = _page(client, case.id)
    # The reference, the step, the meeting and the participant's own participation.
    assert case.reference in page
    assert "Stadsdelshuset, rum 3" in page
    assert "Hur får Alva en fungerande skolgång?" in page
    assert "Omar Läkare" in page and "Ditt deltagande" in page
    # Nothing else: no child, guardians, need, other services, plan or history.
    for hidden in (
        "Alva Testsson",
        "201503152389",
        *GUARDIANS,
        *OTHERS,
        "Hög skolfrånvaro",
        "Planen",
        "Händelser",
        "Vad är viktigt för dig?",
    ):
        assert hidden not in page, hidden
    assert client.get(f"/arenden/{case.id}/sip-dokument").status_code == 404


def test_the_close_note_is_hidden_without_consent(
    client: FlaskClient, builder: CaseBuilder
) -> None:
    case = builder.case_in("kalla")
    _drop_bup_from_one_guardian(builder, case)
    builder.session.refresh(case)
    builder.fire(case, "avsluta", reason="Flyttar till Borås.", reason_code="flyttat")
    login(client, "bup")
    page = _page(client, case.id)
    assert "Avslutat" in page
    assert "Flyttar till Borås." not in page and "har flyttat" not in page


def test_categories_show_only_their_parts(client: FlaskClient, builder: CaseBuilder) -> None:
    case = builder.case_in("kalla")
    (row,) = builder.session.scalars(select(Consent)).all()
    row.information_categories = ["plan"]
    builder.session.commit()
    login(client, "bup")
    page = _page(client, case.id)
    assert "Alva Testsson" in page  # a complete consent shows the child ...
    assert "Karin Lärare" in page  # ... and who takes part
    assert "Planen" in page
    for hidden in (*GUARDIANS, "Hög skolfrånvaro", "Att jag får vara med mina kompisar"):
        assert hidden not in page, hidden
    assert client.get(f"/arenden/{case.id}/sip-dokument").status_code == 200
    row.information_categories = ["familj", "behov"]
    builder.session.commit()
    page = _page(client, case.id)
    assert all(name in page for name in GUARDIANS) and "Hög skolfrånvaro" in page
    assert "Planen" not in page
    assert client.get(f"/arenden/{case.id}/sip-dokument").status_code == 404


def test_search_finds_a_hidden_child_by_reference_only(
    client: FlaskClient, builder: CaseBuilder
) -> None:
    case = builder.case_in("kalla")
    login(client, "bup")
    for term in ("Alva", "20150315", case.reference):
        page = client.get("/arenden", query_string={"q": term}).get_data(as_text=True)
        assert "1 ärende" in page, term
    _drop_bup_from_one_guardian(builder, case)
    for term in ("Alva", "Testsson", "20150315-2389", "201503152389"):
        page = client.get("/arenden", query_string={"q": term}).get_data(as_text=True)
        assert "0 ärenden" in page, term
    page = client.get("/arenden", query_string={"q": case.reference}).get_data(as_text=True)
    assert "1 ärende" in page and "Alva" not in page
    # The unit's own coordinator still finds the child by name.
    client.post("/logga-ut")
    login(client, "samordnare")
    page = client.get("/arenden", query_string={"q": "Alva"}).get_data(as_text=True)
    assert "1 ärende" in page
