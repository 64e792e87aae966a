"""Wiring for an entry point: settings → database engine, sessions, workflows, clock.

Built once per process by the CLI, the web app factory or the scheduler; tests build their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .clock import Clock, SystemClock
from .config import Settings, load_settings
from .db import make_engine, make_session_factory
from .workflow import WorkflowEngine, WorkflowRegistry


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    registry: WorkflowRegistry
    clock: Clock
    workflow: WorkflowEngine


def build_runtime(settings: Settings | None = None, clock: Clock | None = None) -> Runtime:
    settings = settings or load_settings()
    clock = clock or SystemClock()
    engine = make_engine(settings.database_url, echo=settings.sql_echo)
    registry = WorkflowRegistry.from_directory()
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        registry=registry,
        clock=clock,
        workflow=WorkflowEngine(registry, clock),
    )
