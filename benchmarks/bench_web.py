"""The web UI under concurrent load: the start page and the case list against a trivial route.

With ``--cases`` cases (10,000 by default) in a fresh SQLite database, the real production
server (``sip-engine serve``, waitress) is started as a subprocess on a free loopback port, and
``--clients`` client threads (8 by default), each signed in as the coordinator ``samordnare``
with its own session, load one route at a time for ``--seconds`` seconds (after a short
warm-up that is not counted):

* ``healthz``        GET /healthz: the trivial route (one ``SELECT 1``), the reference;
* ``start``          GET /: the start page (counts per step, what needs attention, meetings);
* ``list_filtered``  GET /arenden?state=…&area=…&sort=opened_desc, rotating over the open
  steps and the 14 NOSAM areas;
* ``list_search``    GET /arenden?q=…&sort=opened_desc, rotating over names, personnummer
  and case numbers;
* ``list_all``       GET /arenden: every case of the unit, newest first (first page).

Every response must be a 200 carrying the page's own content (so a redirect to the sign-in
page is never counted as a success). Before the load, one client checks that the figures the
pages show (counts per step on the start page, the number of hits of the list) are those of
the database. The server's CPU time per request is read from /proc for each phase.

Targets (the issue): p95 under 150 ms for the start page and the filtered case list, and the
filtered case list's throughput at least 30 % of the trivial route's, in the same run. The
search is held to the list's targets too. Exit status: 2 when any request failed (the figures
then mean nothing), 1 with ``--check`` when a target is missed, else 0.

    python -m benchmarks.bench_web
    python -m benchmarks.bench_web --cases 10000 --clients 8 --seconds 20 --json
    python -m benchmarks.bench_web --sql "CREATE INDEX ix_try ON sip_case (unit_id, opened_at)"

The seeded world: 14 NOSAM areas, a coordinating unit that owns every case (the worst case
for the scope filter: it excludes nothing), five coordinators of that unit, ``samordnare``
holding 40 % of the cases; each case has a child with two guardians and, from step 2 on,
participants from three or four organisations, a consent, meetings (held ones with attendance),
plan versions with insatser, and its history. Steps are spread as in a running service (most
cases in follow-up or closed), with some cases needing attention in each way the start page
knows. Times are relative to the real clock, since the server uses it.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import secrets
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from time import perf_counter, process_time, sleep
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import sqlalchemy
from sqlalchemy import Connection, Engine, insert, text

from benchmarks.bench_transitions import (
    FIRST_NAMES,
    LAST_NAMES,
    SEED_CHUNK,
    DirectoryRows,
    _after_seed,
    _chunks,
    _git_commit,
    fresh_database,
)
from benchmarks.web_bound import BOUND_PATH
from sip_engine.clock import local_date
from sip_engine.identity import make_identity_number
from sip_engine.models import (
    Case,
    CaseEvent,
    Child,
    Consent,
    ConsentForm,
    EventKind,
    FunctionRole,
    IdentityKind,
    Meeting,
    MeetingAttendance,
    MeetingFormat,
    MeetingKind,
    NosamArea,
    Organisation,
    Participant,
    ParticipantKind,
    Party,
    PlanInsats,
    PlanVersion,
    Professional,
    RaisedBy,
    Relative,
    RelativeKind,
    Role,
    User,
    consent_organisation,
)
from sip_engine.passwords import hash_password
from sip_engine.services.cases import SIP_REASONS

USERNAME = "samordnare"
PASSWORD = "bench-samordnare-2026"  # every seeded account has it; loopback only
USER_AGENT = "sip-engine-bench-web/1"  # kept per session: Flask-Login's "strong" protection
TARGET_P95_MS = 150.0
TARGET_RATIO = 0.30
# The routes the targets apply to: p95 for the start page and the filtered case list (the
# search is a filtered list too); the throughput ratio for the filtered list against healthz.
P95_TARGETED = ("start", "list_filtered", "list_search")
RATIO_TARGETED = ("list_filtered", "list_search")
MAX_REQUESTS_PER_CLIENT = 1_000_000  # a bound on every load loop besides its duration
SERVER_START_SECONDS = 60.0
ROOT = Path(__file__).resolve().parent.parent

WORKFLOW = ("sip", 1)
AREAS = (
    ("Angered", "Göteborg"),
    ("Askim-Frölunda-Högsbo", "Göteborg"),
    ("Centrum", "Göteborg"),
    ("Lundby", "Göteborg"),
    ("Majorna-Linné", "Göteborg"),
    ("Norra Hisingen", "Göteborg"),
    ("Västra Göteborg", "Göteborg"),
    ("Västra Hisingen", "Göteborg"),
    ("Örgryte-Härlanda", "Göteborg"),
    ("Östra Göteborg", "Göteborg"),
    ("Partille", "Partille"),
    ("Härryda", "Härryda"),
    ("Mölndal", "Mölndal"),
    ("Öckerö", "Öckerö"),
)
# How the cases are spread over the steps (weights), as in a service that has run a while.
STATE_WEIGHTS = {
    "upptack": 12,
    "forbered": 12,
    "kalla": 14,
    "mote": 4,
    "folj_upp": 33,
    "avslutad": 25,
}
OPEN_STATES = tuple(s for s in STATE_WEIGHTS if s != "avslutad")
PATH_TO = {  # the steps a case passed through to reach a state (avböj aside)
    "upptack": ("upptack",),
    "forbered": ("upptack", "forbered"),
    "kalla": ("upptack", "forbered", "kalla"),
    "mote": ("upptack", "forbered", "kalla", "mote"),
    "folj_upp": ("upptack", "forbered", "kalla", "mote", "folj_upp"),
    "avslutad": ("upptack", "forbered", "kalla", "mote", "folj_upp", "avslutad"),
}
TRIGGER_INTO = {
    "forbered": "forbered",
    "kalla": "kalla",
    "mote": "hall_mote",
    "folj_upp": "anta_plan",
    "avslutad": "avsluta",
}
COORDINATORS = ("samordnare", "samordnare2", "samordnare3", "samordnare4", "samordnare5")
COORDINATOR_SHARE = 0.40  # of the cases held by ``samordnare``
CLOSE_REASONS = ("samordning_behovs_inte", "familjen_avbojer", "flyttat", "fyller_21", "annat")
# Swedish surnames with å/ä/ö beside the ASCII ones shared with bench_transitions.
SURNAMES = (*LAST_NAMES, "Öberg", "Åström", "Ekström", "Lindqvist", "Björk", "Ali", "Mohammed")
SEARCH_NAMES = ("nilsson", "Hassan", "karl", "Eriksson", "alva", "Persson", "ström", "Omar")


# --------------------------------------------------------------------------------------------
# Seeding


@dataclass
class WebSeed:
    rows: int
    seconds: float
    unit_id: int
    user_id: int  # samordnare
    area_ids: list[int]
    identity_numbers: list[str]  # a few, for personnummer searches
    references: list[str]  # a few, for case number searches
    states: dict[str, int] = field(default_factory=dict)
    mine: int = 0  # cases whose coordinator is samordnare


@dataclass
class _Places:
    """The fixed part of the world that every case refers to."""

    unit: int
    bups: list[int]
    school_of: dict[int, int]  # by area id
    clinic_of: dict[int, int]
    mentor_of: dict[int, int]  # professional, by area id
    nurse_of: dict[int, int]
    doctor_of: dict[int, int]  # professional, by BUP id
    coordinators: list[int]  # user ids; samordnare first
    worker_of: dict[int, int]  # the coordinator's own professional
    labels: dict[int, str]  # display name, by user id
    pros: list[dict[str, Any]]


TABLES = (
    Child.__table__,
    Relative.__table__,
    Case.__table__,
    Participant.__table__,
    Consent.__table__,
    consent_organisation,
    Meeting.__table__,
    MeetingAttendance.__table__,
    PlanVersion.__table__,
    PlanInsats.__table__,
    CaseEvent.__table__,
)


class _Rows:
    """Rows waiting to be inserted, with explicit ids that go on across blocks."""

    def __init__(self) -> None:
        self.next_id: dict[Any, int] = dict.fromkeys(TABLES, 0)
        self.block: dict[Any, list[dict[str, Any]]] = {t: [] for t in TABLES}

    def add(self, table: Any, row: dict[str, Any]) -> int:
        if table is not consent_organisation:
            self.next_id[table] += 1
            row["id"] = self.next_id[table]
        self.block[table].append(row)
        return self.next_id[table]

    def flush(self, engine: Engine) -> int:
        written = 0
        with engine.begin() as conn:
            for table, data in self.block.items():
                for chunk in _chunks(data):
                    _insert(conn, table, chunk)
                written += len(data)
                data.clear()
        return written


def _insert(conn: Connection, table: Any, data: list[dict[str, Any]]) -> None:
    conn.execute(insert(table), data)


def _places(engine: Engine, password_hash: str) -> tuple[_Places, int]:
    """Insert the areas, organisations, professionals and users; return them and a row count."""
    directory = DirectoryRows(password_hash=password_hash)
    org, pro, user = directory.org, directory.pro, directory.user
    orgs, pros, users = directory.orgs, directory.pros, directory.users

    areas: list[dict[str, Any]] = [
        {"id": n, "name": a, "kommun": k} for n, (a, k) in enumerate(AREAS, start=1)
    ]
    region = "Västra Götalandsregionen"
    unit = org(
        "Socialtjänst Göteborg, SIP-samordning barn och unga",
        Party.KOMMUN,
        "socialtjänst",
        "Göteborgs Stad",
        None,
    )
    bups = [
        org(f"BUP {name}", Party.REGION, "BUP", region, None)
        for name in ("Nordost", "Sydväst", "Centrum", "Hisingen")
    ]
    org("Försäkringskassan Göteborg", Party.ANNAN, "försäkringskassa", "Staten", None)
    school_of: dict[int, int] = {}
    clinic_of: dict[int, int] = {}
    for area_id, (name, _kommun) in enumerate(AREAS, start=1):
        org(f"Socialtjänst {name}, barn och unga", Party.KOMMUN, "socialtjänst", "Kommun", area_id)
        school_of[area_id] = org(f"{name}skolan", Party.SKOLA, "grundskola", "Kommun", area_id)
        clinic_of[area_id] = org(f"Vårdcentralen {name}", Party.REGION, "vc", region, area_id)
    workers = [pro(f"Socialsekreterare {k}", unit, "Socialsekreterare") for k in range(1, 6)]
    coordinators = [
        user(name, Role.SAMORDNARE, unit, workers[k]) for k, name in enumerate(COORDINATORS)
    ]
    user("chef", Role.CHEF, unit, None)
    user("admin", Role.ADMIN, unit, None)
    places = _Places(
        unit=unit,
        bups=bups,
        school_of=school_of,
        clinic_of=clinic_of,
        mentor_of={a: pro(f"Mentor {a}", s, "Mentor") for a, s in school_of.items()},
        nurse_of={a: pro(f"Sjuksköterska {a}", c, "Sjuksköterska") for a, c in clinic_of.items()},
        doctor_of={b: pro(f"Läkare {b}", b, "Läkare") for b in bups},
        coordinators=coordinators,
        worker_of=dict(zip(coordinators, workers, strict=True)),
        labels={u["id"]: u["display_name"] for u in users},
        pros=pros,
    )
    rows = 0
    with engine.begin() as conn:
        for table, data in (
            (NosamArea.__table__, areas),
            (Organisation.__table__, orgs),
            (Professional.__table__, pros),
            (User.__table__, users),
        ):
            _insert(conn, table, data)
            rows += len(data)
    return places, rows


def _between(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + (end - start) * rng.random()


class _CaseSeeder:
    """Writes one case and everything that hangs off it, for the step it is in."""

    def __init__(self, places: _Places, rows: _Rows, rng: random.Random, now: datetime) -> None:
        self.p, self.rows, self.rng, self.now = places, rows, rng, now
        self.today = local_date(now)
        self.reason_codes = list(SIP_REASONS)

    def _event(
        self,
        at: datetime,
        kind: EventKind,
        details: dict[str, Any],
        *,
        to_state: str | None = None,
        transition: tuple[str, str] | None = None,
    ) -> None:
        from_state, to = transition or (None, to_state)
        trigger = None
        if transition:
            trigger = "avboj" if transition == ("upptack", "avslutad") else TRIGGER_INTO[to or ""]
        self.rows.add(
            CaseEvent.__table__,
            {
                "case_id": self.case_id,
                "at": at,
                "kind": kind,
                "actor_user_id": self.coordinator,
                "actor_label": self.p.labels[self.coordinator],
                "actor_organisation_id": self.p.unit,
                "trigger": trigger,
                "from_state": from_state,
                "to_state": to,
                "workflow_name": WORKFLOW[0],
                "workflow_version": WORKFLOW[1],
                "details": details,
            },
        )

    def _participant(self, org_id: int, pro_id: int, roles: list[str], at: datetime) -> int:
        person = self.p.pros[pro_id - 1]
        participant_id = self.rows.add(
            Participant.__table__,
            {
                "case_id": self.case_id,
                "kind": ParticipantKind.KALLAD,
                "organisation_id": org_id,
                "professional_id": pro_id,
                "name": person["name"],
                "email": person["email"],
                "roles": sorted(roles),
                "added_at": at,
            },
        )
        self._event(at, EventKind.PARTICIPANT_ADDED, {"participant_id": participant_id})
        return participant_id

    def _meeting(
        self,
        starts: datetime,
        kind: MeetingKind,
        participants: list[int],
        *,
        created: datetime,
        called: datetime | None,
        held: bool,
    ) -> int:
        meeting_id = self.rows.add(
            Meeting.__table__,
            {
                "case_id": self.case_id,
                "kind": kind,
                "starts_at": starts,
                "ends_at": starts + timedelta(minutes=90),
                "format": MeetingFormat.PA_PLATS,
                "location": "Stadsdelshuset, rum 3",
                "questions": ["Hur får barnet en fungerande skolgång?"],
                "leader_participant_id": participants[0],
                "recorder_participant_id": participants[1],
                "sequence": 0,
                "created_at": created,
                "called_at": called,
                "held_at": starts + timedelta(minutes=90) if held else None,
            },
        )
        self._event(created, EventKind.MEETING_SCHEDULED, {"meeting_id": meeting_id})
        for participant_id in participants if held else ():
            self.rows.add(
                MeetingAttendance.__table__,
                {
                    "meeting_id": meeting_id,
                    "participant_id": participant_id,
                    "attended": self.rng.random() < 0.9,
                },
            )
        return meeting_id

    def _plan(
        self,
        version_no: int,
        meeting_id: int,
        participants: list[int],
        insats_orgs: tuple[int, int],
        *,
        created: datetime,
        adopted: datetime | None,
        follow_up: date,
    ) -> None:
        plan_id = self.rows.add(
            PlanVersion.__table__,
            {
                "case_id": self.case_id,
                "version_no": version_no,
                "meeting_id": meeting_id,
                "child_voice": "Att jag får vara med mina kompisar i skolan.",
                "guardians_view": "Vi vill att skolan och BUP pratar med varandra.",
                "needs": ["Fungerande skolgång", "Stöd för måendet"],
                "goals": [{"goal": "Gå i skolan varje dag", "delmal": ["Tre dagar i veckan"]}],
                "other_actions": [{"who": "familjen", "what": "Följa med till BUP"}],
                "lead_party": Party.KOMMUN,
                "lead_organisation_id": self.p.unit,
                "samordningsansvarig_participant_id": participants[0],
                "next_follow_up": follow_up,
                "created_at": created,
                "created_by_id": self.coordinator,
                "adopted_at": adopted,
                "adopted_by_id": self.coordinator if adopted else None,
            },
        )
        for org_id, what in zip(
            insats_orgs, ("Anpassad studiegång", "Samtalskontakt"), strict=True
        ):
            self.rows.add(
                PlanInsats.__table__,
                {
                    "plan_version_id": plan_id,
                    "description": what,
                    "organisation_id": org_id,
                    "contact_person": "Kontaktperson",
                },
            )
        kind = EventKind.PLAN_ADOPTED if adopted else EventKind.PLAN_DRAFTED
        self._event(adopted or created, kind, {"version_no": version_no})

    def _times(self, state: str, path: tuple[str, ...]) -> tuple[list[datetime], datetime | None]:
        """When the case entered each step of its path, and when its open meeting starts."""
        rng, now = self.rng, self.now
        if state == "upptack":
            opened = now - timedelta(hours=rng.uniform(1, 24 * 14))  # some stalled (> 3 days)
        else:
            opened = now - timedelta(days=rng.uniform(10 * len(path), 120 * len(path)))
        entered = [opened]
        for _ in path[1:]:
            entered.append(_between(rng, entered[-1], now - timedelta(hours=2)))
        meeting_start = None
        if state == "kalla" and rng.random() < 0.1:
            # The meeting time has passed without the meeting being started: needs attention.
            meeting_start = now - timedelta(days=rng.uniform(0.2, 10))
            if entered[2] > meeting_start - timedelta(days=7):
                entered[2] = meeting_start - timedelta(days=rng.uniform(7, 21))
                entered[1] = min(entered[1], entered[2] - timedelta(days=2))
                entered[0] = min(entered[0], entered[1] - timedelta(days=2))
        elif state == "kalla":
            meeting_start = now + timedelta(days=rng.uniform(1, 30))
        elif state == "mote":
            meeting_start = entered[3]  # the meeting started when step 4 began
        return entered, meeting_start

    def case(self, i: int, state: str) -> tuple[int, str, str]:
        """Write case number ``i`` in ``state``; returns its coordinator, personnummer and
        reference."""
        p, rng, rows = self.p, self.rng, self.rows
        cid = self.case_id = i + 1
        area_id = i % len(AREAS) + 1
        school, clinic, bup = p.school_of[area_id], p.clinic_of[area_id], p.bups[area_id % 4]
        me = p.coordinators[0]
        self.coordinator = (
            me if rng.random() < COORDINATOR_SHARE else rng.choice(p.coordinators[1:])
        )
        worker = p.worker_of[self.coordinator]
        declined = state == "avslutad" and rng.random() < 0.2  # avböj in step 1
        path = ("upptack", "avslutad") if declined else PATH_TO[state]
        entered, meeting_start = self._times(state, path)
        opened = entered[0]

        birth = self.today - timedelta(days=1100 + (i * 7919) % 5400)  # 3 to 17 years old
        last = rng.choice(SURNAMES)
        identity = make_identity_number(birth, 100 + i // 5400)  # unique: see the day formula
        child_id = rows.add(
            Child.__table__,
            {
                "first_name": rng.choice(FIRST_NAMES),
                "last_name": last,
                "identity_number": identity,
                "identity_kind": IdentityKind.PERSONNUMMER,
                "birth_date": birth,
                "protected_identity": rng.random() < 0.01,
                "address": f"Storgatan {cid}",
                "school_id": school,
            },
        )
        guardians = [
            rows.add(
                Relative.__table__,
                {
                    "child_id": child_id,
                    "kind": RelativeKind.VARDNADSHAVARE,
                    "name": f"{first} {last}",
                    "email": f"vh{cid}.{k}@example.se",
                },
            )
            for k, first in enumerate(("Maria", "Jonas"))
        ]
        reference = f"SIP-{local_date(opened).year}-{cid:05d}"
        closed = state == "avslutad"
        rows.add(
            Case.__table__,
            {
                "reference": reference,
                "child_id": child_id,
                "nosam_area_id": area_id,
                "unit_id": p.unit,
                "coordinator_id": self.coordinator,
                "workflow_name": WORKFLOW[0],
                "workflow_version": WORKFLOW[1],
                "state": state,
                "state_entered_at": entered[-1],
                "reasons": sorted(rng.sample(self.reason_codes, rng.randint(1, 3))),
                "need_description": "Hög skolfrånvaro och oro för måendet.",
                "raised_by": RaisedBy.SKOLA,
                "raised_by_organisation_id": school,
                "raised_on": local_date(opened),
                "involved_organisation_ids": sorted([school, bup]),
                "child_voice": (
                    None
                    if len(path) < 2 or declined
                    else "Att jag får vara med mina kompisar i skolan."
                ),
                "opened_at": opened,
                "updated_at": entered[-1],
                "closed_at": entered[-1] if closed else None,
                "close_reason": (
                    "behov_saknas" if declined else rng.choice(CLOSE_REASONS) if closed else None
                ),
                "closed_by_id": self.coordinator if closed else None,
                "version": len(path),
            },
        )
        self._event(opened, EventKind.CASE_OPENED, {"raised_by": "skola"}, to_state="upptack")
        for k in range(1, len(path)):
            self._event(entered[k], EventKind.TRANSITION, {}, transition=(path[k - 1], path[k]))
        result = (self.coordinator, identity, reference)
        if len(path) < 2 or declined:
            if state == "upptack" and rng.random() < 0.5:
                self._participant(p.unit, worker, [FunctionRole.INITIATIVTAGARE.value], opened)
            return result

        # From step 2 on: participants, a consent, meetings and plans.
        people = [
            (p.unit, worker, [FunctionRole.SAMMANKALLANDE.value, FunctionRole.MOTESLEDARE.value]),
            (school, p.mentor_of[area_id], [FunctionRole.DOKUMENTANSVARIG.value]),
            (bup, p.doctor_of[bup], [FunctionRole.KONTAKTPERSON.value]),
        ]
        if rng.random() < 0.3:
            people.append((clinic, p.nurse_of[area_id], []))
        participants = [self._participant(o, pro, r, entered[1]) for o, pro, r in people]
        if state != "forbered" or rng.random() < 0.8:
            consent_id = rows.add(
                Consent.__table__,
                {
                    "case_id": cid,
                    "form": ConsentForm.SKRIFTLIG,
                    "given_by_relative_ids": guardians,
                    "given_by_young_person": False,
                    "information_categories": ["psykisk_halsa", "skola"],
                    "valid_from": local_date(entered[1]),
                    "valid_until": local_date(entered[1]) + timedelta(days=730),
                    "recorded_by_id": self.coordinator,
                    "recorded_at": entered[1],
                },
            )
            for org_id, _pro, _roles in people:
                rows.add(
                    consent_organisation, {"consent_id": consent_id, "organisation_id": org_id}
                )
            self._event(entered[1], EventKind.CONSENT_RECORDED, {"consent_id": consent_id})

        if state == "forbered":
            if rng.random() < 0.6:  # a meeting planned, not yet called
                starts = self.now + timedelta(days=rng.uniform(7, 40))
                self._meeting(
                    starts,
                    MeetingKind.SIP,
                    participants,
                    created=entered[1],
                    called=None,
                    held=False,
                )
            return result
        if state in ("kalla", "mote"):
            assert meeting_start is not None
            meeting_id = self._meeting(
                meeting_start,
                MeetingKind.SIP,
                participants,
                created=entered[1],
                called=entered[2],
                held=False,
            )
            if state == "mote":  # the plan is being written at the meeting
                self._plan(
                    1,
                    meeting_id,
                    participants,
                    (school, bup),
                    created=meeting_start,
                    adopted=None,
                    follow_up=self.today + timedelta(days=90),
                )
            return result
        # Step 5 or closed after it: the SIP meeting was held (step 4 began), the plan adopted
        # (step 5 began); some cases have had a follow-up meeting and a second plan version.
        first = self._meeting(
            entered[3],
            MeetingKind.SIP,
            participants,
            created=entered[1],
            called=entered[2],
            held=True,
        )
        versions = [(first, entered[4])]
        if rng.random() < 0.3:
            again = _between(rng, entered[4], entered[-1] if closed else self.now)
            follow = self._meeting(
                again,
                MeetingKind.UPPFOLJNING,
                participants,
                created=entered[4],
                called=entered[4],
                held=True,
            )
            versions.append((follow, again + timedelta(minutes=90)))
        for version_no, (meeting_id, adopted) in enumerate(versions, start=1):
            if version_no == len(versions) and state == "folj_upp":
                # The plan in force: its follow-up day spread around today, some due or late.
                follow_up = self.today + timedelta(days=rng.randint(-14, 120))
            else:
                follow_up = local_date(adopted) + timedelta(days=90)
            self._plan(
                version_no,
                meeting_id,
                participants,
                (school, bup),
                created=adopted - timedelta(days=3),
                adopted=adopted,
                follow_up=follow_up,
            )
        return result


def seed_web_world(engine: Engine, n_cases: int, seed: int, now: datetime) -> WebSeed:
    """Bulk-insert the world described in the module docstring."""
    started = perf_counter()
    rng = random.Random(seed)
    places, rows = _places(engine, hash_password(PASSWORD))
    pending = _Rows()
    seeder = _CaseSeeder(places, pending, rng, now)
    result = WebSeed(
        rows=0,
        seconds=0.0,
        unit_id=places.unit,
        user_id=places.coordinators[0],
        area_ids=list(range(1, len(AREAS) + 1)),
        identity_numbers=[],
        references=[],
        states=dict.fromkeys(STATE_WEIGHTS, 0),
    )
    state_names, weights = list(STATE_WEIGHTS), list(STATE_WEIGHTS.values())
    sample_every = max(1, n_cases // 20)
    for i in range(n_cases):
        state = rng.choices(state_names, weights)[0]
        coordinator, identity, reference = seeder.case(i, state)
        result.states[state] += 1
        result.mine += coordinator == result.user_id
        if i % sample_every == 0:
            result.identity_numbers.append(identity)
            result.references.append(reference)
        if (i + 1) % SEED_CHUNK == 0:
            rows += pending.flush(engine)
    rows += pending.flush(engine)
    _after_seed(engine)
    result.rows, result.seconds = rows, perf_counter() - started
    return result


# --------------------------------------------------------------------------------------------
# The server and its clients


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _server_command(bound: bool = False) -> list[str]:
    if bound:  # the real app plus the list's template-free ceiling (benchmarks/web_bound.py)
        return [sys.executable, "-m", "benchmarks.web_bound"]
    script = Path(sys.executable).with_name("sip-engine")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from sip_engine.cli import main; main()"]


@contextmanager
def running_server(
    database_url: str, port: int, threads: int, log: Path, *, bound: bool = False
) -> Iterator[int]:
    """``sip-engine serve`` in a subprocess until the block ends; yields its process id."""
    env = {
        **os.environ,
        "SIP_DATABASE_URL": database_url,
        "SIP_SECRET_KEY": secrets.token_hex(32),
        "SIP_SECURE_COOKIES": "0",
        "SIP_SQL_ECHO": "0",
        "SIP_INSTANCE_DIR": str(log.parent),
        # The source tree first: an editable install made before webui/ had its __init__.py
        # resolves ``webui`` as a namespace package, and ``serve`` then fails to import.
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    }
    command = [
        *_server_command(bound),
        *(() if bound else ("serve",)),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--threads",
        str(threads),
    ]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = perf_counter() + SERVER_START_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {process.returncode}:\n{log.read_text()[-3000:]}"
                )
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    conn.close()
                    break
                conn.close()
            except OSError:
                pass
            if perf_counter() > deadline:
                raise RuntimeError(f"the server did not answer within {SERVER_START_SECONDS} s")
            sleep(0.2)
        yield process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process (Linux /proc), or None elsewhere."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Client:
    """One browser: a keep-alive connection and its own cookies (a signed-in session)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.conn = self._connect()

    def _connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)

    def close(self) -> None:
        self.conn.close()

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, bytes, http.client.HTTPResponse]:
        headers = {"User-Agent": USER_AGENT, "Accept": "text/html,application/json"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            self.conn.request(method, path, body=body, headers=headers)
            response = self.conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()  # the next request opens a new connection
            self.conn = self._connect()
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or (morsel["expires"] and not morsel.value):
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return response.status, data, response

    def sign_in(self, username: str, password: str) -> None:
        status, page, _ = self.request("GET", "/logga-in")
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page)
        if status != 200 or match is None:
            raise RuntimeError(f"no sign-in form (status {status})")
        form = {"username": username, "password": password, "csrf_token": match[1].decode()}
        status, page, response = self.request("POST", "/logga-in", form)
        if status != 302 or "logga-in" in (response.getheader("Location") or ""):
            raise RuntimeError(f"sign-in failed (status {status}): {page[:300]!r}")


