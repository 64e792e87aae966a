"""Fired transitions per second: the workflow engine against plain SQL writes (the floor).

With ``--cases`` cases in the database (10,000 by default), each measured fire is one
transaction, as a web request does it. Five paths, each on its own freshly seeded copy of the
same data, interleaved in blocks so that the machine's load affects them alike:

* ``engine``: a Session, the case loaded, ``WorkflowEngine.fire(...)``, commit; the engine is
  wired as ``sip_engine.runtime`` wires it, with a notifier (``--no-notifier`` to leave it out);
* ``floor``:  every row the engine writes, with SQLAlchemy Core in the fewest statements:
  ``UPDATE sip_case ... WHERE id AND version`` (plus ``UPDATE meeting SET called_at`` for
  ``kalla``), one multi-row INSERT per table for the reminders, invitations and outbox
  messages (their values copied from what the engine wrote on another copy) and
  ``INSERT INTO case_event``, then commit;
* ``replay``: every INSERT/UPDATE/DELETE one engine fire sent (reminders, invitations and
  outbox messages included), recorded beforehand on another copy and sent again as they are
  with ``Connection.exec_driver_sql``: the floor for everything the engine writes;
* ``bound``:  what any correct engine must at least do: a Session, the case through
  ``session.get_one`` (as ``engine`` loads it), the rows the trigger's guards and the new
  state's reminder rules read and the case's existing reminders, read with Core on the
  session's connection (no guard evaluated, nothing rendered), then the floor's writes (the
  same prepared rows) and commit. ``engine / bound`` is how far the engine is from any
  engine that reads what it checks; ``bound / floor`` how far that is from the target;
* ``orm``:    a reference point, not a floor: the transition's own writes through the ORM
  (the case loaded, attributes set, the same reminders, invitations, outbox messages and event
  added as objects, commit), with no guards, no machine and no rendering.

Two triggers are measured, in the order of the SIP journey: ``forbered`` (upptäck → förbered;
one guard reading the case's participants and their organisations) and ``kalla`` (förbered →
kalla; five guards reading participants, consents, the child and guardians and the open
meeting; actions that mark the meeting called and queue the kallelse e-mails).

Afterwards a digest shows that every path wrote the same case, meeting and transition rows,
and row counts that the floor, replay, bound and ORM reference wrote as many rows as the
engine in every table. A separate engine pass under ``tracemalloc`` checks that memory does
not grow with the number of cases handled, and that no model stays attached to the shared
``transitions`` machine.

    python -m benchmarks.bench_transitions --database sqlite
    python -m benchmarks.bench_transitions --database postgresql --json > pg.json
    python -m benchmarks.bench_transitions --render pg.json
    python -m benchmarks.bench_transitions --database sqlite --fires 2000 --profile engine.prof

PostgreSQL: ``SIP_BENCH_POSTGRESQL_URL`` (default below). Each copy is a schema
``bench_<path>`` of that database, dropped and created again, and dropped at the end.
"""

from __future__ import annotations

import argparse
import array
import cProfile
import gc
import hashlib
import json
import os
import platform
import pstats
import random
import sqlite3
import subprocess
import sys
import tempfile
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from time import perf_counter
from typing import Any

import sqlalchemy
import transitions
from sqlalchemy import Engine, Table, bindparam, event, func, insert, select, text, update
from sqlalchemy.orm import Session

from sip_engine import migrate
from sip_engine.clock import FixedClock, local_date, stockholm
from sip_engine.db import make_engine, make_session_factory
from sip_engine.identity import make_identity_number
from sip_engine.models import (
    Base,
    Case,
    CaseEvent,
    Child,
    Consent,
    ConsentForm,
    EventKind,
    FunctionRole,
    IdentityKind,
    Invitation,
    Meeting,
    MeetingFormat,
    MeetingKind,
    NosamArea,
    Organisation,
    OutboxMessage,
    Participant,
    ParticipantKind,
    Party,
    Professional,
    RaisedBy,
    Relative,
    RelativeKind,
    Reminder,
    Role,
    User,
    consent_organisation,
)
from sip_engine.notify import Notifier
from sip_engine.notify.links import AnswerLinks
from sip_engine.workflow import Actor, WorkflowEngine, WorkflowRegistry

PG_ENV = "SIP_BENCH_POSTGRESQL_URL"
DEFAULT_PG_URL = "postgresql+psycopg://sip:sip@127.0.0.1:5432/sip_bench"

# A Monday morning in Stockholm; the clock stands still, so runs write identical rows.
NOW = stockholm(2026, 3, 2, 9, 0)
WORKFLOW = ("sip", 1)
# The triggers measured, in journey order: (trigger, from state, to state, case version before).
TRIGGERS = (
    ("forbered", "upptack", "forbered", 1),
    ("kalla", "forbered", "kalla", 2),
)
TARGET_RATIO = 0.5
PATHS = ("floor", "replay", "bound", "orm", "engine")
# The answer links in a kallelse are signed; any fixed secret will do here.
LINK_SECRET = "bench-answer-link-secret-0123456789abcdef"
BASE_URL = "https://sip.example.se"
MAIL_FROM = "SIP-stöd <sip@example.se>"
SEED_CHUNK = 500  # cases per batch of bulk inserts

AREAS = (
    ("Centrum", "Göteborg"),
    ("Angered", "Göteborg"),
    ("Hisingen", "Göteborg"),
    ("Partille", "Partille"),
)
FIRST_NAMES = (
    "Alva",
    "Elsa",
    "Maja",
    "Noah",
    "Hugo",
    "Liam",
    "Saga",
    "Ella",
    "Omar",
    "Nora",
    "Leo",
    "Alice",
    "Vera",
    "William",
    "Ali",
    "Selma",
)
LAST_NAMES = (
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Hassan",
    "Pettersson",
)
REASONS = ("skolfranvaro", "psykisk_ohalsa", "funktionsnedsattning", "placering", "missbruk")


def _table(model: type[Base]) -> Table:
    """A model's Table (``__table__`` is typed as a plain FromClause)."""
    return Base.metadata.tables[str(model.__tablename__)]


# --------------------------------------------------------------------------------------------
# Seeding


@dataclass(frozen=True)
class SeededCase:
    id: int
    unit_id: int
    meeting_id: int


@dataclass
class Seed:
    cases: list[SeededCase]  # in firing order (a deterministic shuffle)
    actors: dict[int, Actor]  # the samordnare of each unit, by unit id
    rows: int
    seconds: float


def _chunks(rows: list[dict[str, Any]], size: int = 2000) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


