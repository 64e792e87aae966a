"""The scheduler at scale: delivering the due reminders among a million, and sweeping when
nothing is due.

A freshly migrated database is seeded with ``--rows`` reminder rows (1,000,000 by default), as
a service that has run for a while has them: most are history (sent or cancelled, due in the
past), many are pending and due later, and ``--due`` of them (10,000) are pending and due now.
They belong to ``--cases`` cases in ``kalla`` (2,000), each with a called meeting and three
invited participants; half of the due ones go to the case's coordinator (a warning), half to a
participant who has not answered (a reminder with the signed answer link).

Then, against a local SMTP sink (aiosmtpd on a free loopback port, in a process of its own so
that it does not share the measured process's interpreter lock):

1. delivery: one ``scheduler_tick`` (the ``sip-engine scheduler --once`` round: sweep the due
   reminders into the outbox, then deliver the outbox), timed in its two parts; with
   ``--processes N`` instead N real ``sip-engine scheduler --once`` processes started together.
   The sink must have received each due reminder's e-mail exactly once (counted by the
   reminder id in the Message-ID), and every due reminder must be ``sent``;
2. empty sweeps: with nothing due any more, ``--sweeps`` sweeps (200) of the reminder table
   alone, and as many whole ticks (reminders and outbox): p50, p95 and max. Target: a sweep
   under 10 ms, which takes an index range scan, not a scan of the table;
3. the plans of the statements those sweeps ran (captured as they ran, with their parameters):
   ``EXPLAIN (ANALYZE, BUFFERS)`` on PostgreSQL, inside a transaction that is rolled back, and
   ``EXPLAIN QUERY PLAN`` on SQLite.

    python -m benchmarks.bench_scheduler --database sqlite
    python -m benchmarks.bench_scheduler --database postgresql --json
    python -m benchmarks.bench_scheduler --database postgresql --processes 4

PostgreSQL: ``SIP_BENCH_POSTGRESQL_URL`` (default below). The benchmark works in a schema of
its own, ``bench_scheduler``, created fresh and dropped afterwards; nothing else in that
database is touched. SQLite: a file in a temporary folder, removed afterwards. The clock is
the real one (the CLI processes read it); quiet hours are off.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import secrets
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from time import perf_counter, process_time, sleep
from typing import Any

import sqlalchemy
from sqlalchemy import Engine, Table, event, insert, select, text
from sqlalchemy.engine import make_url

from benchmarks.bench_transitions import _git_commit
from sip_engine import migrate
from sip_engine.clock import FixedClock, SystemClock
from sip_engine.config import Settings
from sip_engine.db import make_engine
from sip_engine.models import (
    Base,
    Case,
    Child,
    IdentityKind,
    Invitation,
    Meeting,
    MeetingFormat,
    MeetingKind,
    NosamArea,
    Organisation,
    OutboxMessage,
    OutboxStatus,
    Participant,
    ParticipantKind,
    Party,
    RaisedBy,
    Reminder,
    ReminderStatus,
    Role,
    User,
)
from sip_engine.notify.sender import OutboxSender, SmtpConfig
from sip_engine.runtime import Runtime, runtime_for
from sip_engine.scheduler import ReminderSweeper, scheduler_tick

PG_ENV = "SIP_BENCH_POSTGRESQL_URL"
DEFAULT_PG_URL = "postgresql+psycopg://sip:sip@127.0.0.1:5432/sip_bench"
SCHEMA = "bench_scheduler"
SEED_BATCH = 50_000
MAIL_FROM = "SIP-stöd <sip@sip.test>"
TARGET_EMPTY_SWEEP_MS = 10.0
MESSAGE_ID = re.compile(rb"^Message-ID:[ \t]*(\S+)", re.IGNORECASE | re.MULTILINE)
REMINDER_IN_MESSAGE_ID = re.compile(r"^<sip-r(\d+)-")
WAIT_S = 30  # upper bound for the sink to come up or go down; never slept
PROCESS_TIMEOUT_S = 3600  # upper bound for one scheduler process
# What the non-due rows are, in shares of them: (status, when due relative to now).
HISTORY_SENT, HISTORY_CANCELLED = 0.6, 0.1  # the rest is pending and due later


def _table(model: type[Base]) -> Table:
    return Base.metadata.tables[str(model.__tablename__)]


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------
# The SMTP sink: a process of its own, writing each accepted message's Message-ID to a file


class _CountingHandler:
    def __init__(self, out: Any) -> None:
        self.out = out

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        head = bytes(envelope.content).split(b"\r\n\r\n", 1)[0]
        found = MESSAGE_ID.search(head)
        self.out.write((found.group(1).decode("ascii", "replace") if found else "?") + "\n")
        return "250 OK"


def sink_main(port: int, path: str) -> int:
    """``--smtp-sink PORT FILE``: run until SIGTERM."""
    from aiosmtpd.controller import Controller

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with open(path, "w", encoding="ascii", buffering=1) as out:
        controller = Controller(_CountingHandler(out), hostname="127.0.0.1", port=port)
        controller.start()
        try:
            stop.wait()
        finally:
            controller.stop()
    return 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Sink:
    port: int
    path: Path

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?starttls=never&timeout=60"

    def message_ids(self) -> list[str]:
        return self.path.read_text(encoding="ascii").splitlines()


@contextmanager
def smtp_sink(folder: Path) -> Iterator[Sink]:
    sink = Sink(_free_port(), folder / "received.txt")
    command = [sys.executable, "-m", "benchmarks.bench_scheduler", "--smtp-sink"]
    process = subprocess.Popen(
        [*command, str(sink.port), str(sink.path)],
        cwd=Path(__file__).resolve().parent.parent,
    )
    try:
        deadline = perf_counter() + WAIT_S
        while True:
            try:
                socket.create_connection(("127.0.0.1", sink.port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or perf_counter() > deadline:
                    raise RuntimeError("the SMTP sink did not start") from None
                sleep(0.05)
        yield sink
    finally:
        process.terminate()
        try:
            process.wait(WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------------------------
# The database


def _pg_url(base: str) -> str:
    """The benchmark's URL: the configured database, with its own schema as search path (so
    that the CLI processes, which only read SIP_DATABASE_URL, use it too)."""
    url = make_url(base)
    return url.update_query_dict({"options": f"-csearch_path={SCHEMA}"}).render_as_string(
        hide_password=False
    )


@contextmanager
def fresh_database(database: str, pg_url: str, folder: Path) -> Iterator[tuple[Engine, str]]:
    """A migrated, empty database and its URL; dropped afterwards."""
    if database == "sqlite":
        url = f"sqlite:///{folder / 'bench.sqlite3'}"
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            yield engine, url
        finally:
            engine.dispose()
        return
    url = _pg_url(pg_url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        migrate.upgrade(engine)
        yield engine, url
    finally:
        engine.dispose()
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        engine.dispose()


@dataclass
class Seeded:
    due_ids: list[int]
    rows: int
    by_status: dict[str, int]
    seconds: float


def seed(engine: Engine, n_rows: int, n_due: int, n_cases: int, now: datetime) -> Seeded:
    started = perf_counter()
    today = now.date()
    with engine.begin() as conn:
        conn.execute(insert(_table(NosamArea)), [{"id": 1, "name": "Centrum", "kommun": "Gbg"}])
        conn.execute(
            insert(_table(Organisation)),
            [
                {
                    "id": i,
                    "name": name,
                    "party": party,
                    "kind": kind,
                    "huvudman": "Göteborgs kommun",
                    "kommun": "Göteborg",
                    "nosam_area_id": 1,
                }
                for i, (name, party, kind) in enumerate(
                    (
                        ("Socialtjänst Centrum", Party.KOMMUN, "socialtjänst"),
                        ("Centrumskolan", Party.SKOLA, "grundskola"),
                        ("BUP Centrum", Party.REGION, "BUP"),
                    ),
                    start=1,
                )
            ],
        )
        coordinators = 20
        conn.execute(
            insert(_table(User)),
            [
                {
                    "id": u,
                    "username": f"samordnare{u}",
                    "display_name": f"Samordnare {u}",
                    "password_hash": "x",
                    "role": Role.SAMORDNARE,
                    "organisation_id": 1,
                    "is_active": True,
                    "email": f"samordnare{u}@example.se",
                }
                for u in range(1, coordinators + 1)
            ],
        )
        for start in range(0, n_cases, 5000):
            ids = range(start + 1, min(start + 5000, n_cases) + 1)
            conn.execute(
                insert(_table(Child)),
                [
                    {
                        "id": c,
                        "first_name": "Alva",
                        "last_name": f"Barn{c}",
                        "identity_kind": IdentityKind.RESERVNUMMER,
                        "birth_date": today - timedelta(days=3650 + c % 2000),
                        "protected_identity": False,
                    }
                    for c in ids
                ],
            )
            conn.execute(
                insert(_table(Case)),
                [
                    {
                        "id": c,
                        "reference": f"SIP-2026-{c:06d}",
                        "child_id": c,
                        "nosam_area_id": 1,
                        "unit_id": 1,
                        "coordinator_id": c % coordinators + 1,
                        "workflow_name": "sip",
                        "workflow_version": 1,
                        "state": "kalla",
                        "state_entered_at": now - timedelta(days=5),
                        "reasons": ["skolfranvaro"],
                        "need_description": "Hög skolfrånvaro.",
                        "raised_by": RaisedBy.SKOLA,
                        "raised_on": today - timedelta(days=20),
                        "involved_organisation_ids": [2, 3],
                        "opened_at": now - timedelta(days=20),
                        "updated_at": now - timedelta(days=5),
                        "version": 3,
                    }
                    for c in ids
                ],
            )
            conn.execute(
                insert(_table(Participant)),
                [
                    {
                        "id": 3 * (c - 1) + k + 1,
                        "case_id": c,
                        "kind": ParticipantKind.KALLAD,
                        "organisation_id": k + 1,
                        "name": f"Deltagare {c}-{k}",
                        "email": f"deltagare{c}-{k}@example.se",
                        "roles": [],
                        "added_at": now - timedelta(days=10),
                    }
                    for c in ids
                    for k in range(3)
                ],
            )
            starts = now + timedelta(days=14)
            conn.execute(
                insert(_table(Meeting)),
                [
                    {
                        "id": c,
                        "case_id": c,
                        "kind": MeetingKind.SIP,
                        "starts_at": starts,
                        "ends_at": starts + timedelta(minutes=90),
                        "format": MeetingFormat.PA_PLATS,
                        "location": "Stadsdelshuset, rum 3",
                        "questions": ["Hur får barnet en fungerande skolgång?"],
                        "sequence": 0,
                        "created_at": now - timedelta(days=6),
                        "called_at": now - timedelta(days=5),
                    }
                    for c in ids
                ],
            )
            conn.execute(
                insert(_table(Invitation)),
                [
                    {
                        "id": 3 * (c - 1) + k + 1,
                        "meeting_id": c,
                        "participant_id": 3 * (c - 1) + k + 1,
                        "link_nonce": secrets.token_hex(8),
                        "created_at": now - timedelta(days=5),
                        "sent_sequence": 0,
                    }
                    for c in ids
                    for k in range(3)
                ],
            )

    def reminder(i: int) -> tuple[Any, ...]:
        """Row i: (key, case_id, rule_id, kind, state, recipient, participant_id, user_id,
        due_at, status, created_at, processed_at), times naive UTC as stored."""
        case_id = i % n_cases + 1
        to_user = i % 2 == 0
        if i < n_due:
            due, status, processed = now - timedelta(minutes=1 + i % 120), "pending", None
        else:
            share = (i - n_due) / max(1, n_rows - n_due)
            if share < HISTORY_SENT:
                due = now - timedelta(days=1 + i % 365, minutes=i % 1440)
                status, processed = "sent", due
            elif share < HISTORY_SENT + HISTORY_CANCELLED:
                due = now - timedelta(days=1 + i % 365, minutes=i % 1440)
                status, processed = "cancelled", due - timedelta(days=1)
            else:
                due, status, processed = now + timedelta(days=1 + i % 365), "pending", None
        naive = due.replace(tzinfo=None)
        created = (now - timedelta(days=400)).replace(tzinfo=None)
        return (
            f"{case_id}:bench:{i}",
            case_id,
            "upptack_varning" if to_user else "svar_paminnelse_7",
            "warning" if to_user else "reminder",
            "kalla",
            "coordinator" if to_user else "unanswered_participants",
            None if to_user else 3 * (case_id - 1) + i % 3 + 1,
            case_id % coordinators + 1 if to_user else None,
            naive,
            status,
            created,
            processed.replace(tzinfo=None) if processed else None,
        )

    columns = (
        "key, case_id, rule_id, kind, state, recipient, participant_id, user_id, due_at, "
        "status, created_at, processed_at"
    )
    sqlite_cache = engine.dialect.name == "sqlite"
    for start in range(0, n_rows, SEED_BATCH):
        batch = [reminder(i) for i in range(start, min(start + SEED_BATCH, n_rows))]
        with engine.begin() as conn:
            if sqlite_cache:
                # A large page cache while loading (the key index is filled in random order);
                # the default is put back below, before anything is measured.
                conn.exec_driver_sql("PRAGMA cache_size=-262144")
            if engine.dialect.name == "postgresql":
                driver = conn.connection.driver_connection
                assert driver is not None
                with (
                    driver.cursor() as cursor,
                    cursor.copy(f"COPY reminder ({columns}) FROM STDIN") as copy,
                ):
                    for row in batch:
                        copy.write_row(row)
            else:
                # The driver directly (executemany), in the format SQLAlchemy stores datetimes.
                def iso(moment: datetime | None) -> str | None:
                    return moment.isoformat(sep=" ", timespec="microseconds") if moment else None

                conn.exec_driver_sql(
                    f"INSERT INTO reminder ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [(*r[:8], iso(r[8]), r[9], iso(r[10]), iso(r[11])) for r in batch],
                )
        say(f"[seed] {min(start + SEED_BATCH, n_rows):,} reminders")
    if sqlite_cache:
        engine.dispose()  # the pooled connection with the large cache goes
    _after_seed(engine)
    with engine.connect() as conn:
        due_ids = list(
            conn.scalars(
                select(Reminder.id)
                .where(Reminder.status == ReminderStatus.PENDING, Reminder.due_at <= now)
                .order_by(Reminder.id)
            )
        )
        by_status = {
            str(s): int(n)
            for s, n in conn.execute(
                text("SELECT status, count(*) FROM reminder GROUP BY status ORDER BY status")
            )
        }
    assert len(due_ids) == n_due, (len(due_ids), n_due)
    assert sum(by_status.values()) == n_rows
    return Seeded(due_ids, n_rows, by_status, perf_counter() - started)


def _after_seed(engine: Engine) -> None:
    """PostgreSQL: sequences past the explicit ids, then VACUUM ANALYZE (as autovacuum would
    leave a table after a bulk load). SQLite: a WAL checkpoint; no ANALYZE, as in service."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in Base.metadata.sorted_tables:
                if "id" in table.c:
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"coalesce((SELECT max(id) FROM {table.name}), 1))"
                        )
                    )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in ("reminder", "outbox_message", "sip_case", "participant", "invitation"):
                conn.execute(text(f"VACUUM ANALYZE {name}"))
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


