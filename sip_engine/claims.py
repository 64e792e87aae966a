"""Leased claims of due rows, shared by the reminder sweep and the outbox sender.

Several processes may claim from one table at once: a claim is one UPDATE that marks up to a
batch of due rows nobody holds with the worker's id and a lease, and returns their ids. On
PostgreSQL the due rows are locked with SKIP LOCKED, so concurrent claims never wait for or
share a row; SQLite serialises writers. A row whose lease ran out (its process died) is due
again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from sip_engine.models import OutboxMessage, Reminder


def claim_due_rows(
    sessions: sessionmaker[Session],
    model: type[Reminder] | type[OutboxMessage],
    due: Sequence[ColumnElement[bool]],
    order_by: Sequence[InstrumentedAttribute[Any]],
    *,
    now: datetime,
    batch_size: int,
    worker_id: str,
    lease: timedelta,
    name: str,
) -> list[int]:
    """Claim up to ``batch_size`` rows matching ``due`` in ``order_by`` order (which should be
    an index's, so the due rows are a range); one statement, one transaction."""
    free = or_(model.claimed_until.is_(None), model.claimed_until < now)
    due_ids = (
        select(model.id)
        .where(*due, free)
        .order_by(*order_by)
        .limit(batch_size)
        .with_for_update(skip_locked=True)  # PostgreSQL; SQLite serialises writers
        # Run once. As a plain IN (subquery), PostgreSQL may put it on the inner side of a
        # nested loop and rerun it for every row; each rerun skips the rows this statement
        # has already locked and takes the next ones, so one claim took every due row.
        .cte(name)
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    with sessions.begin() as session:
        rows = session.execute(
            update(model)
            # ``free`` re-checked on the locked row, so two claims never share one.
            .where(model.id.in_(select(due_ids.c.id)), free)
            .values(claimed_by=worker_id, claimed_until=now + lease)
            .returning(model.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(rows.scalars())