@dataclass
class DirectoryRows:
    """Rows for the organisations, professionals and users of a seeded database, numbered
    from 1 as they are added (the benchmarks insert them in bulk with these ids)."""

    password_hash: str
    orgs: list[dict[str, Any]] = field(default_factory=list)
    pros: list[dict[str, Any]] = field(default_factory=list)
    users: list[dict[str, Any]] = field(default_factory=list)

    def org(self, name: str, party: Party, kind: str, huvudman: str, area_id: int | None) -> int:
        self.orgs.append(
            {
                "id": len(self.orgs) + 1,
                "name": name,
                "party": party,
                "kind": kind,
                "huvudman": huvudman,
                "kommun": "Göteborg",
                "nosam_area_id": area_id,
            }
        )
        return len(self.orgs)

    def pro(self, name: str, org_id: int, title: str) -> int:
        self.pros.append(
            {
                "id": len(self.pros) + 1,
                "name": name,
                "organisation_id": org_id,
                "title": title,
                "email": f"pro{len(self.pros) + 1}@example.se",
            }
        )
        return len(self.pros)

    def user(self, username: str, role: Role, org_id: int, pro_id: int | None) -> int:
        self.users.append(
            {
                "id": len(self.users) + 1,
                "username": username,
                "display_name": username.replace(".", " ").title(),
                "password_hash": self.password_hash,
                "role": role,
                "organisation_id": org_id,
                "professional_id": pro_id,
                "is_active": True,
            }
        )
        return len(self.users)