# --------------------------------------------------------------------------------------------
# Measuring


def make_runtime(engine: Engine, url: str, sink: Sink, folder: Path) -> Runtime:
    settings = Settings(
        database_url=url,
        instance_dir=folder / "instance",
        secret_key="bench-secret",
        smtp_url=sink.url,
        mail_from=MAIL_FROM,
        quiet_hours="off",
    )
    return runtime_for(settings, engine, SystemClock())


@dataclass
class Delivery:
    processes: int
    seconds: float
    sweep_seconds: float | None  # in-process only: the parts of the tick
    send_seconds: float | None
    swept: int
    delivered: int
    received: int
    duplicates: int
    missing: int
    per_second: float


def deliver_in_process(runtime: Runtime) -> tuple[float, float, int, int]:
    """``scheduler_tick``'s two parts, timed separately: sweep, then the outbox."""
    settings = runtime.settings
    assert settings.smtp_url
    sweeper = ReminderSweeper(
        runtime.sessions,
        runtime.notifier,
        runtime.clock,
        runtime.registry,
        base_url=settings.base_url,
    )
    started = perf_counter()
    report = sweeper.sweep()
    swept_at = perf_counter()
    sender = OutboxSender(
        runtime.sessions, SmtpConfig.from_url(settings.smtp_url), runtime.clock, MAIL_FROM
    )
    sent = sender.deliver_all_due(max_batches=100_000).sent
    return swept_at - started, perf_counter() - swept_at, report.reminders, sent