# --------------------------------------------------------------------------------------------
# What is measured


@dataclass(frozen=True)
class Scenario:
    name: str
    label: str
    paths: tuple[str, ...]  # rotated over, so consecutive requests differ
    markers: tuple[bytes, ...]  # every one must be in a successful response
    status: int = 200  # the status of a successful response


def scenarios(seed: WebSeed, *, bound: bool = False) -> list[Scenario]:
    state_area = [
        f"/arenden?{urlencode({'state': state, 'area': area, 'sort': 'opened_desc'})}"
        for area in seed.area_ids
        for state in ("kalla", *(s for s in OPEN_STATES if s != "kalla"))
    ]
    # Interleave so that neighbouring requests differ in both the step and the area.
    filtered = tuple(state_area[(k * 29) % len(state_area)] for k in range(len(state_area)))
    terms = [
        *SEARCH_NAMES,
        *(number[2:] for number in seed.identity_numbers[:6]),  # typed with 10 digits
        *(ref.lower()[-9:] for ref in seed.references[:6]),  # "2025-01234"
    ]
    search = tuple(f"/arenden?{urlencode({'q': t, 'sort': 'opened_desc'})}" for t in terms)
    list_markers = (b'id="result-count"', b'<form method="get" class="filters"')
    return [
        Scenario("healthz", "GET /healthz (trivial route)", ("/healthz",), (b'"status":"ok"',)),
        # The floor of a signed-in HTML page: session, user, one case lookup, base template.
        Scenario(
            "signed_in_404",
            "GET /arenden/<no such case> (signed-in page floor)",
            ("/arenden/999999999",),
            (b"Sidan finns inte", b"Logga ut"),
            status=404,
        ),
        Scenario(
            "start",
            "GET / (start page)",
            ("/",),
            (b'id="by-step"', b'id="attention"', b'id="meetings"'),
        ),
        Scenario("list_filtered", "GET /arenden?state&area&sort", filtered, list_markers),
        *(
            # The same filters on the list's template-free ceiling (--bound, web_bound.py).
            [
                Scenario(
                    "list_bound",
                    "GET /_bench/bound-list?state&area&sort (no template: the ceiling)",
                    tuple(p.replace("/arenden?", f"{BOUND_PATH}?") for p in filtered),
                    (b'id="result-count"',),
                )
            ]
            if bound
            else []
        ),
        Scenario("list_search", "GET /arenden?q=…", search, list_markers),
        Scenario("list_all", "GET /arenden (all, newest first)", ("/arenden",), list_markers),
    ]


