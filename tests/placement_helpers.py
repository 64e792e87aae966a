"""Shared set-up for placement tests: the region clinics and a placement input."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from sip_engine.models import Organisation, Party, PlacementBasis, PlacementForm
from sip_engine.services.placements import ExamContactInput, NewPlacement

from .world import World

VC_CONTACT = "Vera Vårdcentral <vera@vc.example.se>"
FTV_CONTACT = "Tore Tandvård <tore@ftv.example.se>"


def folktandvarden(session: Session, world: World) -> Organisation:
    org = Organisation(
        name="Folktandvården Centrum",
        party=Party.REGION,
        kind="folktandvård",
        huvudman="Västra Götalandsregionen",
        kommun="Göteborg",
        nosam_area_id=world.area.id,
    )
    session.add(org)
    session.flush()
    return org


def new_placement(
    world: World, ftv: Organisation, start: date, *, child_id: int | None = None
) -> NewPlacement:
    return NewPlacement(
        child_id=child_id or world.child.id,
        form=PlacementForm.FAMILJEHEM,
        legal_basis=PlacementBasis.LVU,
        start_date=start,
        planned_end=None,
        placing_kommun="Göteborg",
        receiving_kommun="Partille",
        receiving_area_id=world.area.id,
        vardcentral=ExamContactInput(
            world.vardcentral.id, "Vera Vårdcentral", "vera@vc.example.se"
        ),
        tandvard=ExamContactInput(ftv.id, "Tore Tandvård", "tore@ftv.example.se"),
    )