def seed_database(engine: Engine, n_cases: int, seed: int) -> Seed:
    """Bulk-insert a realistic world: four NOSAM areas, their units, schools and clinics, and
    ``n_cases`` cases in ``upptack``, each with its own child and two guardians, three
    participants from three parties, a consent covering them, a planned meeting with a
    question, the child's voice, and the history events the services would have written.

    Everything step 2 needs is recorded up front, so that the guards of both ``forbered`` and
    ``kalla`` pass and the same cases can be taken through both triggers.
    """
    started = perf_counter()
    rng = random.Random(seed)
    today = local_date(NOW)
    areas: list[dict[str, Any]] = []
    directory = DirectoryRows(password_hash="x")
    org, pro, user = directory.org, directory.pro, directory.user
    orgs, pros, users = directory.orgs, directory.pros, directory.users

    bups = [
        org("BUP Nordost", Party.REGION, "BUP", "Västra Götalandsregionen", None),
        org("BUP Väster", Party.REGION, "BUP", "Västra Götalandsregionen", None),
    ]
    org("Försäkringskassan Göteborg", Party.ANNAN, "försäkringskassa", "Staten", None)
    bup_doctor = {b: pro(f"Läkare {b}", b, "Läkare") for b in bups}
    units: list[int] = []
    schools: dict[int, list[int]] = {}
    social_worker: dict[int, int] = {}
    teacher: dict[int, int] = {}
    coordinator: dict[int, int] = {}
    for area_no, (area, kommun) in enumerate(AREAS, start=1):
        areas.append({"id": area_no, "name": area, "kommun": kommun})
        unit = org(
            f"Socialtjänst {area}, barn och unga",
            Party.KOMMUN,
            "socialtjänst",
            f"{kommun}s kommun",
            area_no,
        )
        units.append(unit)
        schools[unit] = [
            org(f"{area}skolan {k}", Party.SKOLA, "grundskola", f"{kommun}s kommun", area_no)
            for k in (1, 2, 3)
        ]
        org(
            f"Vårdcentralen {area}",
            Party.REGION,
            "vårdcentral",
            "Västra Götalandsregionen",
            area_no,
        )
        social_worker[unit] = pro(f"Socialsekreterare {area}", unit, "Socialsekreterare")
        for school in schools[unit]:
            teacher[school] = pro(f"Mentor {school}", school, "Mentor")
        coordinator[unit] = user(
            f"samordnare.{area.lower()}", Role.SAMORDNARE, unit, social_worker[unit]
        )
        user(f"chef.{area.lower()}", Role.CHEF, unit, None)

    rows = 0
    with engine.begin() as conn:
        for table, data in (
            (_table(NosamArea), areas),
            (_table(Organisation), orgs),
            (_table(Professional), pros),
            (_table(User), users),
        ):
            conn.execute(insert(table), data)
            rows += len(data)

    cases: list[SeededCase] = []
    event_id = 0
    for block_start in range(0, n_cases, SEED_CHUNK):
        block: dict[Any, list[dict[str, Any]]] = {
            t: []
            for t in (
                _table(Child),
                _table(Relative),
                _table(Case),
                _table(Participant),
                _table(Consent),
                consent_organisation,
                _table(Meeting),
                _table(CaseEvent),
            )
        }
        for i in range(block_start, min(block_start + SEED_CHUNK, n_cases)):
            cid = i + 1
            area_no = i % len(AREAS) + 1
            unit = units[area_no - 1]
            school = schools[unit][(i // len(AREAS)) % 3]
            bup = bups[area_no % 2]
            user_id = coordinator[unit]
            opened = NOW - timedelta(days=rng.randint(1, 9), minutes=rng.randint(0, 600))
            birth = date(2009, 1, 1) + timedelta(days=i % 3000)  # 9 to 17 years old
            last = rng.choice(LAST_NAMES)
            block[_table(Child)].append(
                {
                    "id": cid,
                    "first_name": rng.choice(FIRST_NAMES),
                    "last_name": last,
                    "identity_number": make_identity_number(birth, i // 3000 + 1),
                    "identity_kind": IdentityKind.PERSONNUMMER,
                    "birth_date": birth,
                    "protected_identity": False,
                    "address": f"Storgatan {cid}",
                    "school_id": school,
                }
            )
            guardians = [2 * i + 1, 2 * i + 2]
            for rid, first in zip(guardians, ("Maria", "Jonas"), strict=True):
                block[_table(Relative)].append(
                    {
                        "id": rid,
                        "child_id": cid,
                        "kind": RelativeKind.VARDNADSHAVARE,
                        "name": f"{first} {last}",
                        "email": f"vh{rid}@example.se",
                    }
                )
            block[_table(Case)].append(
                {
                    "id": cid,
                    "reference": f"SIP-2026-{cid:05d}",
                    "child_id": cid,
                    "nosam_area_id": area_no,
                    "unit_id": unit,
                    "coordinator_id": user_id,
                    "workflow_name": WORKFLOW[0],
                    "workflow_version": WORKFLOW[1],
                    "state": "upptack",
                    "state_entered_at": opened,
                    "reasons": sorted(rng.sample(REASONS, 2)),
                    "need_description": "Hög skolfrånvaro och oro för måendet.",
                    "raised_by": RaisedBy.SKOLA,
                    "raised_by_organisation_id": school,
                    "raised_on": local_date(opened),
                    "involved_organisation_ids": sorted([school, bup]),
                    "child_voice": "Att jag får vara med mina kompisar i skolan.",
                    "opened_at": opened,
                    "updated_at": opened,
                    "version": 1,
                }
            )
            people = (
                (
                    unit,
                    social_worker[unit],
                    [FunctionRole.SAMMANKALLANDE, FunctionRole.MOTESLEDARE],
                ),
                (school, teacher[school], [FunctionRole.DOKUMENTANSVARIG]),
                (bup, bup_doctor[bup], [FunctionRole.KONTAKTPERSON]),
            )
            for k, (org_id, pro_id, roles) in enumerate(people):
                block[_table(Participant)].append(
                    {
                        "id": 3 * i + k + 1,
                        "case_id": cid,
                        "kind": ParticipantKind.KALLAD,
                        "organisation_id": org_id,
                        "professional_id": pro_id,
                        "name": pros[pro_id - 1]["name"],
                        "email": pros[pro_id - 1]["email"],
                        "roles": sorted(r.value for r in roles),
                        "added_at": opened,
                    }
                )
                block[consent_organisation].append({"consent_id": cid, "organisation_id": org_id})
            block[_table(Consent)].append(
                {
                    "id": cid,
                    "case_id": cid,
                    "form": ConsentForm.SKRIFTLIG,
                    "given_by_relative_ids": guardians,
                    "given_by_young_person": False,
                    "information_categories": ["psykisk_halsa", "skola"],
                    "valid_from": today,
                    "valid_until": today + timedelta(365),
                    "recorded_by_id": user_id,
                    "recorded_at": opened,
                }
            )
            starts = NOW + timedelta(days=14 + i % 14, hours=i % 6)
            block[_table(Meeting)].append(
                {
                    "id": cid,
                    "case_id": cid,
                    "kind": MeetingKind.SIP,
                    "starts_at": starts,
                    "ends_at": starts + timedelta(minutes=90),
                    "format": MeetingFormat.PA_PLATS,
                    "location": "Stadsdelshuset, rum 3",
                    "questions": ["Hur får barnet en fungerande skolgång?"],
                    "leader_participant_id": 3 * i + 1,
                    "recorder_participant_id": 3 * i + 2,
                    "sequence": 0,
                    "created_at": opened,
                }
            )
            # The history the services would have written while recording all of the above.
            for kind, details in (
                (EventKind.CASE_OPENED, {"raised_by": "skola"}),
                (EventKind.PARTICIPANT_ADDED, {"participant_id": 3 * i + 1}),
                (EventKind.PARTICIPANT_ADDED, {"participant_id": 3 * i + 2}),
                (EventKind.PARTICIPANT_ADDED, {"participant_id": 3 * i + 3}),
                (EventKind.CONSENT_RECORDED, {"consent_id": cid}),
                (EventKind.CHILD_VOICE_RECORDED, {"recorded": True}),
                (EventKind.MEETING_SCHEDULED, {"meeting_id": cid, "sequence": 0}),
            ):
                event_id += 1
                block[_table(CaseEvent)].append(
                    {
                        "id": event_id,
                        "case_id": cid,
                        "at": opened,
                        "kind": kind,
                        "actor_user_id": user_id,
                        "actor_label": users[user_id - 1]["display_name"],
                        "actor_organisation_id": unit,
                        "from_state": None if kind is EventKind.CASE_OPENED else "upptack",
                        "to_state": "upptack",
                        "workflow_name": WORKFLOW[0],
                        "workflow_version": WORKFLOW[1],
                        "details": details,
                    }
                )
            cases.append(SeededCase(id=cid, unit_id=unit, meeting_id=cid))
        with engine.begin() as conn:
            for table, data in block.items():
                for chunk in _chunks(data):
                    conn.execute(insert(table), chunk)
                rows += len(data)

    _after_seed(engine)
    with Session(engine) as session:
        actors = {unit: Actor.for_user(session.get_one(User, coordinator[unit])) for unit in units}
    rng.shuffle(cases)
    return Seed(cases=cases, actors=actors, rows=rows, seconds=perf_counter() - started)


def _after_seed(engine: Engine) -> None:
    """Explicit ids were inserted: move PostgreSQL's sequences past them, then VACUUM ANALYZE
    so every copy starts from the same planner statistics. SQLite: checkpoint the WAL."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in Base.metadata.sorted_tables:
                if "id" in table.c:
                    conn.execute(
                        text(
                            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                            f"(SELECT max(id) FROM {table.name}))"
                        )
                    )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in Base.metadata.sorted_tables:
                conn.execute(text(f"VACUUM ANALYZE {table.name}"))
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


@contextmanager
def fresh_database(database: str, pg_url: str, name: str = "main") -> Iterator[Engine]:
    """A migrated, empty database: a new SQLite file, or, on PostgreSQL, a new schema
    ``bench_<name>`` that the engine's connections use as search path (dropped afterwards)."""
    if database == "sqlite":
        with tempfile.TemporaryDirectory(prefix=f"sip-bench-{name}-") as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.sqlite3'}")
            try:
                migrate.upgrade(engine)
                yield engine
            finally:
                engine.dispose()
        return
    schema = f"bench_{name}"
    engine = make_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        migrate.upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        engine.dispose()


# --------------------------------------------------------------------------------------------
# Measuring: each runner fires ``trigger`` on ``seed.cases[start:stop]``, one transaction per
# fire, stores each fire's latency and returns the time taken.


@dataclass
class PhaseResult:
    path: str  # "floor", "orm" or "engine"
    trigger: str
    fires: int
    seconds: float
    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float


def _summarise(
    path: str, trigger: str, latencies: array.array[float], seconds: float
) -> PhaseResult:
    ordered = sorted(latencies)

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] * 1000

    return PhaseResult(
        path=path,
        trigger=trigger,
        fires=len(latencies),
        seconds=seconds,
        per_second=len(latencies) / seconds,
        p50_ms=pct(0.50),
        p95_ms=pct(0.95),
        p99_ms=pct(0.99),
        max_ms=ordered[-1] * 1000,
    )


@dataclass(frozen=True)
class Step:
    trigger: str
    from_state: str
    to_state: str
    version: int  # the case version before the fire


STEPS = tuple(Step(*t) for t in TRIGGERS)


Write = tuple[str, Any]  # a statement as sent to the driver, and its parameters
# The rows one engine fire inserted besides the case event: by table name, in insertion order.
Inserted = dict[str, list[dict[str, Any]]]
# The tables those rows go to, parents first.
SIDE_TABLES = ("invitation", "outbox_message", "reminder")


def _driver_parameters(parameters: Any) -> Any:
    """Parameters as ``exec_driver_sql`` takes them: one set as a tuple or a dict, several as a
    list of those (the driver hands out one positional set as a list, too)."""
    if isinstance(parameters, list):
        if parameters and all(isinstance(p, list | tuple | dict) for p in parameters):
            return [tuple(p) if isinstance(p, list) else p for p in parameters]
        return tuple(parameters)
    return parameters


# The bound's reads (see Lane.run_bound), built once with bound parameters, as the engine's are.
_B_CASE = bindparam("case_id", type_=sqlalchemy.Integer)
_BOUND_PARTICIPANTS = (
    select(_table(Participant), _table(Organisation).c.party, _table(Organisation).c.name)
    .join(_table(Organisation), _table(Organisation).c.id == _table(Participant).c.organisation_id)
    .where(_table(Participant).c.case_id == _B_CASE, _table(Participant).c.removed_at.is_(None))
)
_BOUND_FIRST_CONSENT = (
    select(_table(Consent))
    .where(
        _table(Consent).c.case_id == _B_CASE,
        _table(Consent).c.revoked_at.is_(None),
        _table(Consent).c.valid_until >= bindparam("today", type_=sqlalchemy.Date),
    )
    .order_by(_table(Consent).c.valid_until)
    .limit(1)
)
_BOUND_MEETING = (
    select(_table(Meeting))
    .where(
        _table(Meeting).c.case_id == _B_CASE,
        _table(Meeting).c.held_at.is_(None),
        _table(Meeting).c.cancelled_at.is_(None),
    )
    .order_by(_table(Meeting).c.id.desc())
    .limit(1)
)
# Every consent of the case with the organisations it covers, in one query (an outer join).
_BOUND_CONSENTS = (
    select(_table(Consent), consent_organisation.c.organisation_id)
    .outerjoin(consent_organisation, consent_organisation.c.consent_id == _table(Consent).c.id)
    .where(_table(Consent).c.case_id == _B_CASE)
)
_BOUND_RELATIVES = select(_table(Relative)).where(
    _table(Relative).c.child_id == bindparam("child_id", type_=sqlalchemy.Integer)
)
_BOUND_INVITATIONS = select(_table(Invitation)).where(
    _table(Invitation).c.meeting_id == bindparam("meeting_id", type_=sqlalchemy.Integer)
)
_BOUND_REMINDERS = select(_table(Reminder)).where(
    _table(Reminder).c.case_id == _B_CASE, _table(Reminder).c.placement_id.is_(None)
)


class Lane:
    """One path (floor, replay, ORM reference or engine) with its own freshly seeded database."""

    def __init__(
        self,
        path: str,
        engine: Engine,
        seed: Seed,
        workflow: WorkflowEngine,
        recorded: dict[str, list[tuple[Write, ...]]] | None = None,
        inserted: dict[str, list[Inserted]] | None = None,
    ) -> None:
        self.path, self.engine, self.seed, self.workflow = path, engine, seed, workflow
        self.recorded = recorded or {}
        self.inserted = inserted or {}
        self.statements: dict[str, int] = {}  # sent by the floor or the bound, by trigger
        self.sessions = make_session_factory(engine)
        self.run = {
            "floor": self.run_floor,
            "bound": self.run_bound,
            "replay": self.run_replay,
            "orm": self.run_orm,
            "engine": self.run_engine,
        }[path]

    def record(self, step: Step, fires: int) -> list[tuple[Write, ...]]:
        """Fire as :meth:`run_engine` does (untimed), keeping every INSERT, UPDATE and DELETE
        each fire sends, for :meth:`run_replay`."""
        writes: list[tuple[Write, ...]] = []
        current: list[Write] = []

        def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_args: Any) -> None:
            if statement.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
                current.append((statement, _driver_parameters(parameters)))

        event.listen(self.engine, "before_cursor_execute", keep)
        try:
            for k in range(fires):
                current.clear()
                self.run_engine(step, k, k + 1, array.array("d", bytes(8 * fires)))
                writes.append(tuple(current))
        finally:
            event.remove(self.engine, "before_cursor_execute", keep)
        return writes

    def inserted_rows(self, step: Step, since: dict[str, int]) -> list[Inserted]:
        """The reminder, invitation and outbox rows the engine added after ids ``since`` (read
        back after :meth:`record`), by fire: the values the floor inserts."""
        by_case: dict[int, Inserted] = {}
        meeting_case = {c.meeting_id: c.id for c in self.seed.cases}
        with self.engine.connect() as conn:
            for name in SIDE_TABLES:
                table = Base.metadata.tables[name]
                query = select(table).where(table.c.id > since[name]).order_by(table.c.id)
                for row in conn.execute(query).mappings():
                    values = dict(row)
                    case_id = (
                        meeting_case[values["meeting_id"]]
                        if name == "invitation"
                        else values["case_id"]
                    )
                    by_case.setdefault(case_id, {}).setdefault(name, []).append(values)
        return [by_case.get(seeded.id, {}) for seeded in self.seed.cases]

    def max_ids(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            return {
                name: conn.execute(
                    select(func.coalesce(func.max(Base.metadata.tables[name].c.id), 0))
                ).scalar_one()
                for name in SIDE_TABLES
            }

    def run_engine(
        self,
        step: Step,
        start: int,
        stop: int,
        latencies: array.array[float],
        probe: Callable[[int], None] | None = None,
    ) -> float:
        """The real thing: a Session, the case loaded, ``WorkflowEngine.fire``, commit."""
        cases, actors, sessions, fire = (
            self.seed.cases,
            self.seed.actors,
            self.sessions,
            self.workflow.fire,
        )
        excluded = 0.0
        started = perf_counter()
        for k in range(start, stop):
            seeded = cases[k]
            t0 = perf_counter()
            with sessions() as session:
                case = session.get_one(Case, seeded.id)
                fire(session, case, step.trigger, actors[seeded.unit_id])
                session.commit()
            t1 = perf_counter()
            latencies[k] = t1 - t0
            if probe is not None:
                probe(k + 1)
                excluded += perf_counter() - t1
        return perf_counter() - started - excluded

    def _floor_writes(self, step: Step, start: int, stop: int) -> Callable[[Any, int, int], None]:
        """The floor's writes for fires ``start:stop``, as a function of (connection, fire
        number, case version): every row the engine writes, with Core, in as few statements as
        the tables allow (one multi-row INSERT per table; the invitations' new ids, returned,
        go into their outbox messages). The rows are prepared here, before timing; nothing is
        read and nothing checked but the version in the case UPDATE's WHERE clause. Shared by
        the floor and the bound."""
        case_t, meeting_t, event_t = _table(Case), _table(Meeting), _table(CaseEvent)
        invitation_t, outbox_t, reminder_t = (
            _table(Invitation),
            _table(OutboxMessage),
            _table(Reminder),
        )
        # One INSERT for all invitations (as the engine does it), each new id returned with its
        # participant, so the order the rows come back in does not matter.
        add_invitations = insert(invitation_t).returning(
            invitation_t.c.id, invitation_t.c.participant_id
        )
        add_messages, add_reminders = insert(outbox_t), insert(reminder_t)
        # The engine's rows without their ids (the database assigns new ids); each outbox row
        # keeps the index of its invitation.
        prepared = []
        for rows in self.inserted.get(step.trigger, [])[start:stop]:
            invitations = rows.get("invitation", [])
            position = {row["id"]: n for n, row in enumerate(invitations)}
            prepared.append(
                (
                    [{k: v for k, v in row.items() if k != "id"} for row in invitations],
                    [
                        (
                            position.get(row["invitation_id"]),
                            {k: v for k, v in row.items() if k != "id"},
                        )
                        for row in rows.get("outbox_message", [])
                    ],
                    [
                        {k: v for k, v in row.items() if k != "id"}
                        for row in rows.get("reminder", [])
                    ],
                )
            )
        set_state = (
            update(case_t)
            .where(case_t.c.id == bindparam("b_id"), case_t.c.version == bindparam("b_version"))
            .values(
                state=bindparam("b_state"),
                state_entered_at=bindparam("b_now"),
                updated_at=bindparam("b_now"),
                version=case_t.c.version + 1,
            )
        )
        mark_called = (
            update(meeting_t).where(meeting_t.c.id == bindparam("b_id")).values(called_at=NOW)
            if step.trigger == "kalla"
            else None
        )
        add_event = insert(event_t)
        cases, actors = self.seed.cases, self.seed.actors

        def write(conn: Any, k: int, version: int) -> None:
            seeded = cases[k]
            actor = actors[seeded.unit_id]
            updated = conn.execute(
                set_state,
                {"b_id": seeded.id, "b_version": version, "b_state": step.to_state, "b_now": NOW},
            )
            if updated.rowcount != 1:
                raise RuntimeError(f"case {seeded.id}: version {version} not found")
            if mark_called is not None:
                conn.execute(mark_called, {"b_id": seeded.meeting_id})
            invitations, messages, reminders = prepared[k - start]
            ids: list[int] = []
            if invitations:
                by_participant = {
                    participant: invitation
                    for invitation, participant in conn.execute(add_invitations, invitations)
                }
                ids = [by_participant[row["participant_id"]] for row in invitations]
            if messages:
                for n, row in messages:
                    row["invitation_id"] = None if n is None else ids[n]
                conn.execute(add_messages, [row for _n, row in messages])
            if reminders:
                conn.execute(add_reminders, reminders)
            conn.execute(
                add_event,
                {
                    "case_id": seeded.id,
                    "at": NOW,
                    "kind": EventKind.TRANSITION,
                    "actor_user_id": actor.user_id,
                    "actor_label": actor.label,
                    "actor_organisation_id": actor.organisation_id,
                    "trigger": step.trigger,
                    "from_state": step.from_state,
                    "to_state": step.to_state,
                    "reason": None,
                    "workflow_name": WORKFLOW[0],
                    "workflow_version": WORKFLOW[1],
                    "details": {},
                },
            )

        return write

    def _count(self, step: Step, counter: list[int]) -> None:
        self.statements[step.trigger] = self.statements.get(step.trigger, 0) + counter[0]

    def run_floor(self, step: Step, start: int, stop: int, latencies: array.array[float]) -> float:
        """The floor: the rows the engine writes, with Core on ``engine.begin()``, in as few
        statements as the tables allow (see :meth:`_floor_writes`). Nothing is read."""
        write, engine = self._floor_writes(step, start, stop), self.engine
        # Statements as sent to the driver (on SQLite an INSERT .. RETURNING of several rows
        # goes out row by row); counting them costs well under 1 % of the floor's time.
        with count_statements(engine) as counter:
            started = perf_counter()
            for k in range(start, stop):
                t0 = perf_counter()
                with engine.begin() as conn:
                    write(conn, k, step.version)
                latencies[k] = perf_counter() - t0
            seconds = perf_counter() - started
        self._count(step, counter)
        return seconds

    def run_bound(self, step: Step, start: int, stop: int, latencies: array.array[float]) -> float:
        """What any correct engine must at least do, with nothing else: a Session, the case
        through ``session.get_one`` (as the engine path loads it), the rows the trigger's
        guards and the new state's reminder rules read, and the case's existing reminders,
        all with Core on the session's connection; then the floor's writes (the same prepared
        rows, with the version read from the case) and commit. No guard is evaluated, nothing
        rendered, no object built from the rows.

        ``forbered``: the participants joined to their organisations (need_spans_two_parties),
        the first consent to end (the consent reminder's due time), the reminders. ``kalla``:
        also the open meeting, all consents with the organisations they cover, the child's
        relatives (the guardians who must consent) and the meeting's invitations. Each set of
        rows in one query: the consents come with the organisations they cover."""
        write, sessions, cases = (
            self._floor_writes(step, start, stop),
            self.sessions,
            self.seed.cases,
        )
        kalla = step.trigger == "kalla"
        today = local_date(NOW)
        with count_statements(self.engine) as counter:
            started = perf_counter()
            for k in range(start, stop):
                t0 = perf_counter()
                with sessions() as session:
                    case = session.get_one(Case, cases[k].id)
                    conn = session.connection()
                    by_case = {"case_id": case.id}
                    conn.execute(_BOUND_PARTICIPANTS, by_case).all()
                    if kalla:
                        meeting = conn.execute(_BOUND_MEETING, by_case).one()
                        conn.execute(_BOUND_CONSENTS, by_case).all()
                        conn.execute(_BOUND_RELATIVES, {"child_id": case.child_id}).all()
                        conn.execute(_BOUND_INVITATIONS, {"meeting_id": meeting.id}).all()
                    else:  # kalla's consents include the one that ends first
                        conn.execute(_BOUND_FIRST_CONSENT, {**by_case, "today": today}).all()
                    conn.execute(_BOUND_REMINDERS, by_case).all()
                    write(conn, k, case.version)
                    session.commit()
                latencies[k] = perf_counter() - t0
            seconds = perf_counter() - started
        self._count(step, counter)
        return seconds

    def run_replay(self, step: Step, start: int, stop: int, latencies: array.array[float]) -> float:
        """The floor for everything the engine writes: the INSERTs, UPDATEs and DELETEs one
        engine fire sent (recorded beforehand on another copy of the same data, so ids and
        versions line up), sent again as they are with ``exec_driver_sql``, one transaction per
        fire. Nothing is read; the case UPDATE must still match its version."""
        writes, engine = self.recorded[step.trigger], self.engine
        started = perf_counter()
        for k in range(start, stop):
            t0 = perf_counter()
            with engine.begin() as conn:
                for statement, parameters in writes[k]:
                    result = conn.exec_driver_sql(statement, parameters)
                    if statement.startswith("UPDATE sip_case") and result.rowcount != 1:
                        raise RuntimeError(f"replayed case update matched {result.rowcount} rows")
                    result.close()
            latencies[k] = perf_counter() - t0
        return perf_counter() - started

    def run_orm(self, step: Step, start: int, stop: int, latencies: array.array[float]) -> float:
        """A reference point, not the floor: the same rows written through the ORM's unit of
        work, loading only the rows updated (the case, and for ``kalla`` the meeting); the
        reminders, invitations and outbox messages are added as objects (values as the floor
        has them). No guards, no machine, no rendering."""
        cases, actors, sessions = self.seed.cases, self.seed.actors, self.sessions
        inserted = self.inserted.get(step.trigger, [])
        started = perf_counter()
        for k in range(start, stop):
            seeded = cases[k]
            actor = actors[seeded.unit_id]
            t0 = perf_counter()
            with sessions() as session:
                case = session.get_one(Case, seeded.id)
                case.state, case.state_entered_at, case.updated_at = step.to_state, NOW, NOW
                if step.trigger == "kalla":
                    session.get_one(Meeting, seeded.meeting_id).called_at = NOW
                rows = inserted[k] if inserted else {}
                invitations = {
                    row["id"]: Invitation(**{c: v for c, v in row.items() if c != "id"})
                    for row in rows.get("invitation", [])
                }
                session.add_all(invitations.values())
                if invitations:
                    session.flush()  # their ids go into the outbox rows, as in the engine
                for row in rows.get("outbox_message", []):
                    values = {c: v for c, v in row.items() if c != "id"}
                    if row["invitation_id"] in invitations:
                        values["invitation_id"] = invitations[row["invitation_id"]].id
                    session.add(OutboxMessage(**values))
                session.add_all(
                    Reminder(**{c: v for c, v in row.items() if c != "id"})
                    for row in rows.get("reminder", [])
                )
                session.add(
                    CaseEvent(
                        case_id=case.id,
                        at=NOW,
                        kind=EventKind.TRANSITION,
                        actor_user_id=actor.user_id,
                        actor_label=actor.label,
                        actor_organisation_id=actor.organisation_id,
                        trigger=step.trigger,
                        from_state=step.from_state,
                        to_state=step.to_state,
                        reason=None,
                        workflow_name=case.workflow_name,
                        workflow_version=case.workflow_version,
                        details={},
                    )
                )
                session.commit()
            latencies[k] = perf_counter() - t0
        return perf_counter() - started


class Checkpoints:
    """Memory after ``first`` and after ``last`` fires (after a full collection).

    With ``traced``, reads tracemalloc (keeping snapshots for a per-line diff); otherwise the
    resident set size. Callers exclude the time spent here from the measured time.
    """

    def __init__(self, first: int, last: int, *, traced: bool) -> None:
        self.first, self.last, self.traced = first, last, traced
        self.values: dict[int, int] = {}
        self.snapshots: dict[int, tracemalloc.Snapshot] = {}

    def __call__(self, done: int) -> None:
        if done != self.first and done != self.last:
            return
        gc.collect()
        if self.traced:
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__)]
            )
            self.snapshots[done] = snapshot
            self.values[done] = sum(stat.size for stat in snapshot.statistics("filename"))
        else:
            self.values[done] = resident_bytes()

    def top_growth(self, limit: int = 5) -> list[str]:
        if len(self.snapshots) < 2:
            return []
        diff = self.snapshots[self.last].compare_to(self.snapshots[self.first], "lineno")
        return [str(stat) for stat in diff[:limit] if stat.size_diff > 0]


