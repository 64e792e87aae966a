"""Placement pages: registering, the dashboard, authorisation, and the region's personal link."""

from __future__ import annotations

import re
from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock, local_date
from sip_engine.models import (
    AccessLog,
    Case,
    CaseEvent,
    HealthExamPart,
    HealthExamRequest,
    Placement,
    PlacementForm,
)
from sip_engine.notify import Notifier
from sip_engine.notify.links import AnswerLinks, HealthExamLinks
from sip_engine.services import placements
from sip_engine.workflow import WorkflowEngine, WorkflowRegistry

from ..placement_helpers import folktandvarden, new_placement
from ..world import CaseBuilder, World
from .conftest import csrf_token, login


def _fresh(session: Session) -> None:
    """See what the app's requests wrote (SQLite keeps a snapshot while a read is open)."""
    session.rollback()
    session.expire_all()


def _placement(
    session: Session, world: World, registry: WorkflowRegistry, clock: FixedClock, **kwargs: object
) -> Placement:
    notifier = Notifier(AnswerLinks("test-secret", "http://localhost"), "SIP-stöd <sip@sip.test>")
    ftv = session.scalars(
        select(placements.Organisation).where(
            placements.Organisation.name == "Folktandvården Centrum"
        )
    ).first() or folktandvarden(session, world)
    data = new_placement(world, ftv, local_date(clock.now()))
    for key, value in kwargs.items():
        setattr(data, key, value)
    placement = placements.register_placement(
        session, registry, notifier, world.actor, clock.now(), data
    )
    session.commit()
    return placement


def test_a_coordinator_registers_a_placement_and_sees_both_requests_on_the_dashboard(
    coordinator_client: FlaskClient, session: Session, world: World
) -> None:
    ftv = folktandvarden(session, world)
    session.commit()
    token = csrf_token(coordinator_client, "/placeringar/ny")
    response = coordinator_client.post(
        "/placeringar/ny",
        data={
            "csrf_token": token,
            "first_name": "Elsa",
            "last_name": "Placerad",
            "identity_number": "20160610-2380",
            "form": "hvb",
            "legal_basis": "lvu",
            "start_date": "2026-03-02",
            "placing_kommun": "Göteborg",
            "receiving_kommun": "Kungälv",
            "receiving_area_id": str(world.area.id),
            "vardcentral_organisation_id": str(world.vardcentral.id),
            "vardcentral_contact_name": "Vera Vårdcentral",
            "vardcentral_contact_email": "vera@vc.example.se",
            "tandvard_organisation_id": str(ftv.id),
            "tandvard_contact_name": "Tore Tandvård",
            "tandvard_contact_email": "tore@ftv.example.se",
        },
    )
    assert response.status_code == 303, response.get_data(as_text=True)
    page = coordinator_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Placeringen är registrerad." in page and "Under placering" in page

    board = coordinator_client.get("/placerade-barn").get_data(as_text=True)
    assert "Elsa Placerad" in board
    row = board[board.index("Elsa Placerad") :]
    row = row[: row.index("</tr>")]
    assert row.count("Begärd") == 2 and "HVB" in row and "tid senast 2026-03-30" in row
    assert "1 placerat barn" in board

    # Filters: another placement form shows nobody.
    assert "Elsa Placerad" not in coordinator_client.get(
        "/placerade-barn?form=familjehem"
    ).get_data(as_text=True)
    assert "Elsa Placerad" in coordinator_client.get(
        f"/placerade-barn?form=hvb&area={world.area.id}"
    ).get_data(as_text=True)


