"""The case history is append-only, in the ORM and in the database itself."""

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DatabaseError

from sip_engine.models import CaseEvent, HistoryIsAppendOnly

from ..world import CaseBuilder


def test_the_orm_refuses_to_change_or_delete_history(builder: CaseBuilder) -> None:
    case = builder.case_in("forbered")
    event = builder.session.scalars(select(CaseEvent).where(CaseEvent.case_id == case.id)).first()
    assert event is not None
    event.reason = "rewritten"
    with pytest.raises(HistoryIsAppendOnly):
        builder.session.flush()
    builder.session.rollback()
    builder.session.delete(event)
    with pytest.raises(HistoryIsAppendOnly):
        builder.session.flush()


@pytest.mark.parametrize(
    "statement",
    ["UPDATE case_event SET reason = 'rewritten'", "DELETE FROM case_event"],
)
def test_the_database_refuses_to_change_or_delete_history(
    builder: CaseBuilder, db_engine: Engine, statement: str
) -> None:
    case = builder.case_in("forbered")
    builder.session.close()
    with pytest.raises(DatabaseError, match="append-only"), db_engine.begin() as conn:
        conn.execute(text(statement))
    with db_engine.connect() as conn:
        count = conn.scalar(
            text("SELECT count(*) FROM case_event WHERE case_id = :id"), {"id": case.id}
        )
        reasons = conn.scalars(text("SELECT reason FROM case_event")).all()
    assert count == 2  # opened + forbered
    assert "rewritten" not in reasons
