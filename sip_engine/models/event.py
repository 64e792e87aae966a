from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from .base import Base, str_enum
from .enums import EventKind


class CaseEvent(Base):
    """Append-only history of a case: every transition, refusal and change.

    The ORM refuses updates and deletes of these rows; the migration adds database triggers
    so that plain SQL cannot rewrite history either.
    """

    __tablename__ = "case_event"
    __table_args__ = (Index("ix_case_event_case_at", "case_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("sip_case.id"))
    at: Mapped[datetime]
    kind: Mapped[EventKind] = mapped_column(str_enum(EventKind))
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    actor_label: Mapped[str] = mapped_column(String(160))
    actor_organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))
    trigger: Mapped[str | None] = mapped_column(String(60))
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str | None] = mapped_column(Text)
    workflow_name: Mapped[str] = mapped_column(String(40))
    workflow_version: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class HistoryIsAppendOnly(RuntimeError):
    pass


@event.listens_for(CaseEvent, "before_update")
@event.listens_for(CaseEvent, "before_delete")
def _refuse_history_change(_mapper: Mapper[Any], _connection: Any, target: CaseEvent) -> None:
    raise HistoryIsAppendOnly(f"case_event {target.id} is append-only")