def test_registration_errors_are_shown_and_nothing_is_saved(
    coordinator_client: FlaskClient, session: Session, world: World
) -> None:
    token = csrf_token(coordinator_client, "/placeringar/ny")
    response = coordinator_client.post(
        "/placeringar/ny", data={"csrf_token": token, "first_name": "Elsa"}
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Ange efternamn." in page and "Välj placeringsform." in page
    assert session.scalar(select(func.count()).select_from(Placement)) == 0


def test_overdue_placements_come_first_and_the_share_counts_settled_ones(
    coordinator_client: FlaskClient,
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    clock: FixedClock,
) -> None:
    start = clock.now()
    early = _placement(session, world, registry, clock)
    clock.set(start + timedelta(days=20))
    other_child = placements.cases.register_child(
        session,
        first_name="Nils",
        last_name="Senare",
        identity_number=None,
        birth_date=local_date(start) - timedelta(days=3000),
        today=local_date(start),
    )
    session.commit()
    _placement(session, world, registry, clock, child_id=other_child.id, form=PlacementForm.JOURHEM)
    clock.set(start + timedelta(days=30))
    board = coordinator_client.get("/placerade-barn").get_data(as_text=True)
    assert board.index("Alva Testsson") < board.index("Nils Senare")
    assert board.count("Försenad") == 2  # both parts of the first placement
    # The first placement has passed its deadline undone: 0 of 1 settled placement in time.
    assert "0 %" in board and "0 av 1 placeringar" in board

    # Both parts of the early one done in time (one not needed): it counts as in time.
    vc, ftv = sorted(early.health_exams, key=lambda e: e.part is HealthExamPart.MUNHALSA)
    placements.fire_exam(
        session,
        registry,
        None,
        ftv,
        "obehovlig",
        world.actor,
        clock.now(),
        reason="Undersökt i förra placeringen.",
    )
    for trigger, kwargs in (
        ("erbjud_tid", {"offered_time": clock.now()}),
        ("genomford", {"done_on": local_date(start) + timedelta(days=25)}),
    ):
        placements.fire_exam(
            session, registry, None, vc, trigger, world.actor, clock.now(), **kwargs
        )  # type: ignore[arg-type]
    session.commit()
    board = coordinator_client.get("/placerade-barn").get_data(as_text=True)
    assert "100 %" in board and "1 av 1 placeringar" in board


def test_another_units_coordinator_and_participants_get_404(
    client: FlaskClient,
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    clock: FixedClock,
) -> None:
    placement = _placement(session, world, registry, clock)
    exam = placement.health_exams[0]
    login(client, world.other_coordinator.username)
    assert client.get(f"/placeringar/{placement.id}").status_code == 404
    assert "Alva" not in client.get("/placerade-barn").get_data(as_text=True)
    token = csrf_token(client, "/placerade-barn")
    for path in (
        f"/placeringar/{placement.id}/fas/infor_avslut",
        f"/placeringar/{placement.id}/halsa/{exam.id}/obehovlig",
    ):
        assert client.post(path, data={"csrf_token": token, "reason": "x"}).status_code == 404
    _fresh(session)
    assert session.get_one(Placement, placement.id).state == "under"
    assert session.get_one(HealthExamRequest, exam.id).status == "begard"

    client.post("/logga-ut", data={"csrf_token": token})
    login(client, world.bup_user.username)
    assert client.get("/placerade-barn").status_code == 404
    assert client.get(f"/placeringar/{placement.id}").status_code == 404


def test_not_needed_without_a_reason_is_refused_on_the_page(
    coordinator_client: FlaskClient,
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    clock: FixedClock,
) -> None:
    placement = _placement(session, world, registry, clock)
    exam = placement.health_exams[1]
    events = session.scalar(select(func.count()).select_from(CaseEvent))
    token = csrf_token(coordinator_client, f"/placeringar/{placement.id}")
    response = coordinator_client.post(
        f"/placeringar/{placement.id}/halsa/{exam.id}/obehovlig",
        data={"csrf_token": token, "reason": "  "},
        follow_redirects=True,
    )
    assert "Ange varför undersökningen inte behövs" in response.get_data(as_text=True)
    _fresh(session)
    assert session.get_one(HealthExamRequest, exam.id).status == "begard"
    assert session.scalar(select(func.count()).select_from(CaseEvent)) == events


def _link(placement: Placement, part: HealthExamPart) -> tuple[HealthExamRequest, str]:
    notifier = Notifier(AnswerLinks("test-secret", "http://localhost"), "SIP-stöd <sip@sip.test>")
    exam = next(e for e in placement.health_exams if e.part is part)
    return exam, placements.exam_link(notifier, exam).removeprefix("http://localhost")


def test_the_region_link_shows_on_get_and_records_only_on_post(
    client: FlaskClient,
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    clock: FixedClock,
) -> None:
    placement = _placement(session, world, registry, clock)
    exam, path = _link(placement, HealthExamPart.FYSISK_PSYKISK)
    other, _other_path = _link(placement, HealthExamPart.MUNHALSA)
    events = session.scalar(select(func.count()).select_from(CaseEvent))
    for _ in range(3):  # a mail scanner opening it
        page = client.get(path)
        assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert (
        "Fysisk och psykisk hälsa" in text and "Alva Testsson" in text and "20150315-2389" in text
    )
    _fresh(session)
    assert session.get_one(HealthExamRequest, exam.id).status == "begard"
    assert session.scalar(select(func.count()).select_from(CaseEvent)) == events
    # It shows the child's identity, so every opening is an audited read, by the link.
    reads = session.execute(
        select(AccessLog.action, AccessLog.case_id, AccessLog.user_id).where(
            AccessLog.action.like("health_exam_link:%")
        )
    ).all()
    assert reads == [(f"health_exam_link:{exam.id}", placement.case_id, None)] * 3

    token = re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)  # type: ignore[union-attr]
    assert (
        client.post(
            path, data={"trigger": "erbjud_tid", "offered_time": "2026-03-20T10:00"}
        ).status_code
        == 400
    )  # no CSRF
    missing = client.post(path, data={"csrf_token": token, "trigger": "erbjud_tid"})
    assert missing.status_code == 400 and "Ange den erbjudna tiden." in missing.get_data(
        as_text=True
    )
    not_allowed = client.post(
        path, data={"csrf_token": token, "trigger": "obehovlig", "reason": "x"}
    )
    assert not_allowed.status_code == 400
    _fresh(session)
    assert session.get_one(HealthExamRequest, exam.id).status == "begard"

    saved = client.post(
        path,
        data={"csrf_token": token, "trigger": "erbjud_tid", "offered_time": "2026-03-20T10:00"},
    )
    assert saved.status_code == 200 and "Tack! Det är registrerat." in saved.get_data(as_text=True)
    _fresh(session)
    recorded = session.get_one(HealthExamRequest, exam.id)
    assert recorded.status == "tid_erbjuden"
    assert (
        recorded.offered_time is not None
        and recorded.offered_time.isoformat() == "2026-03-20T09:00:00+00:00"
    )
    # Only its own part changed.
    assert session.get_one(HealthExamRequest, other.id).status == "begard"
    event = session.scalars(select(CaseEvent).order_by(CaseEvent.id.desc())).first()
    assert event is not None and event.details["via_link"] is True
    assert event.actor_organisation_id == world.vardcentral.id and event.actor_user_id is None


