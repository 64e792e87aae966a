"""Engine and session set-up for SQLite (embedded default) and PostgreSQL (scale-out)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

# SQLite: whether transactions started in this context take the write lock at once.
_immediate: ContextVar[bool] = ContextVar("sip_sqlite_begin_immediate", default=False)


@contextmanager
def writes_ahead() -> Iterator[None]:
    """Within this block, SQLite transactions begin with BEGIN IMMEDIATE.

    In WAL mode a transaction that has read and then writes fails at once ("database is
    locked", no waiting) if another connection wrote in between. A unit of work that will
    write (a form post) takes the write lock up front instead, and so waits its turn.
    No effect on PostgreSQL.
    """
    token = _immediate.set(True)
    try:
        yield
    finally:
        _immediate.reset(token)


def set_writes_ahead(on: bool) -> object:
    """The same as :func:`writes_ahead` for code that cannot use a with-block (a request's
    before/teardown hooks); pass the returned token to :func:`reset_writes_ahead`."""
    return _immediate.set(on)


def reset_writes_ahead(token: object) -> None:
    _immediate.reset(token)  # type: ignore[arg-type]


def make_engine(url: str, *, echo: bool = False, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout.

    Python's sqlite3 driver opens transactions lazily and never emits BEGIN for reads, which
    breaks SERIALIZABLE-style reasoning; we take over BEGIN ourselves, as the SQLAlchemy docs
    recommend, so every transaction starts explicitly.

    Statement parameters are kept out of error messages and logs (``hide_parameters``): they
    carry names and personnummer, which must never reach a log file.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=not echo,
            connect_args={"timeout": 30, "check_same_thread": False},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA cache_size=-32000")  # 32 MB: a 10,000-case file fits
            cursor.close()
            # SQLite's own lower() folds ASCII only: "Öberg" would never match "öberg".
            dbapi_connection.create_function(
                "lower", 1, lambda v: v.lower() if isinstance(v, str) else v, deterministic=True
            )

        @event.listens_for(engine, "begin")
        def _sqlite_on_begin(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE" if _immediate.get() else "BEGIN")

        return engine
    return create_engine(url, echo=echo, hide_parameters=not echo, pool_pre_ping=True, **kwargs)


def refresh_planner_statistics(engine: Engine) -> None:
    """On SQLite, gather the statistics the query planner needs to choose between indexes
    (for example, the few sent escalations over a unit's thousands of cases); nothing else
    ever runs ANALYZE there. ``analysis_limit`` samples each index, so this takes milliseconds
    on a large file. PostgreSQL's autovacuum keeps its own statistics."""
    if engine.dialect.name != "sqlite":
        return
    with engine.begin() as connection:
        connection.exec_driver_sql("PRAGMA analysis_limit=1000")
        connection.exec_driver_sql("ANALYZE")


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)
