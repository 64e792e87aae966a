"""A second unit registering a placement for a child placed by another unit, on the page."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock, local_date
from sip_engine.models import CaseEvent, EventKind, HealthExamRequest, OutboxMessage, Placement
from sip_engine.notify import Notifier
from sip_engine.notify.links import AnswerLinks
from sip_engine.services import placements
from sip_engine.workflow import WorkflowRegistry

from ..placement_helpers import folktandvarden, new_placement
from ..world import World
from .conftest import csrf_token, login


def test_another_unit_is_refused_on_the_page_and_the_owner_sees_the_attempt(
    client: FlaskClient,
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    clock: FixedClock,
) -> None:
    ftv = folktandvarden(session, world)
    world.unit.email = "centrum.barn@goteborg.se"
    notifier = Notifier(AnswerLinks("test-secret", "http://localhost"), "SIP-stöd <sip@sip.test>")
    first = placements.register_placement(
        session,
        registry,
        notifier,
        world.actor,
        clock.now(),
        new_placement(world, ftv, local_date(clock.now())),
    )
    session.commit()
    reference = first.case.reference

    login(client, world.other_coordinator.username)
    token = csrf_token(client, "/placeringar/ny")
    response = client.post(
        "/placeringar/ny",
        data={
            "csrf_token": token,
            "first_name": "Alva",
            "last_name": "Testsson",
            "identity_number": "20150315-2389",
            "form": "hvb",
            "legal_basis": "sol",
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
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert (
        "Barnet har redan en pågående placering som en annan enhet har registrerat: "
        "Socialtjänst Centrum, barn och unga, centrum.barn@goteborg.se." in page
    )
    # The page tells nothing of the placement or its case.
    assert reference not in page and "Partille" not in page and "Familjehem från" not in page

    session.rollback()
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Placement)) == 1
    assert session.scalar(select(func.count()).select_from(HealthExamRequest)) == 2
    refusal = session.scalars(
        select(CaseEvent).where(
            CaseEvent.case_id == first.case_id, CaseEvent.kind == EventKind.TRANSITION_REFUSED
        )
    ).one()
    assert refusal.actor_organisation_id == world.other_unit.id
    assert refusal.reason is not None and "Socialtjänst Angered" in refusal.reason
    mail = session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "placering_nekad")
    ).one()
    assert mail.to_address == "sara@example.se" and reference in mail.subject
    assert "Alva" not in mail.body_text and "2389" not in mail.body_text

    # The owning coordinator sees the attempt in the case's history.
    client.post("/logga-ut", data={"csrf_token": csrf_token(client, "/")})
    login(client, world.coordinator.username)
    history = client.get(f"/arenden/{first.case_id}").get_data(as_text=True)
    assert "Socialtjänst Angered, barn och unga försökte registrera en placering" in history