def resident_bytes() -> int:
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:  # not Linux: the peak is the best there is
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def written_digest(engine: Engine) -> str:
    """A hash of every row the fires write (cases, meetings, transition events), ids aside."""
    case_t, meeting_t, event_t = _table(Case), _table(Meeting), _table(CaseEvent)
    queries = (
        select(
            case_t.c.id,
            case_t.c.state,
            case_t.c.version,
            case_t.c.state_entered_at,
            case_t.c.updated_at,
        ).order_by(case_t.c.id),
        select(meeting_t.c.id, meeting_t.c.called_at, meeting_t.c.sequence).order_by(
            meeting_t.c.id
        ),
        select(*(c for c in event_t.c if c.name != "id"))
        .where(event_t.c.kind == EventKind.TRANSITION)
        .order_by(event_t.c.case_id, event_t.c.trigger),
    )
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for query in queries:
            for row in conn.execute(query):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def row_counts(engine: Engine) -> dict[str, int]:
    """Rows in every table of the schema."""
    with engine.connect() as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }


@contextmanager
def count_statements(engine: Engine) -> Iterator[list[int]]:
    """Count the statements sent, BEGIN aside (sip_engine.db sends it on SQLite)."""
    counter = [0]

    def _count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement != "BEGIN":
            counter[0] += 1

    event.listen(engine, "before_cursor_execute", _count)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", _count)


