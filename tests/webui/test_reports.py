"""The reports pages: who may open them, what they show, the CSV export and its safety,
the audit of reads, and recording whether the child took part in a meeting."""

from __future__ import annotations

import csv
import io

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from sip_engine.models import AccessLog, Case, Meeting, NosamArea

from ..reports.dataset import build_dataset
from ..world import CaseBuilder, World
from .conftest import csrf_token, login

PAGES = ["/rapporter/", "/rapporter/export.csv", "/rapporter/arsrapport"]


def _csv(body: bytes) -> list[list[str]]:
    text = body.decode("utf-8")
    assert text.startswith("\ufeff"), "Swedish Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(text[1:]), delimiter=";"))


@pytest.mark.parametrize("who", ["samordnare", "bup", "kurator"])
@pytest.mark.parametrize("path", PAGES)
def test_samordnare_and_deltagare_cannot_open_reports(
    client: FlaskClient, world: World, who: str, path: str
) -> None:
    login(client, who)
    response = client.get(path + "?period=2025")
    assert response.status_code == 404
    assert "Startade SIP" not in response.get_data(as_text=True)


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_users_are_sent_to_login(client: FlaskClient, world: World, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 302
    assert "/logga-in" in response.headers["Location"]


@pytest.mark.parametrize("who", ["chef", "admin"])
def test_chef_and_admin_see_the_report_with_charts(
    client: FlaskClient, session: Session, world: World, who: str
) -> None:
    data = build_dataset(session, world)
    login(client, who)
    response = client.get(f"/rapporter/?period=2025&omrade={data.centrum.id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "Centrum, 2025" in page
    assert '<th scope="row">Startade SIP</th><td class="num">30</td><td class="num">8</td>' in page
    assert '<th scope="row">Familjen</th><td class="num">&lt;5</td>' in page
    assert page.count('role="img"') == 1  # the monthly trend; no per-area chart for one area
    assert "<script" not in page.split("</main>")[0]  # charts are plain SVG
    all_areas = client.get("/rapporter/?period=2025").get_data(as_text=True)
    assert all_areas.count('role="img"') == 2
    assert "SIP per NOSAM-område" in all_areas
    # The navigation offers the reports to these roles.
    assert 'href="/rapporter/"' in page


def test_the_reports_link_is_not_offered_to_a_samordnare(
    coordinator_client: FlaskClient,
) -> None:
    assert 'href="/rapporter/"' not in coordinator_client.get("/").get_data(as_text=True)


def test_a_bad_period_or_area_is_explained(client: FlaskClient, world: World) -> None:
    login(client, "chef")
    response = client.get("/rapporter/?period=2025-01-01..2025-06-30")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Ange perioden som år (2026), kvartal (2026-K1) eller månad (2026-03)." in page
    assert 'aria-invalid="true"' in page
    assert client.get("/rapporter/?period=2025&omrade=999").status_code == 400
    assert client.get("/rapporter/?period=2025&omrade=99999999999999999999").status_code == 400
    assert client.get("/rapporter/export.csv?period=nej").status_code == 400
    assert client.get("/rapporter/export.csv?period=2025&tabell=finns-inte").status_code == 404


def test_csv_has_the_same_figures_as_the_page(
    client: FlaskClient, session: Session, world: World
) -> None:
    data = build_dataset(session, world)
    login(client, "chef")
    response = client.get(
        f"/rapporter/export.csv?period=2025&omrade={data.centrum.id}&tabell=initiativ"
    )
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = _csv(response.data)
    assert rows[0] == ["Startade SIP efter vem som väckte behovet"]
    assert rows[1] == ["Centrum, 2025"]
    assert rows[2] == ["", "2025", "Föregående: 2024"]
    assert rows[3:] == [
        ["Socialtjänst", "12", "8"],
        ["Skola", "9", "0"],
        ["Region", "döljs", "0"],
        ["Familjen", "<5", "0"],
        ["Annan", "0", "0"],
    ]
    whole = _csv(client.get(f"/rapporter/export.csv?period=2025&omrade={data.centrum.id}").data)
    titles = [r[0] for r in whole if len(r) == 1 and r[0] and not r[0].startswith("Centrum")]
    assert titles[0] == "SIP startade, pågående och avslutade"
    assert "SIP per månad, 2025" in titles
    assert ["Startade SIP", "30", "8"] in whole


def test_csv_cells_cannot_start_a_formula(
    client: FlaskClient, session: Session, world: World
) -> None:
    names = ['=HYPERLINK("http://x")', "+SUM(A1)", "-2+3", "@cmd", "\tflik", "\rretur"]
    for name in names:
        session.add(NosamArea(name=name, kommun="Göteborg"))
    session.commit()
    login(client, "admin")
    rows = _csv(client.get("/rapporter/export.csv?period=2025&tabell=per_omrade").data)
    labels = [r[0] for r in rows[3:]]
    for name in names:
        assert "'" + name in labels
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for r in rows for cell in r)


def test_reading_a_report_is_audited_without_case_ids(
    client: FlaskClient, session: Session, world: World
) -> None:
    login(client, "chef")
    for path in PAGES:
        assert client.get(path + "?period=2025").status_code == 200
    session.expire_all()
    logged = session.scalars(select(AccessLog).where(AccessLog.user_id == world.manager.id)).all()
    actions = [(a.action, a.case_id) for a in logged if a.action.startswith("report")]
    assert actions == [("report_view", None), ("report_csv", None), ("report_print", None)]


def test_the_printable_annual_report(client: FlaskClient, session: Session, world: World) -> None:
    data = build_dataset(session, world)
    login(client, "chef")
    page = client.get(f"/rapporter/arsrapport?period=2025&omrade={data.centrum.id}").get_data(
        as_text=True
    )
    assert "SIP för barn och unga – Centrum, 2025" in page
    assert 'id="print-button"' in page
    assert "print.css" in page
    assert "Ladda ner tabellen som CSV" not in page


def test_the_attendance_form_records_whether_the_child_took_part(
    coordinator_client: FlaskClient, builder: CaseBuilder, session: Session
) -> None:
    case = builder.case_in("mote")
    base = f"/arenden/{case.id}/narvaro"
    for answer, stored in (("ja", True), ("nej", False), ("", None)):
        token = csrf_token(coordinator_client, base)
        session.rollback()  # a fresh snapshot: see what the request committed
        session.expire_all()
        version = session.get_one(Case, case.id).version
        response = coordinator_client.post(
            base, data={"csrf_token": token, "version": version, "child_attended": answer}
        )
        assert response.status_code == 303, response.get_data(as_text=True)
        session.rollback()
        session.expire_all()
        meeting = session.scalars(select(Meeting).where(Meeting.case_id == case.id)).one()
        assert meeting.child_attended is stored
        form = coordinator_client.get(base).get_data(as_text=True)
        assert ('value="ja" checked' in form) is (stored is True)
        assert ('value="nej" checked' in form) is (stored is False)
