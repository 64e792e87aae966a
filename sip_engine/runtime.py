"""Wiring for an entry point: settings → database engine, sessions, workflows, clock.

Built once per process by the CLI, the web app factory or the scheduler; tests build their own.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from .clock import Clock, SystemClock
from .config import Settings, load_or_create_secret, load_settings
from .db import make_engine, make_session_factory
from .notify import Notifier
from .notify.links import AnswerLinks
from .workflow import WorkflowEngine, WorkflowRegistry


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    registry: WorkflowRegistry
    clock: Clock
    workflow: WorkflowEngine
    secret: str
    notifier: Notifier


def build_runtime(
    settings: Settings | None = None, clock: Clock | None = None, *, pool_size: int | None = None
) -> Runtime:
    """``pool_size``: connections kept open; a server gives one per thread (see cli.serve)."""
    settings = settings or load_settings()
    pool = {} if pool_size is None else {"pool_size": pool_size}
    engine = make_engine(settings.database_url, echo=settings.sql_echo, **pool)
    return runtime_for(settings, engine, clock or SystemClock())


def runtime_for(
    settings: Settings,
    engine: Engine,
    clock: Clock,
    registry: WorkflowRegistry | None = None,
) -> Runtime:
    """A runtime around an existing engine (tests and benchmarks bring their own)."""
    registry = registry or WorkflowRegistry.from_directory()
    secret = load_or_create_secret(settings)
    notifier = Notifier(AnswerLinks(secret, settings.base_url), settings.mail_from)
    return Runtime(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        registry=registry,
        clock=clock,
        workflow=WorkflowEngine(registry, clock, notifier),
        secret=secret,
        notifier=notifier,
    )
