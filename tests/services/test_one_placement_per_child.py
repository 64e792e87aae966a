"""One current placement per child, whichever unit registers it: a second unit is refused with
a message that names only the owning unit, the owning unit learns of the attempt (history and
a mail without child data), and the database holds the rule against a race."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock, local_date
from sip_engine.db import writes_ahead
from sip_engine.models import (
    CaseEvent,
    Child,
    EventKind,
    HealthExamRequest,
    OutboxMessage,
    Placement,
    User,
)
from sip_engine.notify import Notifier
from sip_engine.services import cases, placements
from sip_engine.services.common import ValidationError
from sip_engine.workflow import Actor, WorkflowRegistry

from ..placement_helpers import folktandvarden, new_placement
from ..world import World

# The world child's personnummer, as a second unit would type it.
SAME_NUMBER = "201503152389"


def _first_placement(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
) -> Placement:
    world.unit.email = "centrum.barn@goteborg.se"
    ftv = folktandvarden(session, world)
    placement = placements.register_placement(
        session,
        registry,
        notifier,
        world.actor,
        clock.now(),
        new_placement(world, ftv, local_date(clock.now())),
    )
    session.commit()
    return placement


def _second_unit_registers(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
) -> Placement:
    """The other unit types the same personnummer: the child row is the same one."""
    child = cases.register_child(
        session,
        first_name="Alva",
        last_name="Testsson",
        identity_number=SAME_NUMBER,
        today=local_date(clock.now()),
    )
    assert child.id == world.child.id
    ftv = session.scalars(
        select(placements.Organisation).where(
            placements.Organisation.name == "Folktandvården Centrum"
        )
    ).one()
    return placements.register_placement(
        session,
        registry,
        notifier,
        Actor.for_user(world.other_coordinator),
        clock.now(),
        new_placement(world, ftv, local_date(clock.now()), child_id=child.id),
    )


def _counts(session: Session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(Placement)) or 0,
        session.scalar(select(func.count()).select_from(HealthExamRequest)) or 0,
    )


def test_a_second_unit_is_refused_told_only_who_holds_it_and_the_owner_learns_of_it(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
) -> None:
    first = _first_placement(session, world, registry, notifier, clock)
    world.other_unit.email = "angered.barn@goteborg.se"
    session.commit()
    before = _counts(session)
    outbox_before = session.scalar(select(func.count()).select_from(OutboxMessage))

    with pytest.raises(placements.PlacementExists) as refused:
        _second_unit_registers(session, world, registry, notifier, clock)
    session.rollback()
    message = refused.value.errors["child_id"]
    assert message == (
        "Barnet har redan en pågående placering som en annan enhet har registrerat: "
        "Socialtjänst Centrum, barn och unga, centrum.barn@goteborg.se. Kontakta enheten; den "
        "har fått besked om att ni försökt registrera en placering. Uppgifter om placeringen "
        "visas inte här."
    )
    # Nothing about the placement or the case: not its form, start, receiving kommun or case.
    for detail in ("Familjehem", "2026-03-02", "Partille", first.case.reference):
        assert detail not in message
    assert refused.value.placement_id == first.id
    # Nothing was written: one placement, one set of examination requests, no second case.
    assert _counts(session) == before == (1, 2)
    assert session.scalar(select(func.count()).select_from(placements.Case)) == 1

    event = placements.record_refused_registration(
        session,
        registry,
        notifier,
        refused.value,
        Actor.for_user(world.other_coordinator),
        clock.now(),
    )
    session.commit()
    # The refusal is in the owning case's history, by the other unit's coordinator.
    stored = session.get_one(CaseEvent, event.id)
    assert stored.case_id == first.case_id
    assert stored.kind is EventKind.TRANSITION_REFUSED
    assert stored.actor_organisation_id == world.other_unit.id
    assert stored.reason == (
        "Socialtjänst Angered, barn och unga försökte registrera en placering för barnet. "
        "Nekades: barnet har redan en pågående placering här."
    )
    assert stored.details["placement_id"] == first.id
    # The owning coordinator gets one mail naming the other unit, without the child's data.
    mails = list(
        session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "placering_nekad"))
    )
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == (
        (outbox_before or 0) + 1
    )
    assert [m.to_address for m in mails] == ["sara@example.se"]
    mail = mails[0]
    assert mail.subject == (
        f"En annan enhet försökte registrera en placering ({first.case.reference})"
    )
    assert "Socialtjänst Angered, barn och unga (angered.barn@goteborg.se)" in mail.body_text
    for secret in ("Alva", "Testsson", "20150315", "2389", "Partille", "Familjehem"):
        assert secret not in mail.body_text and secret not in mail.subject


def test_with_protected_identity_the_owning_unit_is_not_named(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
) -> None:
    _first_placement(session, world, registry, notifier, clock)
    session.get_one(Child, world.child.id).protected_identity = True
    session.commit()
    with pytest.raises(placements.PlacementExists) as refused:
        _second_unit_registers(session, world, registry, notifier, clock)
    session.rollback()
    message = refused.value.errors["child_id"]
    assert "Socialtjänst Centrum" not in message and "centrum.barn" not in message
    assert "skyddade personuppgifter" in message and "kontaktar er" in message
    assert _counts(session) == (1, 2)


def test_the_owning_units_own_second_registration_is_described_and_recorded_without_mail(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
) -> None:
    first = _first_placement(session, world, registry, notifier, clock)
    ftv = first.health_exams[1].region_organisation
    mails_before = session.scalar(select(func.count()).select_from(OutboxMessage))
    with pytest.raises(placements.PlacementExists) as refused:
        placements.register_placement(
            session,
            registry,
            notifier,
            world.actor,
            clock.now(),
            new_placement(world, ftv, local_date(clock.now())),
        )
    session.rollback()
    assert refused.value.errors["child_id"].startswith(
        "Barnet har redan en placering (Familjehem från 2026-03-02)"
    )
    event = placements.record_refused_registration(
        session, registry, notifier, refused.value, world.actor, clock.now()
    )
    session.commit()
    assert session.get_one(CaseEvent, event.id).reason == (
        "En ny placering nekades: barnet har redan en pågående placering."
    )
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == mails_before


def test_an_ended_placement_at_another_unit_does_not_stop_a_new_one(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
) -> None:
    first = _first_placement(session, world, registry, notifier, clock)
    placements.fire_placement(
        session, registry, notifier, first, "avsluta_placering", world.actor, clock.now()
    )
    session.commit()
    second = _second_unit_registers(session, world, registry, notifier, clock)
    session.commit()
    assert second.unit_id == world.other_unit.id and second.state == "under"
    assert placements.current_placement(session, world.child.id) == second
    assert _counts(session) == (2, 4)


def test_the_database_refuses_a_second_current_placement_for_a_child(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
) -> None:
    """Past the service (a bulk import, a bug): the partial unique index still holds."""
    first = _first_placement(session, world, registry, notifier, clock)

    def copy(state: str) -> Placement:
        return Placement(
            case_id=first.case_id,
            child_id=first.child_id,
            unit_id=world.other_unit.id,
            form=first.form,
            legal_basis=first.legal_basis,
            start_date=date(2026, 3, 2),
            placing_kommun="Göteborg",
            receiving_kommun="Partille",
            receiving_area_id=world.area.id,
            workflow_name=first.workflow_name,
            workflow_version=first.workflow_version,
            state=state,
            state_entered_at=clock.now(),
            created_at=clock.now(),
            updated_at=clock.now(),
        )

    for state in ("fore", "under", "infor_avslut"):
        session.add(copy(state))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()
    # Ended ones are history: any number of them.
    session.add_all([copy("efter"), copy("avslutad"), copy("efter")])
    session.commit()
    assert _counts(session)[0] == 4


def test_two_units_registering_at_once_get_one_placement(
    db_engine: Engine,
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
) -> None:
    """Both pass the check before either has written: the database lets one through and the
    other gets the same refusal as when it came second (a form post writes ahead on SQLite,
    so there the second waits its turn; on PostgreSQL it trips the index)."""
    ftv = folktandvarden(session, world)
    session.commit()
    users = [world.coordinator.id, world.other_coordinator.id]
    start = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def register(user_id: int) -> None:
        with writes_ahead(), Session(db_engine, expire_on_commit=False) as own:
            start.wait()
            actor = Actor.for_user(own.get_one(User, user_id))
            data = new_placement(world, ftv, local_date(clock.now()))
            try:
                placements.register_placement(own, registry, notifier, actor, clock.now(), data)
                own.commit()
                outcomes[user_id] = "registered"
            except ValidationError as exc:
                own.rollback()
                outcomes[user_id] = type(exc).__name__

    threads = [threading.Thread(target=register, args=(u,)) for u in users]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes.values()) == ["PlacementExists", "registered"]
    session.rollback()
    assert _counts(session) == (1, 2)
