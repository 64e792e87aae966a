"""How many SQL statements one fired transition sends, as a web request fires it: a fresh
session, the case loaded, ``fire``, commit.

A guard against per-row queries creeping back into the engine (counts, never timings): the
throughput of ``benchmarks/bench_transitions.py`` rests on these numbers. Raise a budget only
when a transition really has more to read or write.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session

from sip_engine.models import Case, Invitation, OutboxMessage, Reminder

from ..world import CaseBuilder

# Statements per fire, BEGIN and COMMIT aside, with the case loaded in the same session.
# The reminders ask the one consent rule (the consents with their organisations, the child
# with the guardians, the participants): three statements on both transitions; the age rule
# (fyller_21) reads the same child.
FORBERED_BUDGET = 11  # the case leaving upptäck also cancels its reminders there
# Three participants: more invitations and messages add rows, not statements (all the
# invitations go in one INSERT .. RETURNING; the reminders reuse what the guards and the
# kallelse read; consents come with their organisations). It was 20 before the
# transition's writes moved to Core statements.
KALLA_BUDGET = 19


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    sent: list[str] = []

    def keep(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement not in ("BEGIN", "BEGIN IMMEDIATE"):
            sent.append(statement)

    event.listen(engine, "before_cursor_execute", keep)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", keep)


def fire_in_fresh_session(builder: CaseBuilder, case_id: int, trigger: str) -> list[str]:
    engine = builder.session.get_bind()
    assert isinstance(engine, Engine)
    with Session(engine, expire_on_commit=False) as session, statements(engine) as sent:
        case = session.get_one(Case, case_id)
        builder.engine.fire(session, case, trigger, builder.w.actor)
        session.commit()
    return sent


def test_forbered_stays_within_its_statement_budget(builder: CaseBuilder) -> None:
    case = builder.case_in("upptack")
    sent = fire_in_fresh_session(builder, case.id, "forbered")
    assert len(sent) <= FORBERED_BUDGET, "\n".join(sent)


def test_kalla_stays_within_its_statement_budget(mail_builder: CaseBuilder) -> None:
    case = mail_builder.case_in("forbered")
    mail_builder.prepare(case)
    sent = fire_in_fresh_session(mail_builder, case.id, "kalla")
    assert len(sent) <= KALLA_BUDGET, "\n".join(sent)
    # The budget is met by doing the work, not by skipping it.
    session = mail_builder.session
    session.expire_all()
    assert session.get_one(Case, case.id).state == "kalla"
    invitations = session.scalars(select(Invitation)).all()
    assert len(invitations) == 3
    assert len(session.scalars(select(OutboxMessage)).all()) == 3
    assert session.scalars(select(Reminder).where(Reminder.case_id == case.id)).all()