def deliver_with_processes(url: str, sink: Sink, folder: Path, n: int) -> tuple[int, int]:
    script = Path(sys.executable).with_name("sip-engine")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIP_")}
    env.update(
        SIP_DATABASE_URL=url,
        SIP_SMTP_URL=sink.url,
        SIP_SECRET_KEY="bench-secret",
        SIP_INSTANCE_DIR=str(folder / "instance"),
        SIP_MAIL_FROM=MAIL_FROM,
        SIP_QUIET_HOURS="off",
    )
    processes = [
        subprocess.Popen(
            [str(script), "scheduler", "--once"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    swept = delivered = 0
    try:
        for process in processes:
            out, err = process.communicate(timeout=PROCESS_TIMEOUT_S)
            found = re.search(r"påminnelser: (\d+), meddelanden: \d+, levererade: (\d+)", out)
            if process.returncode != 0 or not found:
                raise RuntimeError(f"scheduler failed ({process.returncode}):\n{out}\n{err}")
            swept += int(found.group(1))
            delivered += int(found.group(2))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.communicate()
    return swept, delivered


def check_delivery(engine: Engine, sink: Sink, due_ids: list[int]) -> tuple[int, int, int]:
    """(received, duplicates, missing) at the sink, and every due reminder sent in the
    database with exactly one outbox row."""
    counts: Counter[int] = Counter()
    for message_id in sink.message_ids():
        found = REMINDER_IN_MESSAGE_ID.match(message_id)
        if found is None:
            raise RuntimeError(f"an e-mail that is not a reminder's: {message_id}")
        counts[int(found.group(1))] += 1
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    missing = len(set(due_ids) - set(counts))
    with engine.connect() as conn:
        statuses = Counter(
            conn.scalars(select(Reminder.status).where(Reminder.id.in_(due_ids))).all()
        )
        outbox = Counter(conn.scalars(select(OutboxMessage.status)).all())
    if statuses != {ReminderStatus.SENT: len(due_ids)}:
        raise RuntimeError(f"due reminders not all sent: {statuses}")
    if outbox != {OutboxStatus.SENT: len(due_ids)}:
        raise RuntimeError(f"outbox not one sent e-mail per reminder: {outbox}")
    return sum(counts.values()), duplicates, missing


@dataclass
class Latency:
    runs: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    first_ms: float
    # This process's CPU time per run (median): what the wall figures are when the machine is
    # not shared. On SQLite it includes the database's work; on PostgreSQL the server's is not.
    cpu_p50_ms: float


def _pct(ordered: list[float], p: float) -> float:
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] * 1000


def _latency(samples: list[float], cpu: list[float]) -> Latency:
    ordered = sorted(samples)
    return Latency(
        len(samples),
        _pct(ordered, 0.5),
        _pct(ordered, 0.95),
        ordered[-1] * 1000,
        samples[0] * 1000,
        _pct(sorted(cpu), 0.5),
    )


@contextmanager
def captured_statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, parameters: Any, *_a: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def empty_sweeps(runtime: Runtime, runs: int) -> tuple[Latency, Latency, dict[str, Any]]:
    """Sweeps of the reminders alone, then whole ticks, with nothing due; and the claim
    statements they ran (with their parameters), for the plans."""
    sweeper = ReminderSweeper(
        runtime.sessions,
        runtime.notifier,
        runtime.clock,
        runtime.registry,
        base_url=runtime.settings.base_url,
    )
    with captured_statements(runtime.engine) as seen:
        report = sweeper.sweep()
        report_tick, delivered = scheduler_tick(runtime)
    if report.reminders or report_tick.reminders or delivered:
        raise RuntimeError("something was still due")
    claims = {
        name: next(
            (s, p) for s, p in seen if f"UPDATE {name} SET claimed_by" in " ".join(s.split())
        )
        for name in ("reminder", "outbox_message")
    }
    latencies = []
    for run_once in (sweeper.sweep, lambda: scheduler_tick(runtime)):
        wall, cpu = [], []
        for _ in range(runs):
            started, started_cpu = perf_counter(), process_time()
            run_once()
            wall.append(perf_counter() - started)
            cpu.append(process_time() - started_cpu)
        latencies.append(_latency(wall, cpu))
    return latencies[0], latencies[1], claims


def due_claim(runtime: Runtime, now: datetime) -> tuple[str, Any]:
    """The reminder claim exactly as the sweeper writes it, with ``now`` as its time: captured
    from a sweep whose clock stands three hours earlier (nothing is due then, so that sweep
    changes nothing), its times then replaced by ``now``'s."""
    before = now - timedelta(hours=3)
    sweeper = ReminderSweeper(
        runtime.sessions,
        runtime.notifier,
        FixedClock(before),
        runtime.registry,
        base_url=runtime.settings.base_url,
    )
    with captured_statements(runtime.engine) as seen:
        if sweeper.sweep().reminders:
            raise RuntimeError("something was due three hours ago")
    statement, parameters = next(
        (s, p) for s, p in seen if "UPDATE reminder SET claimed_by" in " ".join(s.split())
    )

    def stored(moment: datetime) -> Any:  # as the driver receives it
        naive = moment.astimezone(UTC).replace(tzinfo=None)
        if runtime.engine.dialect.name == "postgresql":
            return naive
        return naive.isoformat(sep=" ", timespec="microseconds")

    old, new = stored(before), stored(now)
    if isinstance(parameters, dict):
        if old not in parameters.values():
            raise RuntimeError(f"the claim's time is not among its parameters: {parameters}")
        return statement, {k: new if v == old else v for k, v in parameters.items()}
    if old not in parameters:
        raise RuntimeError(f"the claim's time is not among its parameters: {parameters}")
    return statement, tuple(new if v == old else v for v in parameters)


def explain(engine: Engine, statement: str, parameters: Any) -> list[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # ANALYZE runs the UPDATE (it changes nothing when nothing is due); rolled back.
            rows = conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters
            ).all()
            conn.rollback()
            return [str(r[0]) for r in rows]
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        conn.rollback()
    # (id, parent, notused, detail): indent each step under its parent.
    depth: dict[int, int] = {0: -1}
    lines = []
    for node, parent, _unused, detail in rows:
        depth[node] = depth.get(parent, -1) + 1
        lines.append("  " * depth[node] + str(detail))
    return lines


# --------------------------------------------------------------------------------------------
# The report


@dataclass
class Report:
    database: str
    server: str
    date: str
    commit: str
    python: str
    sqlalchemy: str
    machine: str
    cpus: int
    load_before: tuple[float, ...]
    load_after: tuple[float, ...]
    rows: int
    due: int
    cases: int
    by_status: dict[str, int]
    seed_seconds: float
    delivery: Delivery
    empty_sweep: Latency
    empty_tick: Latency
    plans: dict[str, list[str]] = field(default_factory=dict)
    statements: dict[str, str] = field(default_factory=dict)
    index_used: bool = False
    table_scans: list[str] = field(default_factory=list)


def _machine() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _load() -> tuple[float, ...]:
    try:
        return tuple(round(x, 2) for x in os.getloadavg())
    except OSError:
        return ()


def _server(engine: Engine) -> str:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return "PostgreSQL " + str(conn.execute(text("SHOW server_version")).scalar_one())
    return f"SQLite {sqlite3.sqlite_version}"


def run(args: argparse.Namespace) -> Report:
    pg_url = os.environ.get(PG_ENV, DEFAULT_PG_URL)
    load_before = _load()
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="sip-bench-sched-")))
        engine, url = stack.enter_context(fresh_database(args.database, pg_url, folder))
        now = datetime.now(UTC)
        say(f"[seed] {args.rows:,} reminders, {args.due:,} due, on {args.cases:,} cases")
        seeded = seed(engine, args.rows, args.due, args.cases, now)
        say(f"[seed] done in {seeded.seconds:.1f} s: {seeded.by_status}")
        sink = stack.enter_context(smtp_sink(folder))
        runtime = make_runtime(engine, url, sink, folder)

        due_plan = explain(engine, *due_claim(runtime, datetime.now(UTC)))
        say(f"[deliver] {args.due:,} due reminders, {args.processes} process(es)")
        started = perf_counter()
        sweep_s: float | None = None
        send_s: float | None = None
        if args.processes == 1:
            sweep_s, send_s, swept, delivered = deliver_in_process(runtime)
        else:
            swept, delivered = deliver_with_processes(url, sink, folder, args.processes)
        seconds = perf_counter() - started
        received, duplicates, missing = check_delivery(engine, sink, seeded.due_ids)
        delivery = Delivery(
            args.processes,
            seconds,
            sweep_s,
            send_s,
            swept,
            delivered,
            received,
            duplicates,
            missing,
            received / seconds,
        )
        say(f"[deliver] {delivery}")

        say(f"[empty] {args.sweeps} sweeps and {args.sweeps} ticks with nothing due")
        sweep_latency, tick_latency, claims = empty_sweeps(runtime, args.sweeps)
        plans = {
            "reminder claim, nothing due": explain(engine, *claims["reminder"]),
            f"reminder claim, {args.due:,} due": due_plan,
            "outbox claim, nothing due": explain(engine, *claims["outbox_message"]),
        }
        server = _server(engine)
    index_used = any("ix_reminder_due" in line for line in plans["reminder claim, nothing due"])
    table_scans = [
        f"{name}: {line.strip()}"
        for name, plan in plans.items()
        if name.startswith("reminder")
        for line in plan
        if re.search(r"Seq Scan on reminder|\bSCAN reminder\b", line)
    ]
    return Report(
        database=args.database,
        server=server,
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        commit=_git_commit(),
        python=platform.python_version(),
        sqlalchemy=sqlalchemy.__version__,
        machine=_machine(),
        cpus=os.cpu_count() or 0,
        load_before=load_before,
        load_after=_load(),
        rows=seeded.rows,
        due=args.due,
        cases=args.cases,
        by_status=seeded.by_status,
        seed_seconds=seeded.seconds,
        delivery=delivery,
        empty_sweep=sweep_latency,
        empty_tick=tick_latency,
        plans=plans,
        statements={name: " ".join(s.split()) for name, (s, _p) in claims.items()},
        index_used=index_used,
        table_scans=table_scans,
    )


