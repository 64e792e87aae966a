"""The scheduler: sweeps due reminders into the outbox, then delivers the outbox.

One APScheduler interval job does both. Several scheduler processes may run against one
PostgreSQL database: a reminder is claimed with one UPDATE that skips rows another process has
locked, and carries a lease, so the rows of a process that died are swept again when the
lease runs out. A claimed batch is marked sent and its e-mails written to the outbox in one
transaction, so a reminder becomes exactly one e-mail.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from sip_engine.claims import claim_due_rows
from sip_engine.clock import Clock
from sip_engine.config import QuietHours
from sip_engine.models import (
    Case,
    Invitation,
    Meeting,
    Participant,
    Reminder,
    ReminderStatus,
    User,
)
from sip_engine.notify import Notifier, when_text, where_text
from sip_engine.protection import protected_text
from sip_engine.reminders import KIND_WORDS
from sip_engine.workflow.registry import WorkflowRegistry

if TYPE_CHECKING:
    from sip_engine.runtime import Runtime

log = logging.getLogger("sip_engine.scheduler")

LEASE = timedelta(minutes=5)


@dataclass
class SweepReport:
    reminders: int = 0
    messages: int = 0
    failed: int = 0
    held_for_quiet_hours: bool = False
    # Outbox messages this tick tried and could not deliver (retried later, or failed).
    undelivered: int = 0


class ReminderSweeper:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        notifier: Notifier,
        clock: Clock,
        registry: WorkflowRegistry,
        *,
        base_url: str,
        quiet_hours: QuietHours | None = None,
        batch_size: int = 500,
        worker_id: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.notifier = notifier
        self.clock = clock
        self.registry = registry
        self.base_url = base_url.rstrip("/")
        self.quiet_hours = quiet_hours
        self.batch_size = batch_size
        self.worker_id = worker_id or secrets.token_hex(8)

    def sweep(self, max_batches: int = 10_000) -> SweepReport:
        report = SweepReport()
        if self.quiet_hours and self.quiet_hours.contains(self.clock.now()):
            report.held_for_quiet_hours = True
            return report
        for _ in range(max_batches):
            done, messages, failed = self._sweep_batch()
            report.reminders += done
            report.messages += messages
            report.failed += failed
            if done == 0:
                break
        return report

    def _claim(self, now: datetime) -> list[int]:
        return claim_due_rows(
            self.sessions,
            Reminder,
            (Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now),
            (Reminder.due_at, Reminder.id),  # ix_reminder_due's order
            now=now,
            batch_size=self.batch_size,
            worker_id=self.worker_id,
            lease=LEASE,
            name="due",
        )

    def _sweep_batch(self) -> tuple[int, int, int]:
        """One claimed batch: (reminders processed, e-mails written, reminders failed)."""
        now = self.clock.now()
        ids = self._claim(now)
        if not ids:
            return 0, 0, 0
        messages = failed = 0
        with self.sessions.begin() as session:
            # Only rows still ours and pending: a row whose lease ran out and was taken over
            # is not sent twice.
            done = list(
                session.execute(
                    update(Reminder)
                    .where(
                        Reminder.id.in_(ids),
                        Reminder.claimed_by == self.worker_id,
                        Reminder.status == ReminderStatus.PENDING,
                    )
                    .values(
                        status=ReminderStatus.SENT,
                        processed_at=now,
                        claimed_by=None,
                        claimed_until=None,
                    )
                    .returning(Reminder.id)
                    .execution_options(synchronize_session=False)
                ).scalars()
            )
            for reminder in session.scalars(select(Reminder).where(Reminder.id.in_(done))).all():
                # One reminder that cannot be written must not hold back the batch: without
                # the savepoint its error rolls back every row, the lease runs out, and the
                # same batch fails again on every sweep while the others' mail never goes.
                try:
                    with session.begin_nested():
                        if self._queue_message(session, reminder, now):
                            messages += 1
                except Exception as exc:
                    reminder.status = ReminderStatus.FAILED
                    failed += 1
                    # The id and the error's type only: a message may carry names.
                    log.error(
                        "reminder %s could not be written (%s)", reminder.id, type(exc).__name__
                    )
        return len(done), messages, failed

    def _queue_message(self, session: Session, reminder: Reminder, now: datetime) -> bool:
        if reminder.placement_id is not None:
            from sip_engine.placement_reminders import queue_placement_reminder

            return queue_placement_reminder(
                session, reminder, now, self.notifier, self.registry, self.base_url
            )
        case = session.get_one(Case, reminder.case_id)
        definition = self.registry.get(case.workflow_name, case.workflow_version)
        rule = next((r for r in definition.reminders if r.id == reminder.rule_id), None)
        label = rule.label if rule else reminder.rule_id
        word = KIND_WORDS.get(reminder.kind, "Påminnelse")
        name: str | None
        if reminder.user_id is not None:
            user = session.get_one(User, reminder.user_id)
            address, name = user.contact_email, user.display_name
        elif reminder.participant_id is not None:
            participant = session.get_one(Participant, reminder.participant_id)
            address, name = participant.email, participant.name
        else:
            return False
        if not address:
            return False  # recorded as sent: it shows on the case, there is nobody to mail
        # A mail leaves the system: free text as anyone outside the unit may see it.
        name = protected_text(case, name, None)
        lines = [f"Hej {name},", "", f"{word}: {label}.", "", f"Ärende: {case.reference}"]
        meeting = session.scalars(Meeting.open_for(case.id)).first()
        if meeting is not None and reminder.rule_id.startswith(("svar_", "mote_")):
            where = protected_text(case, where_text(meeting), None)
            lines += [f"Tid: {when_text(meeting)}", f"Plats: {where}"]
        invitation = None
        if reminder.participant_id is not None and meeting is not None:
            invitation = session.scalars(
                select(Invitation).where(
                    Invitation.meeting_id == meeting.id,
                    Invitation.participant_id == reminder.participant_id,
                )
            ).first()
        if invitation is not None and invitation.answer is None:
            lines += ["", "Svara här:", self.notifier.answer_url(invitation)]
        elif reminder.user_id is not None:
            lines += ["", f"Öppna ärendet: {self.base_url}/arenden/{case.id}"]
        self.notifier.plain_message(
            session,
            now,
            case_id=case.id,
            to_address=address,
            to_name=name,
            kind=f"{reminder.kind}:{reminder.rule_id}",
            subject=f"{word}: {label} ({case.reference})",
            lines=lines,
            tag=f"r{reminder.id}",
            invitation_id=invitation.id if invitation else None,
        )
        return True


def scheduler_tick(runtime: Runtime, clock: Clock | None = None) -> tuple[SweepReport, int]:
    """One round: due reminders into the outbox, then the outbox over SMTP (if configured).
    Returns the sweep report and the number of e-mails delivered."""
    from sip_engine.notify.sender import OutboxSender

    clock = clock or runtime.clock
    sweeper = ReminderSweeper(
        runtime.sessions,
        runtime.notifier,
        clock,
        runtime.registry,
        base_url=runtime.settings.base_url,
        quiet_hours=runtime.settings.quiet,
    )
    report = sweeper.sweep()
    delivered = 0
    # Never held for quiet hours: they hold reminders (above), not kallelser or cancellations.
    if runtime.settings.smtp:
        sender = OutboxSender(
            runtime.sessions,
            runtime.settings.smtp,
            clock,
            runtime.settings.mail_from,
        )
        delivery = sender.deliver_all_due()
        delivered = delivery.sent
        report.undelivered = delivery.retried + delivery.failed
    return report, delivered


def survive(what: str, work: Callable[[], object]) -> bool:
    """Run one round of a long-running process's work; an error (the database restarting,
    a network fault) is logged, not raised, so the process lives on and the next round tries
    again with fresh connections (the pool pings before use). The rows the failed round had
    claimed wait for their lease. True when the round ran through. The one mechanism for
    every loop: the scheduler's job and ``sip-engine send-mail``."""
    try:
        work()
    except Exception as exc:
        log.error("%s failed (%s)", what, type(exc).__name__)
        return False
    return True


def _safe_tick(runtime: Runtime) -> None:
    survive("scheduler tick", lambda: scheduler_tick(runtime))


def _add_tick_job(scheduler: Any, runtime: Runtime) -> None:
    # One job, never overlapping itself; missed runs collapse into one.
    scheduler.add_job(
        _safe_tick,
        "interval",
        seconds=runtime.settings.scheduler_interval,
        args=[runtime],
        id="sip-tick",
        max_instances=1,
        coalesce=True,
        next_run_time=runtime.clock.now(),
    )


def start_background_scheduler(runtime: Runtime) -> Any:
    """The in-process scheduler of the embedded set-up: started once, by `sip-engine serve`
    (never in the app factory, so several web workers or a reloader cannot start several)."""
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(timezone="UTC")
    _add_tick_job(scheduler, runtime)
    scheduler.start()
    return scheduler


def run_blocking_scheduler(runtime: Runtime) -> None:
    """`sip-engine scheduler`: the scheduler as a process of its own (the production set-up;
    several may run against PostgreSQL)."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    scheduler = BlockingScheduler(timezone="UTC")
    _add_tick_job(scheduler, runtime)
    scheduler.start()
