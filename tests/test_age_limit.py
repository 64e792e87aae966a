"""The target group is 0–20 years (target_group.max_age in sip.yaml): opening a case for someone
older needs the coordinator's confirmation, a placement is refused, and the coordinator is
warned three months before the young person turns 21 (the reminder rule fyller_21)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock, local_date, stockholm
from sip_engine.models import (
    Case,
    CaseEvent,
    EventKind,
    OutboxMessage,
    Placement,
    RaisedBy,
    Reminder,
    ReminderStatus,
)
from sip_engine.models.people import birthday
from sip_engine.notify import Notifier
from sip_engine.reminders import sync_case_reminders
from sip_engine.services import cases, placements
from sip_engine.services.common import ValidationError
from sip_engine.workflow import WorkflowRegistry

from .placement_helpers import folktandvarden, new_placement
from .test_reminders import sweeper
from .world import CaseBuilder

# The fixed clock stands at 2026-03-02 09:00 Stockholm.
TWENTY = date(2005, 8, 10)  # 20 years old; turns 21 on 2026-08-10
TWENTY_TWO = date(2004, 1, 20)  # 22 years old


def _young_person(b: CaseBuilder, born: date) -> int:
    child = cases.register_child(
        b.session,
        first_name="Kim",
        last_name="Äldre",
        identity_number=None,
        birth_date=born,
        today=local_date(b.now),
    )
    return child.id


def _new_case(b: CaseBuilder, child_id: int, *, confirm_age: bool = False) -> Case:
    return cases.open_case(
        b.session,
        b.engine.registry.latest("sip"),
        b.w.actor,
        b.now,
        cases.NewCase(
            child_id=child_id,
            nosam_area_id=b.w.area.id,
            unit_id=b.w.unit.id,
            need_description="Övergång till vuxenpsykiatrin.",
            raised_by=RaisedBy.SOCIALTJANST,
            raised_on=local_date(b.now),
            reasons=["overgang_vuxen"],
            involved_organisation_ids=[b.w.bup.id],
            confirm_age=confirm_age,
        ),
    )


def _age_reminders(session: Session, case_id: int) -> list[Reminder]:
    session.expire_all()
    return list(
        session.scalars(
            select(Reminder).where(Reminder.case_id == case_id, Reminder.rule_id == "fyller_21")
        )
    )


def test_the_coordinator_is_warned_three_months_before_the_21st_birthday_once(
    mail_builder: CaseBuilder,
    db_engine: Engine,
    notifier: Notifier,
    clock: FixedClock,
    registry: WorkflowRegistry,
) -> None:
    b = mail_builder
    case = _new_case(b, _young_person(b, TWENTY))
    b.session.commit()
    [reminder] = _age_reminders(b.session, case.id)
    # 90 days before 2026-08-10, at 08:00 Stockholm (summer time).
    due = stockholm(2026, 5, 12, 8, 0)
    assert (reminder.status, reminder.due_at, reminder.recipient, reminder.user_id) == (
        ReminderStatus.PENDING,
        due,
        "coordinator",
        b.w.coordinator.id,
    )
    # It follows the case through its steps: the same row, not a new one per step.
    b.fire(case, "forbered")
    assert [(r.id, r.status, r.due_at) for r in _age_reminders(b.session, case.id)] == [
        (reminder.id, ReminderStatus.PENDING, due)
    ]

    run = sweeper(db_engine, notifier, clock, registry)
    clock.set(due - timedelta(minutes=1))
    assert run.sweep().reminders == 0
    clock.set(due)
    assert run.sweep().reminders == 1
    b.session.rollback()
    [mail] = b.session.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id))
    assert mail.to_address == "sara@example.se"
    assert mail.subject == (
        "Varning: Den unga fyller 21 år inom tre månader eller har fyllt 21: planera "
        "överlämningen till vuxenspåret och avsluta med skälet ”fyller 21” "
        f"({case.reference})"
    )
    assert "Kim" not in mail.body_text and "Äldre" not in mail.body_text
    clock.set(stockholm(2026, 8, 11, 9, 0))
    assert run.sweep().reminders == 0  # nothing twice
    assert [r.status for r in _age_reminders(b.session, case.id)] == [ReminderStatus.SENT]


def test_a_corrected_birth_date_moves_the_same_reminder_and_closing_cancels_it(
    builder: CaseBuilder,
) -> None:
    """There is no form to edit a birth date yet; a correction (here in the session) followed
    by the sync every change runs moves the pending reminder, it does not add one."""
    b = builder
    child_id = _young_person(b, TWENTY)
    case = _new_case(b, child_id)
    b.session.commit()
    [before] = _age_reminders(b.session, case.id)
    case.child.birth_date = date(2005, 9, 1)
    sync_case_reminders(b.session, case, b.now)
    b.session.commit()
    [after] = _age_reminders(b.session, case.id)
    assert after.id == before.id and after.status is ReminderStatus.PENDING
    assert after.due_at == stockholm(2026, 6, 3, 8, 0)

    b.fire(case, "avboj", reason="Inget behov", reason_code="behov_saknas")
    assert [r.status for r in _age_reminders(b.session, case.id)] == [ReminderStatus.CANCELLED]


def test_a_young_child_gets_the_warning_years_ahead(builder: CaseBuilder) -> None:
    case = builder.open()  # the world child, born 2015-03-15
    assert [r.due_at for r in _age_reminders(builder.session, case.id)] == [
        stockholm(2035, 12, 16, 8, 0)
    ]


def test_birthday_on_29_february_is_1_march_in_a_common_year() -> None:
    assert birthday(date(2008, 2, 29), 21) == date(2029, 3, 1)
    assert birthday(date(2008, 2, 29), 20) == date(2028, 2, 29)
    assert birthday(TWENTY, 21) == date(2026, 8, 10)


def test_opening_a_case_for_someone_21_or_older_asks_for_confirmation(
    mail_builder: CaseBuilder,
    db_engine: Engine,
    notifier: Notifier,
    clock: FixedClock,
    registry: WorkflowRegistry,
) -> None:
    b = mail_builder
    child_id = _young_person(b, TWENTY_TWO)
    b.session.commit()
    with pytest.raises(ValidationError) as refused:
        _new_case(b, child_id)
    b.session.rollback()
    assert refused.value.errors == {
        "confirm_age": "Den unga är 22 år. SIP för barn och unga gäller 0–20 år; den som har "
        "fyllt 21 hör normalt till vuxenspåret. Bekräfta att ärendet ändå ska öppnas här."
    }
    assert b.session.scalar(select(func.count()).select_from(Case)) == 0

    case = _new_case(b, child_id, confirm_age=True)
    b.session.commit()
    opened = b.session.scalars(
        select(CaseEvent).where(
            CaseEvent.case_id == case.id, CaseEvent.kind == EventKind.CASE_OPENED
        )
    ).one()
    assert opened.details["over_target_age_confirmed"] is True
    # Past its time already: the warning goes out on the first sweep, once.
    run = sweeper(db_engine, notifier, clock, registry)
    assert run.sweep().reminders == 1
    assert run.sweep().reminders == 0


def test_the_day_before_the_21st_birthday_needs_no_confirmation(builder: CaseBuilder) -> None:
    b = builder
    born = date(2005, 3, 3)  # 20 today (2026-03-02), 21 tomorrow
    case = _new_case(b, _young_person(b, born))
    b.session.commit()
    event = b.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).one()
    assert "over_target_age_confirmed" not in event.details
    b.clock.set(stockholm(2026, 3, 3, 9, 0))
    with pytest.raises(ValidationError) as refused:
        _new_case(b, case.child_id)
    assert "Den unga är 21 år." in refused.value.errors["confirm_age"]


def test_a_placement_for_someone_21_or_older_is_refused(
    session: Session,
    builder: CaseBuilder,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
) -> None:
    child_id = _young_person(builder, TWENTY_TWO)
    ftv = folktandvarden(session, builder.w)
    session.commit()
    with pytest.raises(ValidationError) as refused:
        placements.register_placement(
            session,
            registry,
            notifier,
            builder.w.actor,
            clock.now(),
            new_placement(builder.w, ftv, local_date(clock.now()), child_id=child_id),
        )
    session.rollback()
    assert refused.value.errors == {
        "child_id": "Den unga är 22 år. Placeringar registreras här för barn och unga 0–20 år."
    }
    assert session.scalar(select(func.count()).select_from(Placement)) == 0
    assert session.scalar(select(func.count()).select_from(Case)) == 0