# --------------------------------------------------------------------------------------------
# The run


@dataclass
class Report:
    database: str
    server: str
    cases: int
    fires: int
    block: int
    date: str
    commit: str
    python: str
    sqlalchemy: str
    transitions: str
    cpus: int | None
    load_before: tuple[float, ...] = ()
    load_after: tuple[float, ...] = ()
    seed_rows: int = 0
    seed_seconds: float = 0.0
    results: list[PhaseResult] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)  # engine / floor
    orm_ratios: dict[str, float] = field(default_factory=dict)  # ORM reference / floor
    replay_ratios: dict[str, float] = field(default_factory=dict)  # engine / replay
    bound_ratios: dict[str, float] = field(default_factory=dict)  # engine / bound
    bound_floor_ratios: dict[str, float] = field(default_factory=dict)  # bound / floor
    notifier: bool = True
    identical_writes: bool | None = None
    same_row_counts: bool | None = None
    # Rows added per fire, by trigger, path and table (tables with none left out).
    rows_per_fire: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    rss_bytes: dict[str, dict[int, int]] = field(default_factory=dict)
    traced_bytes: dict[str, dict[int, int]] = field(default_factory=dict)
    traced_growth_top: dict[str, list[str]] = field(default_factory=dict)
    statements_per_fire: dict[str, float] = field(default_factory=dict)
    floor_statements_per_fire: dict[str, float] = field(default_factory=dict)
    bound_statements_per_fire: dict[str, float] = field(default_factory=dict)
    machine_models_after: int | None = None