@dataclass
class PhaseResult:
    name: str
    label: str
    example: str
    clients: int
    requests: int
    errors: int
    seconds: float
    per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    mean_bytes: float
    server_cpu_ms: float | None  # server CPU time per answered request (failed ones too)
    client_cpu_ms: float  # this process's CPU time per answered request (the clients')
    error_samples: list[str] = field(default_factory=list)


def _percentile(ordered: list[float], p: float) -> float:
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))] * 1000


def _load(
    clients: list[Client], scenario: Scenario, seconds: float
) -> tuple[list[float], int, int, list[str], float]:
    """Every client requests the scenario's paths in a closed loop for ``seconds``.

    Returns the latencies of the successful requests, the bytes received, the number of
    failures, a few failure samples and the wall time from the common start to the last
    response.
    """
    n = len(clients)
    barrier = threading.Barrier(n + 1)
    latencies: list[list[float]] = [[] for _ in clients]
    received = [0] * n
    failures = [0] * n
    samples: list[str] = []
    paths, markers, expected = scenario.paths, scenario.markers, scenario.status

    def work(index: int) -> None:
        client, mine = clients[index], latencies[index]
        barrier.wait()
        start = perf_counter()
        k = index
        for _ in range(MAX_REQUESTS_PER_CLIENT):
            if perf_counter() - start >= seconds:
                break
            path = paths[k % len(paths)]
            k += n
            t0 = perf_counter()
            try:
                status, body, _ = client.request("GET", path)
            except (OSError, http.client.HTTPException) as exc:
                failures[index] += 1
                if len(samples) < 3:
                    samples.append(f"{path}: {exc!r}")
                continue
            elapsed = perf_counter() - t0
            if status == expected and all(m in body for m in markers):
                mine.append(elapsed)
                received[index] += len(body)
            else:
                failures[index] += 1
                if len(samples) < 3:
                    title = re.search(rb"<title>([^<]*)</title>", body)
                    shown = title[1].decode(errors="replace") if title else repr(body[:80])
                    samples.append(f"{path}: HTTP {status} {shown}")

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(n)]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = perf_counter()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    wall = perf_counter() - started
    if any(thread.is_alive() for thread in threads):
        raise RuntimeError(f"{scenario.name}: a client did not finish in time")
    return [x for lst in latencies for x in lst], sum(received), sum(failures), samples, wall