def render(report: Report) -> str:
    d = report.delivery
    lines = [
        f"sip-engine scheduler benchmark — {report.server}",
        f"{report.date}, commit {report.commit}, Python {report.python}, SQLAlchemy "
        f"{report.sqlalchemy}, {report.cpus} CPUs ({report.machine}), load average "
        f"{report.load_before} before and {report.load_after} after",
        f"{report.rows:,} reminder rows on {report.cases:,} cases: {report.by_status}; "
        f"{report.due:,} due; seeded in {report.seed_seconds:.1f} s",
        "",
        f"delivery ({d.processes} {'process' if d.processes == 1 else 'processes'}): "
        f"{d.received:,} e-mails at the sink in {d.seconds:.1f} s ({d.per_second:,.0f}/s); "
        f"swept {d.swept:,}, delivered {d.delivered:,}, duplicates {d.duplicates}, "
        f"missing {d.missing}",
    ]
    if d.sweep_seconds is not None and d.send_seconds is not None:
        lines.append(
            f"    sweep into the outbox {d.sweep_seconds:.1f} s "
            f"({d.sweep_seconds / max(1, d.swept) * 1000:.2f} ms per reminder), "
            f"SMTP delivery {d.send_seconds:.1f} s "
            f"({d.send_seconds / max(1, d.delivered) * 1000:.2f} ms per e-mail)"
        )
    for label, lat in (
        ("empty sweep (reminders)", report.empty_sweep),
        ("empty tick (reminders + outbox)", report.empty_tick),
    ):
        verdict = "meets" if lat.p95_ms < TARGET_EMPTY_SWEEP_MS else "ABOVE"
        lines.append(
            f"{label}: p50 {lat.p50_ms:.2f} ms, p95 {lat.p95_ms:.2f} ms, max {lat.max_ms:.2f} "
            f"ms, first {lat.first_ms:.2f} ms over {lat.runs} runs (p95 {verdict} the "
            f"{TARGET_EMPTY_SWEEP_MS:.0f} ms target); CPU of this process p50 "
            f"{lat.cpu_p50_ms:.2f} ms"
        )
    lines.append(f"reminder claim, nothing due, uses ix_reminder_due: {report.index_used}")
    lines.append(
        "table scans of reminder in the claim's plans: "
        + ("; ".join(report.table_scans) if report.table_scans else "none")
    )
    for name, statement in report.statements.items():
        lines += ["", f"{name} claim:", f"  {statement}"]
    for name, plan in report.plans.items():
        lines += ["", f"plan of the {name}:"]
        lines += [f"    {line}" for line in plan]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--smtp-sink"]:
        return sink_main(int(argv[1]), argv[2])
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_scheduler", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--rows", type=int, default=1_000_000, help="reminder rows")
    parser.add_argument("--due", type=int, default=10_000, help="of them due now")
    parser.add_argument("--cases", type=int, default=2_000, help="cases they belong to")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="1: one scheduler_tick in this process; N: N `sip-engine scheduler --once`",
    )
    parser.add_argument("--sweeps", type=int, default=200, help="empty sweeps timed")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if an empty sweep's p95 misses the target"
    )
    args = parser.parse_args(argv)
    if not (0 < args.due <= args.rows) or args.cases < 1 or args.processes < 1:
        parser.error("need 0 < --due <= --rows, --cases >= 1, --processes >= 1")
    if not 1 <= args.sweeps <= 100_000:
        parser.error("--sweeps must be between 1 and 100,000")
    report = run(args)
    print(json.dumps(asdict(report), indent=2) if args.json else render(report))
    d = report.delivery
    if d.duplicates or d.missing or d.received != report.due:
        return 2
    if args.check and (report.empty_sweep.p95_ms >= TARGET_EMPTY_SWEEP_MS or not report.index_used):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
