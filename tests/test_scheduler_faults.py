"""The scheduler under load and when it dies: four ``sip-engine scheduler --once`` processes
sweeping the same due reminders together (10,000 on PostgreSQL, 2,000 on SQLite), and a
scheduler killed in the middle of a sweep or of its delivery, then restarted. Whatever
happens, every due reminder becomes exactly one e-mail at the (real, loopback) SMTP server,
counted by the reminder id in its Message-ID, and is marked ``sent`` exactly once; no
reminder is left claimed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day
from pathlib import Path

import pytest
from sqlalchemy import Connection, Engine, delete, insert, select, text
from sqlalchemy.orm import Session

from sip_engine.clock import STOCKHOLM, FixedClock
from sip_engine.config import Settings
from sip_engine.db import make_engine, make_session_factory
from sip_engine.models import (
    Invitation,
    Meeting,
    OutboxMessage,
    OutboxStatus,
    Reminder,
    ReminderStatus,
)
from sip_engine.notify import KIND_CANCEL, Notifier
from sip_engine.notify.sender import LEASE as OUTBOX_LEASE
from sip_engine.notify.sender import OutboxSender, SmtpConfig
from sip_engine.runtime import runtime_for
from sip_engine.scheduler import LEASE, ReminderSweeper, scheduler_tick
from sip_engine.workflow import WorkflowRegistry

from .notify.test_sender_faults import (
    MAIL_FROM,
    WAIT_S,
    HoldingHandler,
    _cli_env,
    queue_messages,
    start_cli,
)
from .smtp import SmtpServer
from .world import CaseBuilder

# The reminder id in the Message-ID the sweeper writes: <sip-r{id}-{random}@domain>.
REMINDER_IN_MESSAGE_ID = re.compile(r"^<sip-r(\d+)-[0-9a-f]+@")
SWEEP_BATCH = 500  # ReminderSweeper's default batch_size, which the CLI uses
SENDER_BATCH = 50  # OutboxSender's default batch_size, which the CLI uses
PROCESS_TIMEOUT_S = 600  # an upper bound for one CLI run; never slept
# Due reminders for the four processes: the 10,000 on PostgreSQL (the multi-process
# production set-up; 2 to 4 minutes on the shared 2-core machine, nearly all of it SMTP
# delivery, three transactions per e-mail), 2,000 on SQLite, where four processes contend
# for one writer lock all the same (four sweep batches, forty outbox batches).
# SIP_TEST_SCHEDULER_REMINDERS overrides both.
FOUR_PROCESS_REMINDERS = {"postgresql": 10_000, "sqlite": 2_000}
if os.environ.get("SIP_TEST_SCHEDULER_REMINDERS"):
    FOUR_PROCESS_REMINDERS = dict.fromkeys(
        FOUR_PROCESS_REMINDERS, int(os.environ["SIP_TEST_SCHEDULER_REMINDERS"])
    )


# ---------------------------------------------------------------------------- helpers


@pytest.fixture
def holding_smtp(smtp_server: SmtpServer) -> Iterator[SmtpServer]:
    """The ``smtp_server`` fixture's server, restarted with test_sender_faults'
    :class:`HoldingHandler` (holds the n-th DATA until released, then refuses it)."""
    smtp_server.stop()
    handler = HoldingHandler()
    smtp_server.handler = handler
    smtp_server.start()
    yield smtp_server
    handler.release.set()  # never leave a held session behind


def seed_due_reminders(session: Session, builder: CaseBuilder, count: int) -> list[int]:
    """``count`` pending reminders, all due a minute ago by the real clock (the CLI reads it),
    inserted in bulk on one case in ``kalla``: half warnings to the coordinator, half answer
    reminders to the case's called participants (with their signed answer link), each with
    its own ``key``. The reminders the builder's own syncs created are removed first, so the
    due set is exactly these rows."""
    case = builder.case_in("kalla")
    meeting = session.scalars(select(Meeting).where(Meeting.case_id == case.id)).one()
    participant_ids = sorted(
        session.scalars(
            select(Invitation.participant_id).where(Invitation.meeting_id == meeting.id)
        )
    )
    assert len(participant_ids) == 3
    assert case.coordinator_id is not None
    session.execute(delete(Reminder))
    session.execute(delete(OutboxMessage))  # nothing but the reminders' e-mails
    now = datetime.now(UTC)
    due = now - timedelta(minutes=1)
    rows = []
    for i in range(count):
        to_user = i % 2 == 0
        rows.append(
            {
                "key": f"{case.id}:bulk:{i}",
                "case_id": case.id,
                "rule_id": "upptack_varning" if to_user else "svar_paminnelse_7",
                "kind": "warning" if to_user else "reminder",
                "state": case.state,
                "recipient": "coordinator" if to_user else "unanswered_participants",
                "participant_id": None if to_user else participant_ids[i % 3],
                "user_id": case.coordinator_id if to_user else None,
                "due_at": due,
                "status": ReminderStatus.PENDING,
                "created_at": now - timedelta(days=1),
            }
        )
    for start in range(0, count, 5000):
        session.execute(insert(Reminder), rows[start : start + 5000])
    session.commit()
    ids = list(session.scalars(select(Reminder.id).order_by(Reminder.id)))
    assert len(ids) == count
    session.close()
    return ids


def reminder_ids_at_server(server: SmtpServer) -> Counter[int]:
    counts: Counter[int] = Counter()
    for message in server.messages:
        found = REMINDER_IN_MESSAGE_ID.match(str(message["Message-ID"]))
        assert found, f"not a reminder's e-mail: {message['Message-ID']}"
        counts[int(found.group(1))] += 1
    return counts


def assert_each_reminder_arrived_once(server: SmtpServer, expected: list[int]) -> None:
    counts = reminder_ids_at_server(server)
    duplicates = {rid: n for rid, n in counts.items() if n > 1}
    missing = set(expected) - set(counts)
    unexpected = set(counts) - set(expected)
    assert not duplicates, f"{len(duplicates)} reminders mailed more than once: {duplicates}"
    assert not missing, f"{len(missing)} reminders never arrived: {sorted(missing)[:20]} …"
    assert not unexpected, f"e-mails for unexpected reminders: {sorted(unexpected)[:20]}"


def assert_each_reminder_sent_once(db_engine: Engine, expected: list[int]) -> None:
    """Every reminder ``sent``, none claimed, and exactly one outbox row per reminder, itself
    sent once."""
    with Session(db_engine) as s:
        reminders = s.execute(
            select(Reminder.id, Reminder.status, Reminder.claimed_by, Reminder.claimed_until)
        ).all()
        outbox = s.execute(
            select(OutboxMessage.message_id, OutboxMessage.status, OutboxMessage.attempts)
        ).all()
    assert sorted(r.id for r in reminders) == expected
    not_sent = [r.id for r in reminders if r.status is not ReminderStatus.SENT]
    assert not not_sent, f"{len(not_sent)} reminders not sent: {not_sent[:20]}"
    claimed = [r.id for r in reminders if r.claimed_by or r.claimed_until]
    assert not claimed, f"{len(claimed)} reminders still claimed: {claimed[:20]}"
    per_reminder: Counter[int] = Counter()
    for row in outbox:
        found = REMINDER_IN_MESSAGE_ID.match(row.message_id)
        assert found, row.message_id
        per_reminder[int(found.group(1))] += 1
    assert sorted(per_reminder) == expected
    assert set(per_reminder.values()) == {1}, "a reminder was written to the outbox twice"
    assert {(r.status, r.attempts) for r in outbox} == {(OutboxStatus.SENT, 1)}


def scheduler_env(db_engine: Engine, smtp_url: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = _cli_env(db_engine, smtp_url, tmp_path)
    env["SIP_QUIET_HOURS"] = "off"  # the real clock may well stand at night
    env.update(extra)
    return env


def start_scheduler_once(env: dict[str, str]) -> subprocess.Popen[str]:
    """``sip-engine scheduler --once`` in its own process (the real entry point, real clock)."""
    return start_cli(env, "scheduler", "--once")


REPORT_LINE = re.compile(r"påminnelser: (\d+), meddelanden: (\d+), levererade: (\d+)")


def finish(process: subprocess.Popen[str]) -> tuple[int, int, int]:
    """Wait for a ``scheduler --once`` run; its (reminders, messages, delivered) line."""
    try:
        out, err = process.communicate(timeout=PROCESS_TIMEOUT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, f"scheduler exited with {process.returncode}:\n{out}\n{err}"
    found = REPORT_LINE.search(out)
    assert found, f"no report line in:\n{out}\n{err}"
    reminders, messages, delivered = (int(g) for g in found.groups())
    return reminders, messages, delivered


def kill(process: subprocess.Popen[str]) -> datetime:
    """SIGKILL: no handler, no finally, no rollback sent. Returns the moment it was dead."""
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=WAIT_S)
    assert process.returncode == -signal.SIGKILL
    return datetime.now(UTC)


def wait_for(condition: Callable[[], bool], what: str, process: subprocess.Popen[str]) -> None:
    """Poll ``condition()`` until true; fail if ``process`` ends first or after a minute."""
    deadline = time.monotonic() + 60
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"the scheduler ended before {what}:\n{out}\n{err}")
        assert time.monotonic() < deadline, f"the scheduler never reached {what}"
        time.sleep(0.02)


def tick_at(db_engine: Engine, server: SmtpServer, tmp_path: Path, at: datetime) -> tuple[int, int]:
    """One scheduler tick in this process, as ``sip-engine scheduler --once`` runs it (the
    same ``scheduler_tick``), but with a fixed clock. Returns (reminders swept, delivered)."""
    settings = Settings(
        database_url=db_engine.url.render_as_string(hide_password=False),
        instance_dir=tmp_path / "instance",
        secret_key="test-secret",
        smtp_url=server.url,
        mail_from=MAIL_FROM,
        quiet_hours="off",
    )
    clock = FixedClock(at)
    report, delivered = scheduler_tick(runtime_for(settings, db_engine, clock), clock)
    return report.reminders, delivered


# ---------------------------------------------------------------------------- four at once


def test_four_scheduler_processes_mail_each_due_reminder_exactly_once(
    backend: str,
    mail_builder: CaseBuilder,
    session: Session,
    db_engine: Engine,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    count = FOUR_PROCESS_REMINDERS[backend]
    expected = seed_due_reminders(session, mail_builder, count)
    env = scheduler_env(db_engine, smtp_server.url, tmp_path)

    started = time.monotonic()
    processes = [start_scheduler_once(env) for _ in range(4)]
    results = [finish(p) for p in processes]
    elapsed = time.monotonic() - started

    # Each sweep's own count adds up: no reminder was marked sent by two processes.
    assert sum(r[0] for r in results) == count, results
    assert sum(r[1] for r in results) == count, results
    assert sum(r[2] for r in results) == count, results
    assert_each_reminder_arrived_once(smtp_server, expected)
    assert_each_reminder_sent_once(db_engine, expected)
    print(f"\n{backend}: {count:,} reminders by 4 processes in {elapsed:.1f} s: {results}")


# ---------------------------------------------------------------------------- one batch a claim


# Planner settings that leave PostgreSQL one way to run ``UPDATE … WHERE id IN (SELECT id …
# LIMIT n FOR UPDATE SKIP LOCKED)``: a nested loop whose inner side reruns the subquery for
# every row of the table. PostgreSQL chose that plan by itself in these tests when the table's
# statistics said it was empty (after TRUNCATE and autovacuum's ANALYZE; in service, a new
# installation, or a burst such as everything that fell due in quiet hours going out at
# 07:00). Each rerun skips the rows the statement has already claimed and locks the next, so
# one claim takes every due row instead of one batch.
NESTED_LOOP_ONLY = (
    "-c enable_hashjoin=off -c enable_mergejoin=off -c enable_hashagg=off "
    "-c enable_sort=off -c enable_material=off"
)


@contextmanager
def rerun_prone_engine(db_engine: Engine) -> Iterator[Engine]:
    """On PostgreSQL, an engine on the test database with :data:`NESTED_LOOP_ONLY`; on SQLite
    (one IN subquery is evaluated once) the test engine itself."""
    if db_engine.dialect.name != "postgresql":
        yield db_engine
        return
    engine = make_engine(
        db_engine.url.render_as_string(hide_password=False),
        connect_args={"options": NESTED_LOOP_ONLY},
    )
    try:
        yield engine
    finally:
        engine.dispose()


def test_a_sweep_claims_one_batch_whatever_the_plan(
    mail_builder: CaseBuilder,
    session: Session,
    db_engine: Engine,
    notifier: Notifier,
    registry: WorkflowRegistry,
) -> None:
    """The reminder claim runs its subquery once (a materialised CTE), so it takes one batch
    whatever plan PostgreSQL picks. As ``IN (subquery)`` it took all 150 here, which made the
    batch size meaningless: one of four processes swept everything in one transaction."""
    seed_due_reminders(session, mail_builder, 150)
    with rerun_prone_engine(db_engine) as engine:
        sweeper = ReminderSweeper(
            make_session_factory(engine),
            notifier,
            FixedClock(datetime.now(UTC)),
            registry,
            base_url="",
            batch_size=50,
        )
        report = sweeper.sweep(max_batches=1)

    assert (report.reminders, report.messages) == (50, 50)
    with Session(db_engine) as s:
        rows = s.execute(select(Reminder.status, Reminder.claimed_by)).all()
    assert Counter(rows) == {(ReminderStatus.SENT, None): 50, (ReminderStatus.PENDING, None): 100}


def test_an_outbox_claim_takes_one_batch_whatever_the_plan(
    session: Session, db_engine: Engine, smtp_server: SmtpServer
) -> None:
    """The same for ``OutboxSender.claim``: as ``IN (subquery)`` one claim took every due
    message, so one sender of several got them all, on one SMTP connection."""
    now = datetime.now(UTC)
    queue_messages(session, 150, now)
    with rerun_prone_engine(db_engine) as engine:
        sender = OutboxSender(
            make_session_factory(engine),
            SmtpConfig.from_url(smtp_server.url),
            FixedClock(now),
            MAIL_FROM,
            batch_size=50,
        )
        claimed = sender.claim()
    assert len(claimed) == 50


# ---------------------------------------------------------------------------- killed, restarted


@contextmanager
def case_row_locked(db_engine: Engine, case_id: int) -> Iterator[Connection]:
    """Hold the case row FOR UPDATE (PostgreSQL). Writing an outbox row for the case checks
    its foreign key with FOR KEY SHARE on this row, so a sweeper blocks there: after its claim
    has committed, inside the transaction that marks the batch sent and writes the e-mails."""
    with db_engine.connect() as conn:
        conn.execute(text("SELECT id FROM sip_case WHERE id = :id FOR UPDATE"), {"id": case_id})
        try:
            yield conn
        finally:
            conn.rollback()


def backends_of(db_engine: Engine, application_name: str, *, waiting: bool = False) -> int:
    sql = "SELECT count(*) FROM pg_stat_activity WHERE application_name = :name"
    if waiting:
        sql += " AND wait_event_type = 'Lock'"
    with db_engine.connect() as conn:
        return int(conn.execute(text(sql), {"name": application_name}).scalar_one())


def claimed_reminders(db_engine: Engine) -> dict[str | None, int]:
    with Session(db_engine) as s:
        rows = s.execute(
            select(Reminder.claimed_by, Reminder.status).where(
                Reminder.status == ReminderStatus.PENDING
            )
        ).all()
    return dict(Counter(r.claimed_by for r in rows))


# Killed mid-sweep runs on PostgreSQL only: stopping the process at a known point of its sweep
# (claim committed, the batch's outbox write in flight) needs a row lock it waits on, which
# SQLite has no equivalent for. On SQLite the claim is one atomic UPDATE, covered by the
# four-process test and by the mid-delivery kill, which runs on both databases.
@pytest.mark.parametrize(
    ("phase", "backend"),
    [
        pytest.param("sweeping", "postgresql", marks=pytest.mark.postgresql),
        ("delivering", "sqlite"),
        pytest.param("delivering", "postgresql", marks=pytest.mark.postgresql),
    ],
)
def test_scheduler_killed_and_restarted_mails_each_reminder_exactly_once(
    phase: str,
    backend: str,
    mail_builder: CaseBuilder,
    session: Session,
    db_engine: Engine,
    holding_smtp: SmtpServer,
    tmp_path: Path,
) -> None:
    # Killed mid-sweep: one sweep batch held by the dead process and more after it. Killed
    # mid-delivery: three outbox batches, the first held by the dead process.
    count = SWEEP_BATCH + 100 if phase == "sweeping" else 3 * SENDER_BATCH
    expected = seed_due_reminders(session, mail_builder, count)
    with Session(db_engine) as s:
        case_id = s.scalars(select(Reminder.case_id).limit(1)).one()
    handler = holding_smtp.handler
    assert isinstance(handler, HoldingHandler)
    # A long socket timeout: a process held in DATA must still be waiting when it dies.
    smtp_url = f"smtp://127.0.0.1:{holding_smtp.port}?starttls=never&timeout=60"
    app_name = f"sip-killed-{os.getpid()}"
    env = scheduler_env(db_engine, smtp_url, tmp_path, PGAPPNAME=app_name)

    if phase == "sweeping":
        # Killed with its first batch claimed (committed, with a lease) and the transaction
        # that marks it sent and writes its e-mails in flight: that transaction never commits.
        started_at = datetime.now(UTC)
        with case_row_locked(db_engine, case_id):
            first = start_scheduler_once(env)
            try:
                wait_for(
                    lambda: backends_of(db_engine, app_name, waiting=True) == 1,
                    "the outbox write of its first batch",
                    first,
                )
                killed_at = kill(first)
            finally:
                if first.poll() is None:
                    first.kill()
                    first.communicate()
        # Its server process notices the dead client only once it gets past the lock, then
        # rolls the transaction back; until then it still holds the batch's row locks.
        deadline = time.monotonic() + WAIT_S
        while backends_of(db_engine, app_name):
            assert time.monotonic() < deadline, "the killed scheduler's session lingers"
            time.sleep(0.02)
        claimed = claimed_reminders(db_engine)
        dead_worker = next(k for k in claimed if k is not None)
        assert claimed == {None: count - SWEEP_BATCH, dead_worker: SWEEP_BATCH}
        assert holding_smtp.messages == []
        with Session(db_engine) as s:
            assert s.scalar(select(OutboxMessage.id).limit(1)) is None
            leases = [
                until
                for until in s.scalars(
                    select(Reminder.claimed_until).where(Reminder.claimed_by.is_not(None))
                )
                if until is not None
            ]
        assert len(leases) == SWEEP_BATCH
        assert all(started_at < until - LEASE <= killed_at for until in leases)
        held_back, restarted_sends = SWEEP_BATCH, count - SWEEP_BATCH
    else:
        # Killed while the 4th e-mail's DATA is in flight: all reminders were swept (marked
        # sent, their e-mails in the outbox), three e-mails arrived, the rest of the first
        # outbox batch is claimed by the dead process, everything after it is unclaimed.
        handler.hold_at = 4
        first = start_scheduler_once(env)
        try:
            wait_for(handler.holding.is_set, "the 4th e-mail", first)
            killed_at = kill(first)
        finally:
            if first.poll() is None:
                first.kill()
                first.communicate()
        handler.release.set()  # the held e-mail is refused (to a dead client), never recorded
        assert len(holding_smtp.messages) == 3
        assert claimed_reminders(db_engine) == {}  # every reminder swept and sent
        with Session(db_engine) as s:
            outbox = s.execute(select(OutboxMessage.status, OutboxMessage.claimed_by)).all()
        assert Counter(r.status for r in outbox) == {
            OutboxStatus.SENT: 3,
            OutboxStatus.PENDING: count - 3,
        }
        by_worker = Counter(r.claimed_by for r in outbox if r.status is OutboxStatus.PENDING)
        assert len(by_worker) == 2 and by_worker[None] == count - SENDER_BATCH
        held_back, restarted_sends = SENDER_BATCH - 3, count - SENDER_BATCH

    # Restarted at once (the real CLI, real clock): the dead process's lease still holds its
    # rows, so it sends everything else, and nothing of what the dead one held.
    handler.hold_at = None
    reminders, _messages, delivered = finish(start_scheduler_once(env))
    assert (reminders, delivered) == (
        (restarted_sends, restarted_sends) if phase == "sweeping" else (0, restarted_sends)
    )
    sent_before = count - held_back
    assert len(holding_smtp.messages) == sent_before
    assert reminder_ids_at_server(holding_smtp).most_common(1)[0][1] == 1

    # Restarted once the lease has run out. The CLI reads the system clock and cannot wait
    # five minutes, so this tick runs in-process, through the same scheduler_tick, with a
    # clock just past the lease; the rows stay exactly as the dead process left them (no
    # lease is edited by hand), so the claim logic itself decides what to take over.
    past_the_leases = killed_at + max(LEASE, OUTBOX_LEASE) + timedelta(seconds=1)
    reminders, delivered = tick_at(db_engine, holding_smtp, tmp_path, past_the_leases)
    assert (reminders, delivered) == (
        (held_back, held_back) if phase == "sweeping" else (0, held_back)
    )

    assert_each_reminder_arrived_once(holding_smtp, expected)
    assert_each_reminder_sent_once(db_engine, expected)


# ---------------------------------------------------------------------------- quiet hours


def test_quiet_hours_hold_reminders_only_in_every_process(
    mail_builder: CaseBuilder, session: Session, db_engine: Engine, tmp_path: Path
) -> None:
    """At 20:30 a cancellation in the outbox goes out at once, from `scheduler` as from
    `send-mail`; the due reminders wait for 07:00 (the default quiet hours, 20:00–07:00)."""
    from .notify.test_sender_faults import run_once

    reminders = seed_due_reminders(session, mail_builder, 2)  # due a minute ago, real time
    tomorrow = datetime.now(STOCKHOLM).date() + timedelta(days=1)
    evening = datetime.combine(tomorrow, time_of_day(20, 30), tzinfo=STOCKHOLM)
    with Session(db_engine) as s:
        cancellations = queue_messages(s, 2, evening)
        for row in s.scalars(select(OutboxMessage)):
            row.kind = KIND_CANCEL
        s.commit()
    server = SmtpServer()
    server.start()
    env = _cli_env(db_engine, server.url, tmp_path)  # SIP_QUIET_HOURS unset: the default
    try:
        with Session(db_engine) as s:  # one for each process
            _first, second = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
            second.next_attempt_at = evening + timedelta(minutes=5)
            s.commit()
        assert run_once(env, "scheduler", evening) == (0, 1, 0)
        assert run_once(env, "send-mail", evening + timedelta(minutes=5)) == (0, 1, 0)
        assert sorted(str(m["Message-ID"]) for m in server.messages) == sorted(cancellations)
        with Session(db_engine) as s:
            assert set(s.scalars(select(Reminder.status))) == {ReminderStatus.PENDING}

        morning = evening + timedelta(hours=10, minutes=30)  # 07:00
        assert run_once(env, "scheduler", morning - timedelta(minutes=1)) == (0, 0, 0)
        assert run_once(env, "scheduler", morning) == (0, 2, 0)
        reminder_mail = [m for m in server.messages if str(m["Message-ID"]) not in cancellations]
    finally:
        server.stop()
    per_reminder = Counter(
        int(found.group(1))
        for m in reminder_mail
        if (found := REMINDER_IN_MESSAGE_ID.match(str(m["Message-ID"])))
    )
    assert len(reminder_mail) == 2 and per_reminder == dict.fromkeys(reminders, 1)