def measure(
    clients: list[Client], scenario: Scenario, seconds: float, warmup: float, server_pid: int
) -> PhaseResult:
    if warmup > 0:
        _load(clients, scenario, warmup)
    cpu_before, mine_before = cpu_seconds(server_pid), process_time()
    latencies, received, errors, samples, wall = _load(clients, scenario, seconds)
    cpu_after, mine_after = cpu_seconds(server_pid), process_time()
    done = len(latencies)
    ordered = sorted(latencies)
    answered = done + errors  # the server spent its time on the failures too
    server_cpu = (
        None
        if cpu_before is None or cpu_after is None or not answered
        else (cpu_after - cpu_before) / answered * 1000
    )
    return PhaseResult(
        name=scenario.name,
        label=scenario.label,
        example=scenario.paths[0],
        clients=len(clients),
        requests=done,
        errors=errors,
        seconds=wall,
        per_second=done / wall,
        p50_ms=_percentile(ordered, 0.50),
        p95_ms=_percentile(ordered, 0.95),
        p99_ms=_percentile(ordered, 0.99),
        max_ms=ordered[-1] * 1000 if ordered else float("nan"),
        mean_ms=sum(ordered) / done * 1000 if done else float("nan"),
        mean_bytes=received / done if done else 0.0,
        server_cpu_ms=server_cpu,
        client_cpu_ms=(mine_after - mine_before) / max(1, answered) * 1000,
        error_samples=samples,
    )