def test_tampered_foreign_and_finished_region_links_are_refused(
    client: FlaskClient,
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    clock: FixedClock,
) -> None:
    placement = _placement(session, world, registry, clock)
    exam, path = _link(placement, HealthExamPart.FYSISK_PSYKISK)
    other, _ = _link(placement, HealthExamPart.MUNHALSA)

    tampered = path[:-2] + ("AA" if not path.endswith("AA") else "BB")
    response = client.get(tampered)
    assert response.status_code == 404 and "Länken fungerar inte" in response.get_data(as_text=True)
    forged = HealthExamLinks(AnswerLinks("another-secret", "http://x"))
    assert (
        client.get(
            f"/halsoundersokning/{forged.token(exam.id, exam.placement_id, exam.link_nonce)}"
        ).status_code
        == 404
    )
    # This link's nonce on the other part's id: refused (a link opens only its own part).
    links = HealthExamLinks(AnswerLinks("test-secret", "http://localhost"))
    swapped = links.token(other.id, other.placement_id, exam.link_nonce)
    assert client.get(f"/halsoundersokning/{swapped}").status_code == 404
    # A kallelse answer link signed with the same secret is not a health-exam link.
    answer_token = AnswerLinks("test-secret", "http://localhost").token(
        exam.id, exam.placement_id, 1, exam.link_nonce
    )
    assert client.get(f"/halsoundersokning/{answer_token}").status_code == 404

    # Once the part is finished the link has expired and records nothing.
    placements.fire_exam(
        session,
        registry,
        None,
        exam,
        "obehovlig",
        world.actor,
        clock.now(),
        reason="Undersökt i förra placeringen för två månader sedan.",
    )
    session.commit()
    page = client.get(path)
    assert page.status_code == 410 and "Länken har gått ut" in page.get_data(as_text=True)
    token = csrf_token(client, "/logga-in")
    expired = client.post(
        path,
        data={"csrf_token": token, "trigger": "erbjud_tid", "offered_time": "2026-03-20T10:00"},
    )
    assert expired.status_code == 410
    _fresh(session)
    assert session.get_one(HealthExamRequest, exam.id).status == "obehovlig"


def test_the_case_page_links_its_placement_for_the_unit_only(
    client: FlaskClient,
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    clock: FixedClock,
) -> None:
    placement = _placement(session, world, registry, clock)
    login(client, world.coordinator.username)
    page = client.get(f"/arenden/{placement.case_id}").get_data(as_text=True)
    assert f'href="/placeringar/{placement.id}"' in page
    assert "Familjehem från 2026-03-02</a> – Under placering" in page
    # The timeline names the placement's and the examinations' states in words.
    assert "Placeringen bytte fas: Före placering → Under placering" in page
    assert "Hälsoundersökning: Munhälsa (Folktandvården): Att begära → Begärd" in page

    # A participant (BUP) sees the case, but neither the placement nor its history.
    CaseBuilder(session, world, WorkflowEngine(registry, clock), clock).add_participants(
        session.get_one(Case, placement.case_id)
    )
    client.post("/logga-ut", data={"csrf_token": csrf_token(client, "/")})
    login(client, world.bup_user.username)
    response = client.get(f"/arenden/{placement.case_id}")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "/placeringar/" not in page and "Placeringen bytte fas" not in page
    assert "Munhälsa" not in page and "Att begära" not in page


