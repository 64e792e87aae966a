"""Deadline rules become reminders at their time, not before; answers and transitions stop
them; working days skip holidays; quiet hours hold mail until morning."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from sip_engine.clock import STOCKHOLM, FixedClock, stockholm
from sip_engine.db import make_session_factory
from sip_engine.models import (
    Answer,
    Case,
    Invitation,
    OutboxMessage,
    Reminder,
    ReminderStatus,
)
from sip_engine.notify import Notifier
from sip_engine.reminders import shift, wanted_reminders
from sip_engine.scheduler import QuietHours, ReminderSweeper
from sip_engine.services import answers, meetings
from sip_engine.workflow import WorkflowRegistry

from .world import CaseBuilder


def pending(session: Session) -> dict[str, datetime]:
    session.rollback()
    session.expire_all()
    return {
        f"{r.rule_id}:{r.recipient}:{r.participant_id or r.user_id}": r.due_at
        for r in session.scalars(select(Reminder).where(Reminder.status == ReminderStatus.PENDING))
    }


def sweeper(
    db_engine: Engine,
    notifier: Notifier,
    clock: FixedClock,
    registry: WorkflowRegistry,
    quiet: QuietHours | None = None,
) -> ReminderSweeper:
    return ReminderSweeper(
        make_session_factory(db_engine),
        notifier,
        clock,
        registry,
        base_url="http://sip.test",
        quiet_hours=quiet,
    )


def age_warning(builder: CaseBuilder) -> dict[str, datetime]:
    """The fyller_21 warning every open case of the world child has (born 2015-03-15: 90 days
    before the 21st birthday, 08:00); tests/test_age_limit.py tests it."""
    return {f"fyller_21:coordinator:{builder.w.coordinator.id}": stockholm(2035, 12, 16, 8, 0)}


def subjects(session: Session) -> list[str]:
    session.rollback()
    return sorted(session.scalars(select(OutboxMessage.subject)))


def test_a_stalled_case_warns_after_3_days_and_escalates_after_10(
    mail_builder: CaseBuilder,
    db_engine: Engine,
    notifier: Notifier,
    clock: FixedClock,
    registry: WorkflowRegistry,
) -> None:
    mail_builder.w.manager.email = "chef@example.se"
    mail_builder.session.commit()
    opened_at = clock.now()
    case = mail_builder.open()
    assert pending(mail_builder.session) == {
        f"upptack_varning:coordinator:{mail_builder.w.coordinator.id}": opened_at
        + timedelta(days=3),
        f"upptack_eskalering:coordinator:{mail_builder.w.coordinator.id}": opened_at
        + timedelta(days=10),
        f"upptack_eskalering:manager:{mail_builder.w.manager.id}": opened_at + timedelta(days=10),
        **age_warning(mail_builder),
    }
    run = sweeper(db_engine, notifier, clock, registry)
    clock.set(opened_at + timedelta(days=3) - timedelta(minutes=1))
    assert run.sweep().reminders == 0
    clock.set(opened_at + timedelta(days=3))
    assert run.sweep().reminders == 1
    assert subjects(mail_builder.session) == [
        f"Varning: Ärendet har stått i steget Upptäck behov i 3 dagar ({case.reference})"
    ]
    clock.set(opened_at + timedelta(days=10))
    report = run.sweep()
    assert (report.reminders, report.messages) == (2, 2)
    mail_builder.session.rollback()
    assert sorted(m.to_address for m in mail_builder.session.scalars(select(OutboxMessage))) == [
        "chef@example.se",
        "sara@example.se",
        "sara@example.se",
    ]
    assert run.sweep().reminders == 0  # nothing twice


def test_moving_on_cancels_what_no_longer_applies(mail_builder: CaseBuilder) -> None:
    case = mail_builder.open()
    mail_builder.fire(case, "forbered")
    assert pending(mail_builder.session) == age_warning(mail_builder)
    cancelled = mail_builder.session.scalars(
        select(Reminder.status).where(Reminder.case_id == case.id, Reminder.rule_id != "fyller_21")
    ).all()
    assert set(cancelled) == {ReminderStatus.CANCELLED}


def test_unanswered_invitations_are_reminded_and_an_answer_stops_them(
    mail_builder: CaseBuilder,
    db_engine: Engine,
    notifier: Notifier,
    clock: FixedClock,
    registry: WorkflowRegistry,
) -> None:
    case = mail_builder.case_in("kalla")
    meeting = meetings.open_meeting(mail_builder.session, case)
    assert meeting is not None
    start = meeting.starts_at
    people = {p.name.split()[0]: p.id for p in case.active_participants}
    coordinator = mail_builder.w.coordinator.id
    expected = {}
    for pid in people.values():
        expected[f"svar_paminnelse_7:unanswered_participants:{pid}"] = start - timedelta(days=7)
        expected[f"svar_paminnelse_2:unanswered_participants:{pid}"] = start - timedelta(days=2)
    expected[f"svar_eskalering:coordinator:{coordinator}"] = start - timedelta(days=3)
    # The consent (365 days from 2026-03-02) ends 2027-03-02: reminded 14 days before, 08:00.
    expected[f"samtycke_upphor:coordinator:{coordinator}"] = stockholm(2027, 2, 16, 8, 0)
    assert pending(mail_builder.session) == {**expected, **age_warning(mail_builder)}

    # Karin answers "kommer": her reminders stop, a meeting reminder for the day before starts.
    invitation = mail_builder.session.scalars(
        select(Invitation).where(Invitation.participant_id == people["Karin"])
    ).one()
    token = notifier.links.token(
        invitation.id, invitation.meeting_id, invitation.participant_id, invitation.link_nonce
    )
    opened = answers.open_invitation(mail_builder.session, notifier, token, clock.now())
    answers.record_answer(
        mail_builder.session, notifier, opened, answers.AnswerInput(Answer.KOMMER), clock.now()
    )
    mail_builder.session.commit()
    now_pending = pending(mail_builder.session)
    assert f"svar_paminnelse_7:unanswered_participants:{people['Karin']}" not in now_pending
    assert now_pending[f"mote_paminnelse:confirmed_participants:{people['Karin']}"] == (
        start - timedelta(days=1)
    )

    run = sweeper(db_engine, notifier, clock, registry)
    clock.set(start - timedelta(days=7))
    report = run.sweep()
    assert (report.reminders, report.messages) == (2, 2)  # Omar and Sara, not Karin
    mail_builder.session.rollback()
    mail = mail_builder.session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "reminder:svar_paminnelse_7")
    ).all()
    assert sorted(m.to_address for m in mail) == ["omar@example.se", "sara@example.se"]
    assert all("/svar/" in m.body_text for m in mail)


def test_rescheduling_moves_the_reminders(mail_builder: CaseBuilder) -> None:
    case = mail_builder.case_in("kalla")
    before = pending(mail_builder.session)
    mail_builder.plan_meeting(case, in_days=20)  # the meeting form moves it and tells
    after = pending(mail_builder.session)
    assert set(after) == set(before)
    moved = {k for k in after if after[k] != before[k]}
    assert moved == {k for k in after if k.startswith("svar_")}
    assert all(after[k] - before[k] == timedelta(days=6) for k in moved)


def test_follow_up_reminders_and_overdue_escalation(
    mail_builder: CaseBuilder, clock: FixedClock
) -> None:
    case = mail_builder.case_in("folj_upp")
    follow_up = (clock.now() + timedelta(days=90)).astimezone(STOCKHOLM).date()
    at_eight = datetime(follow_up.year, follow_up.month, follow_up.day, 8, tzinfo=STOCKHOLM)
    due = {k.split(":")[0]: v for k, v in pending(mail_builder.session).items()}
    assert due["uppfoljning_paminnelse_7"] == at_eight - timedelta(days=7)
    assert due["uppfoljning_paminnelse_dag"] == at_eight
    assert due["uppfoljning_eskalering"] == at_eight + timedelta(days=1)
    assert due["samtycke_upphor"].astimezone(STOCKHOLM).hour == 8
    assert case.state == "folj_upp"


def test_a_meeting_far_after_the_kallelse_is_warned_at_once(mail_builder: CaseBuilder) -> None:
    case = mail_builder.case_in("forbered")
    mail_builder.prepare(case)
    mail_builder.plan_meeting(case, in_days=30)
    mail_builder.fire(case, "kalla")
    due = {k.split(":")[0]: v for k, v in pending(mail_builder.session).items()}
    assert due["mote_sent_efter_kallelse"] == mail_builder.clock.now()


def test_a_holiday_moves_a_working_day_deadline(registry: WorkflowRegistry) -> None:
    rule = next(r for r in registry.latest("sip").reminders if r.id == "upptack_varning")
    working = dataclasses.replace(rule, day_kind="working", offset_days=1)
    maundy_thursday = stockholm(2026, 4, 2, 9, 30)
    assert shift(maundy_thursday, working) == stockholm(2026, 4, 7, 9, 30)
    assert shift(maundy_thursday, dataclasses.replace(rule, offset_days=1)) == stockholm(
        2026, 4, 3, 9, 30
    )


def test_working_day_rule_on_a_real_case(
    mail_builder: CaseBuilder, registry: WorkflowRegistry, clock: FixedClock
) -> None:
    clock.set(stockholm(2026, 12, 23, 10, 0))  # the day before julafton
    case = mail_builder.open()
    sip = registry.latest("sip")
    working = dataclasses.replace(
        sip, reminders=tuple(dataclasses.replace(r, day_kind="working") for r in sip.reminders)
    )
    due = {
        w.rule.id: w.due_at
        for w in wanted_reminders(mail_builder.session, case, working, clock.now())
    }
    # 3 working days after 23 Dec: 28, 29, 30 Dec (24–27 are holidays and a weekend).
    assert due["upptack_varning"] == stockholm(2026, 12, 30, 10, 0)


def test_quiet_hours_hold_mail_until_morning(
    mail_builder: CaseBuilder,
    db_engine: Engine,
    notifier: Notifier,
    clock: FixedClock,
    registry: WorkflowRegistry,
) -> None:
    clock.set(stockholm(2026, 3, 2, 21, 0))
    mail_builder.open()
    quiet = QuietHours.parse("20:00-07:00")
    assert quiet is not None
    run = sweeper(db_engine, notifier, clock, registry, quiet)
    clock.set(stockholm(2026, 3, 5, 21, 0))  # 3 days later, in the evening: due but quiet
    report = run.sweep()
    assert report.held_for_quiet_hours and report.reminders == 0
    clock.set(stockholm(2026, 3, 6, 6, 59))
    assert run.sweep().reminders == 0
    clock.set(stockholm(2026, 3, 6, 7, 0))
    assert run.sweep().reminders == 1


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("20:00-07:00", datetime(2026, 3, 2, 22, tzinfo=UTC), datetime(2026, 3, 2, 12, tzinfo=UTC)),
        (
            "12:00-13:00",
            datetime(2026, 3, 2, 11, 30, tzinfo=UTC),
            datetime(2026, 3, 2, 13, tzinfo=UTC),
        ),
    ],
)
def test_quiet_hours_parse(text: str, inside: datetime, outside: datetime) -> None:
    quiet = QuietHours.parse(text)
    assert quiet is not None and quiet.contains(inside) and not quiet.contains(outside)
    assert QuietHours.parse("off") is None
    assert QuietHours.parse(None) == QuietHours.parse("20:00-07:00")


def test_one_reminder_that_cannot_be_written_does_not_hold_back_the_others(
    mail_builder: CaseBuilder,
    db_engine: Engine,
    notifier: Notifier,
    clock: FixedClock,
    registry: WorkflowRegistry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    opened_at = clock.now()
    broken, fine = mail_builder.open(), mail_builder.open()
    # Its workflow version is no longer installed, so its reminder's rule cannot be read.
    mail_builder.session.execute(
        update(Case).where(Case.id == broken.id).values(workflow_version=99)
    )
    mail_builder.session.commit()
    run = sweeper(db_engine, notifier, clock, registry)
    clock.set(opened_at + timedelta(days=3))

    report = run.sweep()

    assert (report.reminders, report.messages, report.failed) == (2, 1, 1)
    session = mail_builder.session
    session.rollback()
    session.expire_all()
    statuses = {
        case_id: status
        for case_id, status in session.execute(
            select(Reminder.case_id, Reminder.status).where(Reminder.rule_id == "upptack_varning")
        )
    }
    assert statuses == {broken.id: ReminderStatus.FAILED, fine.id: ReminderStatus.SENT}
    assert session.scalars(select(OutboxMessage.case_id)).all() == [fine.id]
    failed_id = session.scalars(
        select(Reminder.id).where(Reminder.status == ReminderStatus.FAILED)
    ).one()
    assert f"reminder {failed_id} could not be written" in caplog.text
    assert broken.child.first_name not in caplog.text
    assert run.sweep().reminders == 0  # the failed one is history, not retried forever