# --------------------------------------------------------------------------------------------
# Do the pages show the database's figures?


def _expected_total(db: sqlite3.Connection, seed: WebSeed, path: str) -> int:
    """The number of hits of a list path, counted with plain SQL (scope: the unit)."""
    query = dict(parse_qsl(urlsplit(path).query))
    sql = "SELECT count(*) FROM sip_case c JOIN child ch ON ch.id = c.child_id WHERE c.unit_id = ?"
    args: list[Any] = [seed.unit_id]
    if "state" in query:
        sql += " AND c.state = ?"
        args.append(query["state"])
    if "area" in query:
        sql += " AND c.nosam_area_id = ?"
        args.append(int(query["area"]))
    if "q" in query:
        term = query["q"].strip()
        digits = "".join(ch for ch in term if ch.isdigit())
        # The case number is always looked for (it has digits enough to look like a
        # personnummer); names are compared folded with Python's lower(), as the app does.
        if len(digits) >= 6:
            sql += " AND (ch.identity_number LIKE ? OR ch.identity_number LIKE ?"
            args += [f"{digits}%", f"__{digits}%"]
        else:
            sql += " AND (py_lower(ch.first_name || ' ' || ch.last_name) LIKE ?"
            args.append(f"%{term.lower()}%")
        sql += " OR c.reference LIKE ?)"
        args.append(f"%{term.upper()}%")
    return int(db.execute(sql, args).fetchone()[0])


