"""The reports page for one year with 50,000 cases (a whole county): time to answer.

Seeds a fresh database with bulk Core inserts (the approach of ``bench_transitions``):
the 14 NOSAM areas of Göteborgsområdet, a socialtjänst unit and a chef per area, and
``--cases`` cases opened evenly over 2021-01-01 … 2026-11-20, each with its own child, one to
four meetings (the first a SIP meeting, then follow-ups; some cancelled, the child's
participation recorded on most), one to three adopted plan versions with follow-up dates, and
the case's history events (opened, transitions); about 40 % are closed with a reason.

Then, through the Flask test client signed in as a chef (the whole request: routing, login
session, the report's queries, the template, the SVG charts and the audit write), it times
``GET /rapporter/?period=YEAR`` for all areas and for one area, and the CSV export, each
``--repeat`` times after one warm-up request, and reports the median and the slowest.

    python -m benchmarks.bench_reports --database sqlite
    python -m benchmarks.bench_reports --database postgresql

PostgreSQL: ``SIP_BENCH_POSTGRESQL_URL`` (default below); the data goes in a schema
``bench_reports`` of that database, dropped and created again, and dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

from sqlalchemy import Engine, insert

from benchmarks.bench_transitions import _after_seed, _chunks, _table, fresh_database
from benchmarks.bench_web import AREAS  # the county's 14 NOSAM areas
from sip_engine.clock import FixedClock, stockholm
from sip_engine.config import Settings
from sip_engine.models import (
    Case,
    CaseEvent,
    Child,
    Meeting,
    NosamArea,
    Organisation,
    PlanVersion,
    User,
)
from sip_engine.passwords import hash_password
from sip_engine.runtime import runtime_for
from sip_engine.services.cases import SIP_REASONS
from sip_engine.workflow import WorkflowRegistry

PG_ENV = "SIP_BENCH_POSTGRESQL_URL"
DEFAULT_PG_URL = "postgresql+psycopg://sip:sip@127.0.0.1:5432/sip_bench_rep"
CLOSE_REASONS = ("samordning_behovs_inte", "familjen_avbojer", "flyttat", "fyller_21", "annat")
RAISED_BY = ("socialtjanst", "skola", "region", "familj", "annan")
PASSWORD = "bench-lösenord-123"
FIRST = datetime(2021, 1, 1, 7, tzinfo=UTC)
LAST = datetime(2026, 11, 20, 7, tzinfo=UTC)
NOW = stockholm(2026, 11, 24, 9)


def seed(engine: Engine, n_cases: int, rng_seed: int) -> dict[str, int]:
    rng = random.Random(rng_seed)
    counts: dict[str, int] = {}
    rows: dict[str, list[dict[str, Any]]] = {
        name: [] for name in ("child", "case", "meeting", "plan", "event")
    }
    area_rows = [{"id": i + 1, "name": n, "kommun": k} for i, (n, k) in enumerate(AREAS)]
    org_rows = [
        {
            "id": i + 1,
            "name": f"Socialtjänst {n}, barn och unga",
            "party": "kommun",
            "kind": "socialtjänst",
            "huvudman": f"{k} kommun",
            "kommun": k,
            "nosam_area_id": i + 1,
        }
        for i, (n, k) in enumerate(AREAS)
    ]
    password_hash = hash_password(PASSWORD)
    user_rows = [
        {
            "id": i + 1,
            "username": f"chef{i + 1}",
            "display_name": f"Chef {n}",
            "password_hash": password_hash,
            "role": "chef",
            "organisation_id": i + 1,
            "is_active": True,
        }
        for i, (n, _) in enumerate(AREAS)
    ]
    span = (LAST - FIRST).total_seconds()
    meeting_id = plan_id = event_id = 0
    for case_id in range(1, n_cases + 1):
        area = rng.randrange(len(AREAS)) + 1
        opened = FIRST + timedelta(seconds=span * (case_id - 1) / n_cases)
        closed = opened + timedelta(days=rng.randint(20, 900)) if rng.random() < 0.4 else None
        if closed and closed > LAST:
            closed = None
        rows["child"].append(
            {
                "id": case_id,
                "first_name": "Barn",
                "last_name": f"Nummer{case_id}",
                "identity_number": None,
                "identity_kind": "reservnummer",
                "birth_date": date(2008 + case_id % 15, 1 + case_id % 12, 1 + case_id % 28),
                "protected_identity": False,
            }
        )
        rows["case"].append(
            {
                "id": case_id,
                "reference": f"SIP-B{case_id:06d}",
                "child_id": case_id,
                "nosam_area_id": area,
                "unit_id": area,
                "workflow_name": "sip",
                "workflow_version": 1,
                "state": "avslutad" if closed else "folj_upp",
                "state_entered_at": closed or opened,
                "reasons": rng.sample(list(SIP_REASONS), rng.randint(1, 2)),
                "need_description": "Behov",
                "raised_by": rng.choice(RAISED_BY),
                "raised_on": opened.date(),
                "involved_organisation_ids": [],
                "opened_at": opened,
                "updated_at": closed or opened,
                "closed_at": closed,
                "close_reason": rng.choice(CLOSE_REASONS) if closed else None,
                "version": 1,
            }
        )
        at = opened
        for n in range(rng.randint(1, 4)):
            at = at + timedelta(days=rng.randint(3, 60) if n == 0 else rng.randint(60, 200))
            if at > LAST or (closed and at > closed):
                break
            meeting_id += 1
            cancelled = rng.random() < 0.05
            rows["meeting"].append(
                {
                    "id": meeting_id,
                    "case_id": case_id,
                    "kind": "sip" if n == 0 else "uppfoljning",
                    "starts_at": at,
                    "ends_at": at + timedelta(hours=1),
                    "format": "pa_plats",
                    "questions": ["Fråga"],
                    "sequence": 0,
                    "created_at": at - timedelta(days=10),
                    "called_at": at - timedelta(days=9),
                    "held_at": None if cancelled else at + timedelta(hours=1),
                    "cancelled_at": at - timedelta(days=1) if cancelled else None,
                    "child_attended": None
                    if cancelled or rng.random() < 0.1
                    else rng.random() < 0.7,
                }
            )
            if not cancelled:
                plan_id += 1
                rows["plan"].append(
                    {
                        "id": plan_id,
                        "case_id": case_id,
                        "version_no": n + 1,
                        "needs": [],
                        "goals": [],
                        "other_actions": [],
                        "next_follow_up": (at + timedelta(days=rng.randint(60, 180))).date(),
                        "created_at": at,
                        "adopted_at": at + timedelta(hours=1),
                    }
                )
        for kind, when, to_state in (
            ("case_opened", opened, "upptack"),
            ("transition", opened + timedelta(days=2), "forbered"),
            ("transition", closed, "avslutad"),
        ):
            if when is None:
                continue
            event_id += 1
            rows["event"].append(
                {
                    "id": event_id,
                    "case_id": case_id,
                    "at": when,
                    "kind": kind,
                    "actor_label": "Samordnare",
                    "to_state": to_state,
                    "workflow_name": "sip",
                    "workflow_version": 1,
                    "details": {},
                }
            )
    with engine.begin() as conn:
        conn.execute(insert(_table(NosamArea)), area_rows)
        conn.execute(insert(_table(Organisation)), org_rows)
        conn.execute(insert(_table(User)), user_rows)
        for name, model in (
            ("child", Child),
            ("case", Case),
            ("meeting", Meeting),
            ("plan", PlanVersion),
            ("event", CaseEvent),
        ):
            for chunk in _chunks(rows[name]):
                conn.execute(insert(_table(model)), chunk)
            counts[name] = len(rows[name])
    _after_seed(engine)
    return counts


def _time(client: Any, path: str, repeat: int) -> tuple[float, float, float, int]:
    """Median and slowest wall time, and the median CPU time of this process (on SQLite that
    includes the queries; it is what the request costs whatever else the machine is doing)."""
    response = client.get(path)  # warm-up (caches, query plans)
    assert response.status_code == 200, (path, response.status_code)
    times, cpu = [], []
    for _ in range(repeat):
        started, started_cpu = perf_counter(), process_time()
        response = client.get(path)
        response.get_data()
        times.append(perf_counter() - started)
        cpu.append(process_time() - started_cpu)
        assert response.status_code == 200
    return statistics.median(times), max(times), statistics.median(cpu), len(response.get_data())


def run(args: argparse.Namespace) -> int:
    from webui import create_app

    pg_url = os.environ.get(PG_ENV, DEFAULT_PG_URL)
    with fresh_database(args.database, pg_url, "reports") as engine:
        started = perf_counter()
        counts = seed(engine, args.cases, args.seed)
        seeded = perf_counter() - started
        runtime = runtime_for(
            Settings(
                database_url=str(engine.url),
                instance_dir=Path(args.instance),
                secret_key="bench-secret",
            ),
            engine,
            FixedClock(NOW),
            WorkflowRegistry.from_directory(),
        )
        app = create_app(runtime=runtime, test_config={"WTF_CSRF_ENABLED": False})
        with app.test_client() as client:
            response = client.post("/logga-in", data={"username": "chef3", "password": PASSWORD})
            assert response.status_code == 302, response.get_data(as_text=True)
            year = args.year
            paths = {
                f"page, all areas, {year}": f"/rapporter/?period={year}",
                f"page, one area (Centrum), {year}": f"/rapporter/?period={year}&omrade=3",
                f"CSV, all tables, all areas, {year}": f"/rapporter/export.csv?period={year}",
                f"printable årsrapport, Centrum, {year}": (
                    f"/rapporter/arsrapport?period={year}&omrade=3"
                ),
            }
            page = client.get(paths[f"page, all areas, {year}"]).get_data(as_text=True)
            started_cell = re.search(r'Startade SIP</th><td class="num">([^<]+)<', page)
            results = {name: _time(client, path, args.repeat) for name, path in paths.items()}
    print(f"database: {args.database} ({platform.python_version()}, {platform.machine()})")
    print(f"seeded in {seeded:.1f} s: " + ", ".join(f"{n:,} {name}" for name, n in counts.items()))
    print(f"SIPs started {year} (all areas, as shown): {started_cell[1] if started_cell else '?'}")
    print(f"load average during the run: {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"{'request':<42} {'median':>9} {'slowest':>9} {'CPU':>9} {'bytes':>9}")
    worst = 0.0
    for name, (median, slowest, cpu, size) in results.items():
        if name.startswith("page"):  # the target is the reports page's
            worst = max(worst, median)
        print(
            f"{name:<42} {median * 1000:>6.0f} ms {slowest * 1000:>6.0f} ms "
            f"{cpu * 1000:>6.0f} ms {size:>9,}"
        )
    print(f"target: the page under 1 s (median) -> {'met' if worst < 1.0 else 'MISSED'}")
    return 0 if worst < 1.0 else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--cases", type=int, default=50_000)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--seed", type=int, default=20260302)
    parser.add_argument("--instance", default="/tmp/sip-bench-reports")
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
