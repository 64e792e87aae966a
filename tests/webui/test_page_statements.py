"""The start page and the case list cost a fixed number of SQL statements, however many cases
they show (no statement per row), and their reads are still audited."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from sip_engine.models import AccessLog

from ..world import CaseBuilder
from .conftest import login

PAGES = ("/", "/arenden", "/arenden?state=kalla&sort=name", "/arenden?attention=1&q=Alva")
# Per page: session, user, the page's reads, what the consent rule reads for the page's cases
# (a participant's consents and children, a few statements for the whole page), the audit row
# (its own transaction).
MAX_STATEMENTS = 14


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _statements_per_page(client: FlaskClient, engine: Engine) -> dict[str, int]:
    found = {}
    for path in PAGES:
        with counted(engine) as statements:
            response = client.get(path)
        assert response.status_code == 200, path
        found[path] = len(statements)
    return found


@pytest.mark.parametrize("username", ["samordnare", "chef", "bup"])
def test_statements_do_not_grow_with_the_cases_shown(
    client: FlaskClient, builder: CaseBuilder, db_engine: Engine, username: str
) -> None:
    builder.case_in("kalla")  # BUP takes part, with consent
    login(client, username)
    few = _statements_per_page(client, db_engine)
    for _ in range(4):
        builder.case_in("kalla")
    many = _statements_per_page(client, db_engine)
    assert many == few
    assert max(many.values()) <= MAX_STATEMENTS, many


def test_the_start_page_and_the_list_are_audited(
    coordinator_client: FlaskClient, builder: CaseBuilder, session: Session
) -> None:
    builder.case_in("upptack")
    coordinator_client.get("/")
    coordinator_client.get("/arenden?attention=1")
    session.expire_all()
    rows = session.scalars(select(AccessLog).where(AccessLog.case_id.is_(None))).all()
    assert [(r.action, r.user_id) for r in rows] == [
        ("start_page", builder.w.coordinator.id),
        ("case_list", builder.w.coordinator.id),
    ]
