"""The placement flow with a fixed clock and a real SMTP server: both health-examination parts
requested at the start, the region's notices, the 28-day deadline's reminder and escalation,
*obehövlig* only with a reason, and the phases with their SIP reminders."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from sip_engine.clock import STOCKHOLM, FixedClock, local_date
from sip_engine.models import (
    Case,
    CaseEvent,
    EventKind,
    HealthExamPart,
    HealthExamRequest,
    Meeting,
    MeetingFormat,
    MeetingKind,
    OutboxMessage,
    Placement,
    Reminder,
    ReminderStatus,
)
from sip_engine.notify import Notifier
from sip_engine.notify.sender import OutboxSender, SmtpConfig
from sip_engine.scheduler import ReminderSweeper
from sip_engine.services import placements
from sip_engine.services.common import ValidationError
from sip_engine.workflow import (
    Actor,
    IllegalTransition,
    NotPermitted,
    ReasonRequired,
    WorkflowRegistry,
)

from ..placement_helpers import FTV_CONTACT, VC_CONTACT, folktandvarden, new_placement
from ..smtp import SmtpServer
from ..world import World


def _start(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
) -> Placement:
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


def _days_later(moment: datetime, days: int) -> datetime:
    """The same Stockholm time of day ``days`` calendar days later (across DST changes)."""
    local = moment.astimezone(STOCKHOLM)
    return datetime.combine(local.date() + timedelta(days=days), local.time(), tzinfo=STOCKHOLM)


def _exam(placement: Placement, part: HealthExamPart) -> HealthExamRequest:
    return next(e for e in placement.health_exams if e.part is part)


def _deliver(db_engine: Engine, clock: FixedClock, smtp_server: SmtpServer) -> None:
    sender = OutboxSender(
        sessionmaker(bind=db_engine, expire_on_commit=False),
        SmtpConfig.from_url(smtp_server.url),
        clock,
        "SIP-stöd <sip@sip.test>",
    )
    report = sender.deliver_all_due()
    assert report.retried == report.failed == 0, report.errors


def _sweeper(
    db_engine: Engine, notifier: Notifier, clock: FixedClock, registry: WorkflowRegistry
) -> ReminderSweeper:
    return ReminderSweeper(
        sessionmaker(bind=db_engine, expire_on_commit=False),
        notifier,
        clock,
        registry,
        base_url="http://sip.test",
    )


def _fresh(session: Session) -> None:
    """See what other connections (the sweeper) wrote: end the read snapshot SQLite keeps
    while a transaction is open, and reload every object."""
    session.rollback()
    session.expire_all()


def _pending(session: Session, placement: Placement) -> set[str]:
    _fresh(session)
    return {
        f"{r.rule_id}:{r.recipient}"
        for r in session.scalars(
            select(Reminder).where(
                Reminder.placement_id == placement.id, Reminder.status == ReminderStatus.PENDING
            )
        )
    }


def _events(session: Session, case_id: int) -> list[CaseEvent]:
    return list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        )
    )


def test_a_placement_requests_both_parts_and_follows_them_to_the_statement(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
    db_engine: Engine,
    smtp_server: SmtpServer,
) -> None:
    start = clock.now()
    placement = _start(session, world, registry, notifier, clock)

    # The child had no open case: one was opened for the placement.
    case = session.get_one(Case, placement.case_id)
    assert case.child_id == world.child.id and case.reasons == ["placering"]
    assert placement.state == "under"
    vc = _exam(placement, HealthExamPart.FYSISK_PSYKISK)
    ftv = _exam(placement, HealthExamPart.MUNHALSA)
    for exam in (vc, ftv):
        assert exam.status == "begard"
        assert exam.legal_basis == "OSL 10 kap. 28 §"
        assert exam.requested_at == start

    _deliver(db_engine, clock, smtp_server)
    received = {m["To"]: m for m in smtp_server.messages}
    assert set(received) == {VC_CONTACT, FTV_CONTACT}
    vc_text = received[VC_CONTACT].get_content()  # type: ignore[attr-defined]
    assert "Fysisk och psykisk hälsa" in received[VC_CONTACT]["Subject"]
    assert "Munhälsa" in received[FTV_CONTACT]["Subject"]
    assert "OSL 10 kap. 28 §" in vc_text
    assert "Erbjud en tid senast: 2026-03-30" in vc_text
    assert placements.exam_link(notifier, vc) in vc_text
    # The mail names neither the child nor the personnummer (they are behind the link).
    for secret in ("Alva", "Testsson", "201503152389"):
        assert secret not in vc_text and secret not in received[VC_CONTACT]["Subject"]

    # Day 20: the vårdcentral offers a time, through its link (no account).
    clock.set(start + timedelta(days=20))
    offered = clock.now() + timedelta(days=5)
    placements.fire_exam(
        session,
        registry,
        notifier,
        vc,
        "erbjud_tid",
        placements.link_actor(vc),
        clock.now(),
        offered_time=offered,
        via_link=True,
    )
    session.commit()
    assert vc.status == "tid_erbjuden" and vc.offered_time == offered
    # The 21-day reminder and the escalation for that part are gone; the other part keeps its.
    assert _pending(session, placement) == {
        "halsa_paminnelse_21:region_contact",
        "halsa_forsenad:coordinator",
        "halsa_forsenad:region_contact",
        "under_sip_saknas:coordinator",
        "overvagande_paminnelse:coordinator",
    }
    assert {
        r.health_exam_id
        for r in session.scalars(
            select(Reminder).where(
                Reminder.status == ReminderStatus.PENDING, Reminder.rule_id.like("halsa_%")
            )
        )
    } == {ftv.id}

    clock.set(offered)
    placements.fire_exam(
        session,
        registry,
        notifier,
        vc,
        "genomford",
        placements.link_actor(vc),
        clock.now(),
        via_link=True,
    )
    clock.set(offered + timedelta(days=10))
    placements.fire_exam(session, registry, notifier, vc, "utlatande", world.actor, clock.now())
    session.commit()
    assert vc.status == "utlatande_mottaget"
    assert vc.done_on == local_date(offered)
    assert vc.statement_received_on == local_date(clock.now())
    assert placements.exam_done_in_time(registry, vc)

    # Every status change is in the case's append-only log, with who, where from and when.
    history = [
        (e.trigger, e.from_state, e.to_state, e.actor_label)
        for e in _events(session, case.id)
        if e.kind is EventKind.HEALTH_EXAM_CHANGED and e.details["health_exam_id"] == vc.id
    ]
    assert history == [
        ("begar", "att_begara", "begard", world.coordinator.display_name),
        (
            "erbjud_tid",
            "begard",
            "tid_erbjuden",
            "Vera Vårdcentral (Vårdcentralen Centrum), personlig länk",
        ),
        (
            "genomford",
            "tid_erbjuden",
            "genomford",
            "Vera Vårdcentral (Vårdcentralen Centrum), personlig länk",
        ),
        ("utlatande", "genomford", "utlatande_mottaget", world.coordinator.display_name),
    ]
    begar = next(
        e
        for e in _events(session, case.id)
        if e.trigger == "begar" and e.details["health_exam_id"] == vc.id
    )
    assert begar.details["legal_basis"] == "OSL 10 kap. 28 §"
    assert begar.actor_organisation_id == world.unit.id and begar.at == start


def test_nothing_happens_reminder_on_day_21_and_escalation_on_day_29(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
    db_engine: Engine,
    smtp_server: SmtpServer,
) -> None:
    start = clock.now()
    _start(session, world, registry, notifier, clock)
    _deliver(db_engine, clock, smtp_server)  # the two requests
    assert len(smtp_server.messages) == 2
    run = _sweeper(db_engine, notifier, clock, registry)

    def exam_mail() -> list[tuple[str, str]]:
        # The SIP case opened for the placement has reminders of its own (still in upptäck).
        run.sweep()
        _deliver(db_engine, clock, smtp_server)
        return sorted(
            (m["To"], m["Subject"])
            for m in smtp_server.messages
            if "Hälsoundersökning:" in m["Subject"]
        )

    clock.set(_days_later(start, 21) - timedelta(minutes=1))
    assert exam_mail() == []
    clock.set(_days_later(start, 21))
    day21 = exam_mail()
    reminder = "Påminnelse: Hälsoundersökning: erbjud en tid – begäran skickades för 21 dagar sedan"
    assert [to for to, _ in day21] == sorted([VC_CONTACT, FTV_CONTACT])
    assert all(subject.startswith(reminder) for _, subject in day21)
    assert all(
        "/halsoundersokning/" in m.get_content()  # type: ignore[attr-defined]
        for m in smtp_server.messages
        if m["Subject"].startswith("Påminnelse: Hälsoundersökning")
    )

    clock.set(_days_later(start, 29) - timedelta(minutes=1))
    assert exam_mail() == day21
    clock.set(_days_later(start, 29))
    escalations = [m for m in exam_mail() if m[1].startswith("Eskalering")]
    assert sorted(to for to, _ in escalations) == sorted(
        [VC_CONTACT, FTV_CONTACT, "Samordnare <sara@example.se>", "Samordnare <sara@example.se>"]
    )
    assert all(
        subject.startswith("Eskalering: Hälsoundersökning: ingen tid har erbjudits inom 28 dagar")
        for _, subject in escalations
    )
    # Sent exactly once: later sweeps send nothing more about the examinations.
    clock.set(start + timedelta(days=40))
    assert len(exam_mail()) == 6
    # Both parts show as overdue.
    _fresh(session)
    placement = session.scalars(select(Placement)).one()
    assert all(
        placements.exam_overdue(registry, e, local_date(clock.now()))
        for e in placement.health_exams
    )


def test_not_needed_without_a_reason_is_refused_and_changes_nothing(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
) -> None:
    placement = _start(session, world, registry, notifier, clock)
    ftv = _exam(placement, HealthExamPart.MUNHALSA)

    def snapshot() -> tuple[object, ...]:
        session.expire_all()
        exam = session.get_one(HealthExamRequest, ftv.id)
        return (
            exam.status,
            exam.version,
            exam.not_needed_reason,
            session.scalar(select(func.count()).select_from(CaseEvent)),
            frozenset(_pending(session, placement)),
        )

    before = snapshot()
    for reason in (None, "", "   "):
        with pytest.raises(ReasonRequired) as refused:
            placements.fire_exam(
                session,
                registry,
                notifier,
                ftv,
                "obehovlig",
                world.actor,
                clock.now(),
                reason=reason,
            )
        assert "Ange varför undersökningen inte behövs" in refused.value.message
        session.rollback()
        assert snapshot() == before

    # The region's link cannot mark a part as not needed, with or without a reason.
    with pytest.raises(NotPermitted):
        placements.fire_exam(
            session,
            registry,
            notifier,
            ftv,
            "obehovlig",
            placements.link_actor(ftv),
            clock.now(),
            reason="Vi tycker inte det behövs.",
            via_link=True,
        )
    session.rollback()
    assert snapshot() == before

    placements.fire_exam(
        session,
        registry,
        notifier,
        ftv,
        "obehovlig",
        world.actor,
        clock.now(),
        reason="Munhälsan undersöktes i förra placeringen för fyra månader sedan.",
    )
    session.commit()
    assert ftv.status == "obehovlig"
    assert ftv.not_needed_reason.startswith("Munhälsan undersöktes")  # type: ignore[union-attr]
    # Its reminders are cancelled; the vårdcentral's remain.
    assert {
        r.health_exam_id
        for r in session.scalars(
            select(Reminder).where(
                Reminder.status == ReminderStatus.PENDING, Reminder.rule_id.like("halsa_%")
            )
        )
    } == {_exam(placement, HealthExamPart.FYSISK_PSYKISK).id}


def test_ending_the_placement_moves_through_infor_avslut_and_efter_with_their_sip_reminders(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
    db_engine: Engine,
) -> None:
    start = clock.now()
    placement = _start(session, world, registry, notifier, clock)
    assert {"under_sip_saknas:coordinator", "overvagande_paminnelse:coordinator"} <= _pending(
        session, placement
    )
    # The first övervägande is six months after the start; the reminder comes two weeks before.
    review = session.scalars(
        select(Reminder)
        .where(Reminder.rule_id == "overvagande_paminnelse")
        .order_by(Reminder.due_at)
    ).first()
    assert review is not None and local_date(review.due_at) == local_date(start).replace(
        month=8, day=19
    )

    clock.set(start + timedelta(days=200))
    placements.fire_placement(
        session, registry, notifier, placement, "infor_avslut", world.actor, clock.now()
    )
    session.commit()
    assert placement.state == "infor_avslut"
    pending = _pending(session, placement)
    assert "infor_avslut_sip_saknas:coordinator" in pending
    assert "under_sip_saknas:coordinator" not in pending
    assert "overvagande_paminnelse:coordinator" not in pending

    # No meeting held in the phase: the coordinator is warned after 14 days.
    clock.set(_days_later(clock.now(), 14))
    _sweeper(db_engine, notifier, clock, registry).sweep()
    _fresh(session)
    warned = session.scalars(
        select(OutboxMessage).where(OutboxMessage.kind == "warning:infor_avslut_sip_saknas")
    ).one()
    assert warned.to_address == "sara@example.se"
    assert "inget SIP-möte har hållits inför avslutet" in warned.subject

    clock.set(start + timedelta(days=230))
    placements.fire_placement(
        session, registry, notifier, placement, "avsluta_placering", world.actor, clock.now()
    )
    session.commit()
    assert placement.state == "efter" and placement.ended_on == local_date(clock.now())
    pending = _pending(session, placement)
    assert "efter_sip_saknas:coordinator" in pending
    assert "infor_avslut_sip_saknas:coordinator" not in pending
    efter = session.scalars(
        select(Reminder).where(
            Reminder.rule_id == "efter_sip_saknas", Reminder.status == ReminderStatus.PENDING
        )
    ).one()
    assert efter.due_at == _days_later(clock.now(), 30)

    # A SIP meeting held in the phase: the missing-meeting warning is not sent.
    held = clock.now() + timedelta(days=10)
    session.add(
        Meeting(
            case_id=placement.case_id,
            kind=MeetingKind.UPPFOLJNING,
            starts_at=held,
            ends_at=held + timedelta(hours=1),
            format=MeetingFormat.PA_PLATS,
            location="Rum 1",
            questions=[],
            sequence=0,
            created_at=clock.now(),
            held_at=held,
        )
    )
    session.commit()
    clock.set(efter.due_at)
    run = _sweeper(db_engine, notifier, clock, registry)
    run.sweep()
    _fresh(session)
    assert session.get_one(Reminder, efter.id).status is ReminderStatus.SENT
    assert (
        session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "warning:efter_sip_saknas")
        ).all()
        == []
    )
    phases = placements.placement_phases(session, registry, placement)
    assert [(p.state, p.meeting_held) for p in phases] == [
        ("fore", False),
        ("under", False),
        ("infor_avslut", False),
        ("efter", True),
    ]

    transitions = [
        (e.trigger, e.from_state, e.to_state)
        for e in _events(session, placement.case_id)
        if e.kind is EventKind.PLACEMENT_TRANSITION
    ]
    assert transitions == [
        ("starta", "fore", "under"),
        ("infor_avslut", "under", "infor_avslut"),
        ("avsluta_placering", "infor_avslut", "efter"),
    ]


def test_a_planned_placement_waits_in_fore_and_links_the_open_case(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
) -> None:
    ftv = folktandvarden(session, world)
    from sip_engine.workflow import WorkflowEngine

    from ..world import CaseBuilder

    existing = CaseBuilder(session, world, WorkflowEngine(registry, clock), clock).open()
    placement = placements.register_placement(
        session,
        registry,
        notifier,
        world.actor,
        clock.now(),
        new_placement(world, ftv, local_date(clock.now()) + timedelta(days=10)),
    )
    session.commit()
    assert placement.case_id == existing.id
    assert placement.state == "fore"
    assert {e.status for e in placement.health_exams} == {"att_begara"}
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    assert _pending(session, placement) == {"fore_sip_saknas:coordinator"}
    with pytest.raises(IllegalTransition):
        placements.fire_exam(
            session,
            registry,
            notifier,
            placement.health_exams[0],
            "begar",
            world.actor,
            clock.now(),
        )
    session.rollback()

    clock.set(clock.now() + timedelta(days=10))
    placements.fire_placement(
        session, registry, notifier, placement, "starta", world.actor, clock.now()
    )
    session.commit()
    assert {e.status for e in placement.health_exams} == {"begard"}
    assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_another_units_coordinator_cannot_change_a_placement(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
) -> None:
    placement = _start(session, world, registry, notifier, clock)
    other = Actor.for_user(world.other_coordinator)
    with pytest.raises(NotPermitted):
        placements.fire_placement(
            session, registry, notifier, placement, "infor_avslut", other, clock.now()
        )
    session.rollback()
    with pytest.raises(NotPermitted):
        placements.fire_exam(
            session,
            registry,
            notifier,
            placement.health_exams[0],
            "erbjud_tid",
            other,
            clock.now(),
            offered_time=clock.now(),
        )
    session.rollback()
    session.expire_all()
    assert session.get_one(Placement, placement.id).state == "under"


def test_registration_is_validated(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
) -> None:
    ftv = folktandvarden(session, world)
    data = new_placement(world, ftv, local_date(clock.now()))
    data.tandvard.contact_email = "tore@ftv.example.se\nBcc: x@evil.test"
    data.vardcentral.organisation_id = world.school.id  # not a region clinic
    data.planned_end = data.start_date
    with pytest.raises(ValidationError) as refused:
        placements.register_placement(session, registry, notifier, world.actor, clock.now(), data)
    assert set(refused.value.errors) == {
        "tandvard_contact_email",
        "vardcentral_organisation_id",
        "planned_end",
    }
    session.rollback()
    assert session.scalar(select(func.count()).select_from(Placement)) == 0


def test_a_change_to_the_case_leaves_the_placement_reminders_alone(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
) -> None:
    placement = _start(session, world, registry, notifier, clock)
    before = _pending(session, placement)
    assert "halsa_forsenad:region_contact" in before
    case = session.get_one(Case, placement.case_id)
    # Any case edit re-syncs the case's own reminders (record_change → sync_case_reminders).
    placements.cases.record_child_voice(
        session, case, world.actor, clock.now(), voice="Jag vill bo nära min skola."
    )
    session.commit()
    assert _pending(session, placement) == before


def test_a_child_has_one_current_placement(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
    clock: FixedClock,
) -> None:
    placement = _start(session, world, registry, notifier, clock)
    ftv = session.get_one(HealthExamRequest, placement.health_exams[1].id).region_organisation
    with pytest.raises(ValidationError) as refused:
        placements.register_placement(
            session,
            registry,
            notifier,
            world.actor,
            clock.now(),
            new_placement(world, ftv, local_date(clock.now())),
        )
    assert (
        "Barnet har redan en placering (Familjehem från 2026-03-02)"
        in refused.value.errors["child_id"]
    )
    session.rollback()
    # After the move out of the first placement a new one can be registered (omplacering).
    placements.fire_placement(
        session, registry, notifier, placement, "avsluta_placering", world.actor, clock.now()
    )
    second = placements.register_placement(
        session,
        registry,
        notifier,
        world.actor,
        clock.now(),
        new_placement(world, ftv, local_date(clock.now())),
    )
    session.commit()
    assert second.case_id == placement.case_id and second.state == "under"
    assert session.scalar(select(func.count()).select_from(Placement)) == 2