def validate(client: Client, seed: WebSeed, database: Path, plan: list[Scenario]) -> dict[str, Any]:
    """Compare what the pages show with the database; raise on any difference."""
    facts: dict[str, Any] = {}
    db = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    db.create_function("py_lower", 1, lambda v: v.lower() if isinstance(v, str) else v)
    try:
        status, page, _ = client.request("GET", "/")
        html = page.decode()
        shown = [int(x) for x in re.findall(r'<span class="count">(\d+)</span>', html)]
        expected = [
            int(
                db.execute(
                    "SELECT count(*) FROM sip_case WHERE unit_id = ? AND coordinator_id = ? "
                    "AND state = ?",
                    (seed.unit_id, seed.user_id, state),
                ).fetchone()[0]
            )
            for state in OPEN_STATES
        ]
        if status != 200 or shown != expected:
            raise RuntimeError(f"start page counts {shown} (status {status}), database {expected}")
        attention = re.search(r"Behöver uppmärksamhet</?[^>]*>?\s*\((\d+)\)", html) or re.search(
            r'id="attention">[^<]*\((\d+)\)', html
        )
        facts["start_counts"] = dict(zip(OPEN_STATES, shown, strict=True))
        facts["start_attention"] = int(attention[1]) if attention else None
        facts["start_meetings_listed"] = html.count('<time datetime="')
        checked = 0
        for scenario in plan:
            if not scenario.name.startswith("list"):
                continue
            for path in scenario.paths[:12]:
                status, page, _ = client.request("GET", path)
                match = re.search(rb'id="result-count"[^>]*>(\d+) \xc3\xa4rende', page)
                want = _expected_total(db, seed, path) if "?" in path else None
                if want is None:
                    want = int(
                        db.execute(
                            "SELECT count(*) FROM sip_case WHERE unit_id = ?", (seed.unit_id,)
                        ).fetchone()[0]
                    )
                if status != 200 or match is None or int(match[1]) != want:
                    got = match[1].decode() if match else "nothing"
                    raise RuntimeError(f"{path}: the page shows {got}, the database {want}")
                facts.setdefault("list_totals", {})[path] = want
                checked += 1
        facts["list_paths_checked"] = checked
    finally:
        db.close()
    return facts