def _git_commit() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+dirty" if dirty else head


def _server_version(engine: Engine) -> str:
    if engine.dialect.name == "sqlite":
        return f"SQLite {sqlite3.sqlite_version}"
    with engine.connect() as conn:
        version = conn.execute(text("SHOW server_version")).scalar_one()
        sync = conn.execute(text("SHOW synchronous_commit")).scalar_one()
    return f"PostgreSQL {version} (synchronous_commit={sync})"


def _load() -> tuple[float, ...]:
    try:
        return tuple(round(x, 2) for x in os.getloadavg())
    except OSError:
        return ()


def run(args: argparse.Namespace) -> Report:
    pg_url = os.environ.get(PG_ENV, DEFAULT_PG_URL)
    fires = min(args.fires or args.cases, args.cases)
    block = max(1, min(args.block, fires))
    ends = [min(start + block, fires) for start in range(0, fires, block)]
    first_checkpoint = next(e for e in ends if e >= min(1000, max(1, fires // 2)))
    registry = WorkflowRegistry.from_directory()
    # Wired as the runtime wires it (sip_engine.runtime.runtime_for): with a notifier, so that
    # ``kalla`` queues the kallelse e-mails in the outbox, as in real use.
    notifier = None if args.no_notifier else Notifier(AnswerLinks(LINK_SECRET, BASE_URL), MAIL_FROM)
    workflow = WorkflowEngine(registry, FixedClock(NOW), notifier)
    report = Report(
        database=args.database,
        server="",
        cases=args.cases,
        fires=fires,
        block=block,
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        commit=_git_commit(),
        python=platform.python_version(),
        sqlalchemy=sqlalchemy.__version__,
        transitions=transitions.__version__,
        cpus=os.cpu_count(),
        notifier=notifier is not None,
    )

    def say(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr)

    # What the engine writes, fire by fire, for the replay floor (untimed, on its own copy).
    with fresh_database(args.database, pg_url, "record") as engine:
        lane = Lane("engine", engine, seed_database(engine, args.cases, args.seed), workflow)
        recorded: dict[str, list[tuple[Write, ...]]] = {}
        inserted: dict[str, list[Inserted]] = {}
        for step in STEPS:
            since = lane.max_ids()
            recorded[step.trigger] = lane.record(step, fires)
            inserted[step.trigger] = lane.inserted_rows(step, since)
        say(f"[record] the engine's writes of {fires:,} fires per trigger recorded")

    with ExitStack() as stack:
        # Each path on its own freshly seeded copy of the data, run in interleaved blocks (in
        # rotating order) so that a change in the machine's load during the run affects all
        # paths alike.
        lanes: list[Lane] = []
        for path in PATHS:
            engine = stack.enter_context(fresh_database(args.database, pg_url, path))
            report.server = report.server or _server_version(engine)
            seed = seed_database(engine, args.cases, args.seed)
            report.seed_rows, report.seed_seconds = seed.rows, seed.seconds
            say(
                f"[{path}] seeded {seed.rows:,} rows ({args.cases:,} cases) in {seed.seconds:.1f} s"
            )
            lanes.append(Lane(path, engine, seed, workflow, recorded, inserted))
        counts = {lane.path: row_counts(lane.engine) for lane in lanes}
        report.load_before = _load()
        for step in STEPS:
            latencies = {lane.path: array.array("d", bytes(8 * fires)) for lane in lanes}
            seconds = dict.fromkeys(PATHS, 0.0)
            rss = Checkpoints(first_checkpoint, fires, traced=False)
            for number, start in enumerate(range(0, fires, block)):
                stop = min(start + block, fires)
                turn = number % len(lanes)
                for lane in lanes[turn:] + lanes[:turn]:
                    gc.collect()
                    seconds[lane.path] += lane.run(step, start, stop, latencies[lane.path])
                    if lane.path == "engine":
                        rss(stop)
            report.rss_bytes[step.trigger] = rss.values
            for path in PATHS:
                result = _summarise(path, step.trigger, latencies[path], seconds[path])
                report.results.append(result)
                say(
                    f"[{path}] {step.trigger}: {result.per_second:,.0f} fires/s "
                    f"(p50 {result.p50_ms:.2f} ms, p95 {result.p95_ms:.2f} ms)"
                )
            report.rows_per_fire[step.trigger] = {}
            for lane in lanes:
                after = row_counts(lane.engine)
                report.rows_per_fire[step.trigger][lane.path] = {
                    table: (n - counts[lane.path][table]) / fires
                    for table, n in after.items()
                    if n != counts[lane.path][table]
                }
                counts[lane.path] = after
        report.load_after = _load()
        digests = {lane.path: written_digest(lane.engine) for lane in lanes}
    del recorded, inserted
    report.identical_writes = len(set(digests.values())) == 1
    report.same_row_counts = all(counts[path] == counts["engine"] for path in PATHS)
    by_name = {lane.path: lane for lane in lanes}
    report.floor_statements_per_fire = {
        trigger: n / fires for trigger, n in by_name["floor"].statements.items()
    }
    report.bound_statements_per_fire = {
        trigger: n / fires for trigger, n in by_name["bound"].statements.items()
    }
    for step in STEPS:
        by_path = {r.path: r.per_second for r in report.results if r.trigger == step.trigger}
        report.ratios[step.trigger] = by_path["engine"] / by_path["floor"]
        report.orm_ratios[step.trigger] = by_path["orm"] / by_path["floor"]
        report.replay_ratios[step.trigger] = by_path["engine"] / by_path["replay"]
        report.bound_ratios[step.trigger] = by_path["engine"] / by_path["bound"]
        report.bound_floor_ratios[step.trigger] = by_path["bound"] / by_path["floor"]

    # Memory: the engine alone again, under tracemalloc, on a fresh copy; statements per fire.
    if not args.no_memory:
        with fresh_database(args.database, pg_url, "memory") as engine:
            lane = Lane("engine", engine, seed_database(engine, args.cases, args.seed), workflow)
            say(f"[memory] tracemalloc pass over {fires:,} fires per trigger")
            tracemalloc.start()
            try:
                for step in STEPS:
                    probe = Checkpoints(first_checkpoint, fires, traced=True)
                    with count_statements(engine) as counter:
                        lane.run_engine(step, 0, fires, array.array("d", bytes(8 * fires)), probe)
                    report.statements_per_fire[step.trigger] = counter[0] / fires
                    report.traced_bytes[step.trigger] = probe.values
                    report.traced_growth_top[step.trigger] = probe.top_growth()
                    del probe
            finally:
                tracemalloc.stop()
    report.machine_models_after = len(registry.compiled(*WORKFLOW).machine.models)

    if args.profile:
        with fresh_database(args.database, pg_url, "profile") as engine:
            lane = Lane("engine", engine, seed_database(engine, args.cases, args.seed), workflow)
            profiler = cProfile.Profile()
            for step in STEPS:
                profiler.enable()
                lane.run_engine(step, 0, fires, array.array("d", bytes(8 * fires)))
                profiler.disable()
            profiler.dump_stats(args.profile)
            say(f"[profile] engine fires of both triggers written to {args.profile}")
            stats = pstats.Stats(profiler, stream=sys.stderr)
            stats.sort_stats("tottime").print_stats(25)
            stats.sort_stats("cumulative").print_stats(40)
    return report


# --------------------------------------------------------------------------------------------
# Output


def render(report: Report) -> str:
    lines = [
        f"sip-engine transition benchmark — {report.server}",
        f"{report.cases:,} cases in the database, {report.fires:,} fires per trigger and path, "
        f"one transaction per fire, paths interleaved in blocks of {report.block:,}; engine "
        f"{'with' if report.notifier else 'without'} the notifier (kallelse e-mails queued)",
        f"{report.date}, commit {report.commit}, Python {report.python}, SQLAlchemy "
        f"{report.sqlalchemy}, transitions {report.transitions}, {report.cpus} CPUs, load "
        f"average {report.load_before} before and {report.load_after} after",
        "",
        f"{'trigger':<9} {'path':<7} {'fires':>7} {'seconds':>8} {'fires/s':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}",
    ]
    for r in report.results:
        lines.append(
            f"{r.trigger:<9} {r.path:<7} {r.fires:>7,} {r.seconds:>8.2f} {r.per_second:>8,.0f} "
            f"{r.p50_ms:>7.2f} {r.p95_ms:>7.2f} {r.p99_ms:>7.2f} {r.max_ms:>7.2f}"
        )
    lines.append("")
    for trigger, ratio in report.ratios.items():
        replay = report.replay_ratios.get(trigger)
        lines.append(
            f"{trigger}: engine/floor = {ratio:.2f}, engine/replay = "
            f"{'n/a' if replay is None else f'{replay:.2f}'} (target {TARGET_RATIO:.2f}: "
            f"{'met' if min(ratio, replay or ratio) >= TARGET_RATIO else 'NOT met'}); "
            f"ORM reference/floor = {report.orm_ratios[trigger]:.2f}"
        )
        bound = report.bound_ratios.get(trigger)
        if bound is not None:
            lines.append(
                f"{trigger}: engine/bound = {bound:.2f}, bound/floor = "
                f"{report.bound_floor_ratios[trigger]:.2f} (the bound: the floor's writes plus "
                f"the reads any correct engine makes; bound/floor < {TARGET_RATIO:.2f} means "
                f"no engine that reads what it checks can meet the target)"
            )
    lines.append(
        f"case, meeting and transition rows identical on every path: {report.identical_writes}; "
        f"floor, replay, bound and ORM reference wrote as many rows as the engine in every "
        f"table: "
        f"{report.same_row_counts}"
    )
    for trigger, by_path in report.rows_per_fire.items():
        for path in ("floor", "engine"):
            rows = ", ".join(f"{t} {n:g}" for t, n in sorted(by_path.get(path, {}).items()))
            lines.append(f"rows added per fire, {trigger}, {path}: {rows or 'none'}")
    lines.append("")
    for label, table in (("tracemalloc", report.traced_bytes), ("resident", report.rss_bytes)):
        for trigger, values in table.items():
            if len(values) < 2:
                continue
            first, last = sorted(values)
            growth = values[last] - values[first]
            lines.append(
                f"memory, {trigger} ({label}, after gc): {values[first] / 2**20:.2f} MiB after "
                f"{first:,} fires, {values[last] / 2**20:.2f} MiB after {last:,}: "
                f"{growth / 1024:+,.1f} KiB ({growth / (last - first):+.1f} bytes per fire)"
            )
            if label == "tracemalloc":
                lines.extend(f"    {line}" for line in report.traced_growth_top.get(trigger, []))
    for trigger, count in report.statements_per_fire.items():
        floor = report.floor_statements_per_fire.get(trigger)
        bound = report.bound_statements_per_fire.get(trigger)
        lines.append(
            f"SQL statements per fire, {trigger}: engine {count:.1f}, floor "
            f"{'n/a' if floor is None else f'{floor:.1f}'}, bound "
            f"{'n/a' if bound is None else f'{bound:.1f}'} (BEGIN and COMMIT not counted)"
        )
    lines.append(
        f"models attached to the sip v1 machine after the run: {report.machine_models_after}"
    )
    lines.append(f"seed: {report.seed_rows:,} rows in {report.seed_seconds:.1f} s per copy")
    return "\n".join(lines)


def report_from_json(data: dict[str, Any]) -> Report:
    """The report printed by ``--json``, read back (for ``--render``)."""
    fields = dict(data)
    fields["results"] = [PhaseResult(**r) for r in data["results"]]
    for key in ("rss_bytes", "traced_bytes"):
        fields[key] = {t: {int(n): v for n, v in by_n.items()} for t, by_n in data[key].items()}
    fields["load_before"], fields["load_after"] = (
        tuple(data["load_before"]),
        tuple(data["load_after"]),
    )
    return Report(**fields)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_transitions", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--cases", type=int, default=10_000, help="cases in the database")
    parser.add_argument(
        "--fires", type=int, default=None, help="cases fired per trigger (default: all)"
    )
    parser.add_argument(
        "--block", type=int, default=250, help="fires per path before switching to the next"
    )
    parser.add_argument("--seed", type=int, default=20260302, help="random seed for the data")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--no-memory", action="store_true", help="skip the tracemalloc pass")
    parser.add_argument(
        "--no-notifier",
        action="store_true",
        help="run the engine without a notifier (kalla then queues no e-mail)",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="also profile the engine's fires into FILE (cProfile)"
    )
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the engine is below half the floor"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument(
        "--render", metavar="JSON", help="print a report saved with --json as a table, and exit"
    )
    args = parser.parse_args(argv)
    if args.render:
        print(render(report_from_json(json.loads(Path(args.render).read_text()))))
        return 0
    if args.cases < 1 or args.block < 1 or (args.fires is not None and args.fires < 1):
        parser.error("--cases, --fires and --block must be positive")
    report = run(args)
    print(json.dumps(asdict(report), indent=2) if args.json else render(report))
    # The figures are the result. A broken run (different rows written, a model left on the
    # shared machine) is an error; --check also fails below the target.
    if report.machine_models_after or not (report.identical_writes and report.same_row_counts):
        return 2
    ratios = [*report.ratios.values(), *report.replay_ratios.values()]
    if args.check and any(ratio < TARGET_RATIO for ratio in ratios):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