def test_region_staff_with_an_account_update_only_their_clinics_part(
    client: FlaskClient,
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    clock: FixedClock,
) -> None:
    placement = _placement(session, world, registry, clock)
    vc = next(e for e in placement.health_exams if e.part is HealthExamPart.FYSISK_PSYKISK)
    ftv = next(e for e in placement.health_exams if e.part is HealthExamPart.MUNHALSA)
    login(client, world.other_deltagare.username)  # a kurator at the vårdcentral
    page = client.get("/halsoundersokningar").get_data(as_text=True)
    assert "Alva Testsson – Fysisk och psykisk hälsa (vårdcentral)" in page
    assert "Munhälsa" not in page
    token = csrf_token(client, "/halsoundersokningar")

    other_clinic = client.post(
        f"/halsoundersokningar/{ftv.id}/erbjud_tid",
        data={"csrf_token": token, "offered_time": "2026-03-20T10:00"},
    )
    assert other_clinic.status_code == 404
    client.post(
        f"/halsoundersokningar/{vc.id}/obehovlig", data={"csrf_token": token, "reason": "x"}
    )
    _fresh(session)
    assert session.get_one(HealthExamRequest, vc.id).status == "begard"
    assert session.get_one(HealthExamRequest, ftv.id).status == "begard"

    done = client.post(
        f"/halsoundersokningar/{vc.id}/erbjud_tid",
        data={"csrf_token": token, "offered_time": "2026-03-20T10:00"},
        follow_redirects=True,
    )
    assert "Det är registrerat." in done.get_data(as_text=True)
    _fresh(session)
    assert session.get_one(HealthExamRequest, vc.id).status == "tid_erbjuden"
    event = session.scalars(select(CaseEvent).order_by(CaseEvent.id.desc())).first()
    assert event is not None and event.actor_user_id == world.other_deltagare.id
    assert event.details["via_region_account"] is True

    client.post("/logga-ut", data={"csrf_token": token})
    login(client, world.bup_user.username)  # region, but BUP: nothing was requested from it
    assert "Alva" not in client.get("/halsoundersokningar").get_data(as_text=True)
    assert (
        client.post(
            f"/halsoundersokningar/{vc.id}/genomford",
            data={"csrf_token": csrf_token(client, "/halsoundersokningar")},
        ).status_code
        == 404
    )


def test_the_coordinator_moves_the_placement_through_its_phases_on_the_page(
    coordinator_client: FlaskClient,
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    clock: FixedClock,
) -> None:
    placement = _placement(session, world, registry, clock)
    token = csrf_token(coordinator_client, f"/placeringar/{placement.id}")
    page = coordinator_client.post(
        f"/placeringar/{placement.id}/fas/infor_avslut",
        data={"csrf_token": token, "version": str(placement.version)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Klart: placeringen är nu ”Inför avslut”." in page
    # A stale version (someone else moved it meanwhile) changes nothing.
    stale = coordinator_client.post(
        f"/placeringar/{placement.id}/fas/avsluta_placering",
        data={"csrf_token": token, "version": str(placement.version), "ended_on": "2026-03-02"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "ändrats av någon annan" in stale
    _fresh(session)
    current = session.get_one(Placement, placement.id)
    assert current.state == "infor_avslut"
    page = coordinator_client.post(
        f"/placeringar/{placement.id}/fas/avsluta_placering",
        data={"csrf_token": token, "version": str(current.version), "ended_on": "2026-03-02"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "Klart: placeringen är nu ”Efter placering”." in page
    _fresh(session)
    ended = session.get_one(Placement, placement.id)
    assert ended.state == "efter" and ended.ended_on is not None
    assert ended.ended_on.isoformat() == "2026-03-02"


def test_a_planned_placement_offers_no_request_before_it_starts(
    coordinator_client: FlaskClient,
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    clock: FixedClock,
) -> None:
    placement = _placement(
        session, world, registry, clock, start_date=local_date(clock.now()) + timedelta(days=7)
    )
    page = coordinator_client.get(f"/placeringar/{placement.id}").get_data(as_text=True)
    assert "Före placering" in page and page.count("Att begära") >= 2
    assert "Skicka begäran till regionen" not in page
    assert "Markera som obehövlig" in page  # a part can be judged unnecessary beforehand
    assert "Placeringen har börjat" in page
    for name in ("placement", "halsoundersokning"):
        assert f'href="/arbetsfloden/{name}"' in page
        assert coordinator_client.get(f"/arbetsfloden/{name}").status_code == 200