# --------------------------------------------------------------------------------------------
# The run


@dataclass
class Report:
    cases: int
    clients: int
    server_threads: int
    seconds: float
    date: str
    commit: str
    python: str
    sqlalchemy: str
    sqlite: str
    cpus: int | None
    extra_sql: list[str]
    seed_rows: int = 0
    seed_seconds: float = 0.0
    database_bytes: int = 0
    states: dict[str, int] = field(default_factory=dict)
    coordinator_cases: int = 0
    validation: dict[str, Any] = field(default_factory=dict)
    results: list[PhaseResult] = field(default_factory=list)
    ratios: dict[str, float] = field(default_factory=dict)  # per_second / healthz per_second
    verdicts: dict[str, bool] = field(default_factory=dict)
    load_before: list[float] = field(default_factory=list)  # 1/5/15-minute load averages
    load_after: list[float] = field(default_factory=list)
    server_log_tail: str = ""  # only when a request failed

    @property
    def targets_met(self) -> bool:
        return all(self.verdicts.values())


def _load_average() -> list[float]:
    """Other work on the machine shows here: the figures are only as quiet as the machine."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def run(args: argparse.Namespace) -> Report:
    def say(message: str) -> None:
        if not args.quiet:
            print(message, file=sys.stderr, flush=True)

    report = Report(
        cases=args.cases,
        clients=args.clients,
        server_threads=args.threads,
        seconds=args.seconds,
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        commit=_git_commit(),
        python=platform.python_version(),
        sqlalchemy=sqlalchemy.__version__,
        sqlite=sqlite3.sqlite_version,
        cpus=os.cpu_count(),
        extra_sql=list(args.sql or []),
        load_before=_load_average(),
    )
    with fresh_database("sqlite", "") as engine:
        database = Path(str(engine.url.database))
        seed = seed_web_world(engine, args.cases, args.seed, datetime.now(UTC))
        say(f"seeded {seed.rows:,} rows ({args.cases:,} cases) in {seed.seconds:.1f} s")
        with engine.begin() as conn:
            for statement in report.extra_sql:
                say(f"extra SQL: {statement}")
                conn.execute(text(statement))
        engine.dispose()
        report.seed_rows, report.seed_seconds = seed.rows, seed.seconds
        report.database_bytes = database.stat().st_size
        report.states, report.coordinator_cases = seed.states, seed.mine
        plan = [
            s for s in scenarios(seed, bound=args.bound) if not args.only or s.name in args.only
        ]
        port, log = free_port(), database.with_name("server.log")
        with running_server(
            f"sqlite:///{database}", port, args.threads, log, bound=args.bound
        ) as pid:
            say(f"sip-engine serve (pid {pid}) on 127.0.0.1:{port}, {args.threads} threads")
            clients = [Client(port) for _ in range(args.clients)]
            try:
                for client in clients:
                    client.sign_in(USERNAME, PASSWORD)
                report.validation = validate(clients[0], seed, database, plan)
                say(f"pages show the database's figures ({report.validation})")
                for scenario in plan:
                    result = measure(clients, scenario, args.seconds, args.warmup, pid)
                    report.results.append(result)
                    say(
                        f"{scenario.name:<14} {result.per_second:7.1f} req/s  p50 "
                        f"{result.p50_ms:6.1f}  p95 {result.p95_ms:6.1f}  p99 {result.p99_ms:6.1f} "
                        f"ms  server CPU {result.server_cpu_ms or float('nan'):.2f} ms/req  "
                        f"errors {result.errors}"
                    )
            finally:
                for client in clients:
                    client.close()
        if any(r.errors for r in report.results):
            report.server_log_tail = log.read_text(errors="replace")[-4000:]
    report.load_after = _load_average()
    by_name = {r.name: r for r in report.results}
    if "healthz" in by_name:
        base = by_name["healthz"].per_second
        report.ratios = {r.name: r.per_second / base for r in report.results}
    for name in P95_TARGETED:
        if name in by_name:
            report.verdicts[f"{name} p95 < {TARGET_P95_MS:.0f} ms"] = (
                by_name[name].p95_ms < TARGET_P95_MS
            )
    for name in RATIO_TARGETED:
        if name in report.ratios:
            report.verdicts[f"{name} throughput >= {TARGET_RATIO:.0%} of healthz"] = (
                report.ratios[name] >= TARGET_RATIO
            )
    return report


def render(report: Report) -> str:
    lines = [
        f"sip-engine web benchmark — sip-engine serve (waitress, {report.server_threads} threads) "
        f"on SQLite {report.sqlite}",
        f"{report.cases:,} cases ({report.coordinator_cases:,} of them samordnare's), "
        f"{report.clients} concurrent clients, {report.seconds:g} s per route; {report.date}, "
        f"commit {report.commit}, Python {report.python}, SQLAlchemy {report.sqlalchemy}, "
        f"{report.cpus} CPUs",
    ]
    lines.append(
        f"load average (1/5/15 min) before: {report.load_before}, after: {report.load_after}"
    )
    if report.extra_sql:
        lines.append(f"extra SQL after seeding: {'; '.join(report.extra_sql)}")
    lines += [
        "",
        f"{'route':<14} {'requests':>8} {'req/s':>7} {'vs healthz':>10} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'p99 ms':>7} {'max ms':>7} {'srv CPU ms':>10} {'KiB':>5} {'errors':>6}",
    ]
    for r in report.results:
        ratio = report.ratios.get(r.name)
        cpu = "n/a" if r.server_cpu_ms is None else f"{r.server_cpu_ms:.2f}"
        lines.append(
            f"{r.name:<14} {r.requests:>8,} {r.per_second:>7.1f} "
            f"{'' if ratio is None else f'{ratio:.0%}':>10} {r.p50_ms:>7.1f} {r.p95_ms:>7.1f} "
            f"{r.p99_ms:>7.1f} {r.max_ms:>7.1f} {cpu:>10} {r.mean_bytes / 1024:>5.1f} "
            f"{r.errors:>6}"
        )
        for sample in r.error_samples:
            lines.append(f"    {sample}")
    lines.append("")
    for verdict, met in report.verdicts.items():
        lines.append(f"{'meets' if met else 'MISSES'}: {verdict}")
    if report.server_log_tail:
        lines += ["", "server log (tail):", report.server_log_tail]
    lines.append(
        f"seed: {report.seed_rows:,} rows in {report.seed_seconds:.1f} s, database "
        f"{report.database_bytes / 2**20:.1f} MiB; steps {report.states}"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_web", description=(__doc__ or "").split("\n\n")[0]
    )
    parser.add_argument("--cases", type=int, default=10_000, help="cases in the database")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured time per route")
    parser.add_argument("--warmup", type=float, default=2.0, help="unmeasured time per route")
    parser.add_argument("--threads", type=int, default=8, help="waitress threads (serve's default)")
    parser.add_argument("--seed", type=int, default=20260302, help="random seed for the data")
    parser.add_argument(
        "--only", action="append", metavar="ROUTE", help="measure only this route (repeatable)"
    )
    parser.add_argument(
        "--sql",
        action="append",
        metavar="STATEMENT",
        help="run this SQL on the database after seeding, e.g. to try an index (repeatable)",
    )
    parser.add_argument(
        "--bound",
        action="store_true",
        help="serve with benchmarks/web_bound.py and also measure the list's template-free "
        "ceiling (list_bound)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 if a target is missed")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    args = parser.parse_args(argv)
    if args.cases < 1 or args.clients < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--cases, --clients and --seconds must be positive")
    report = run(args)
    if args.json:
        print(json.dumps({**asdict(report), "targets_met": report.targets_met}, indent=2))
    else:
        print(render(report))
    # A failed request makes the figures meaningless: that is an error, not a result.
    if any(r.errors for r in report.results):
        return 2
    if args.check and not report.targets_met:
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
