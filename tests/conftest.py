"""Fixtures: real databases (SQLite always, PostgreSQL when configured), a fixed clock, and a
small world of organisations, users and a family to build cases in.

PostgreSQL: set SIP_TEST_POSTGRESQL_URL (``.ci/run`` does). Without it the PostgreSQL variants
are skipped with a reason locally, and fail under CI=true: CI must never skip them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from sip_engine import migrate
from sip_engine.clock import FixedClock, stockholm
from sip_engine.db import make_engine
from sip_engine.models import Base
from sip_engine.notify import Notifier
from sip_engine.notify.links import AnswerLinks
from sip_engine.workflow import WorkflowEngine, WorkflowRegistry

from .smtp import SmtpServer
from .world import CaseBuilder, World, build_world

PG_ENV = "SIP_TEST_POSTGRESQL_URL"


def postgresql_url() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {PG_ENV} is not set: the PostgreSQL tests must run in CI")
        pytest.skip(f"PostgreSQL not configured: set {PG_ENV} to run this variant")
    return url


def reset_postgresql_schema(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head; each test gets a copy (fast, and fully isolated)."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_engine_migrated() -> Iterator[Engine]:
    engine = make_engine(postgresql_url())
    try:
        with engine.connect():
            pass
    except Exception as exc:
        pytest.fail(f"PostgreSQL at {PG_ENV} is unreachable: {exc}")
    reset_postgresql_schema(engine)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


def _truncate_all(engine: Engine) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        # TRUNCATE does not fire the row triggers that keep case_event append-only.
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def db_engine(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if backend == "sqlite":
        path = tmp_path / "sip.sqlite3"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        engine = make_engine(f"sqlite:///{path}")
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("pg_engine_migrated")
        _truncate_all(engine)
        yield engine
        _truncate_all(engine)


@pytest.fixture
def session(db_engine: Engine) -> Iterator[Session]:
    with Session(db_engine, expire_on_commit=False) as s:
        yield s


@pytest.fixture
def clock() -> FixedClock:
    # A Monday morning in Stockholm, winter time.
    return FixedClock(stockholm(2026, 3, 2, 9, 0))


@pytest.fixture(scope="session")
def registry() -> WorkflowRegistry:
    return WorkflowRegistry.from_directory()


@pytest.fixture
def engine_api(registry: WorkflowRegistry, clock: FixedClock) -> WorkflowEngine:
    return WorkflowEngine(registry, clock)


@pytest.fixture
def world(session: Session, clock: FixedClock) -> World:
    built = build_world(session, clock)
    session.commit()
    return built


@pytest.fixture
def builder(
    session: Session, world: World, engine_api: WorkflowEngine, clock: FixedClock
) -> CaseBuilder:
    return CaseBuilder(session, world, engine_api, clock)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def notifier() -> Notifier:
    return Notifier(AnswerLinks("test-secret", "http://127.0.0.1:8000"), "SIP-stöd <sip@sip.test>")


@pytest.fixture
def mail_builder(
    session: Session,
    world: World,
    registry: WorkflowRegistry,
    clock: FixedClock,
    notifier: Notifier,
) -> CaseBuilder:
    """A builder whose engine queues kallelse and updates in the outbox."""
    return CaseBuilder(session, world, WorkflowEngine(registry, clock, notifier), clock)
