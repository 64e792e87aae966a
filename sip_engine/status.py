"""Counts of cases per workflow state and per NOSAM area, and the outbox's health
(``sip-engine status``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sip_engine.models import Case, NosamArea
from sip_engine.services.outbox import outbox_health


def status_report(session: Session, now: datetime) -> dict[str, Any]:
    """Everything ``sip-engine status`` reports: the case counts and the outbox's figures."""
    return {**case_counts(session), "outbox": outbox_health(session, now).as_dict()}


def case_counts(session: Session) -> dict[str, Any]:
    by_state: dict[str, dict[str, int]] = {}
    for workflow, state, count in session.execute(
        select(Case.workflow_name, Case.state, func.count())
        .group_by(Case.workflow_name, Case.state)
        .order_by(Case.workflow_name, Case.state)
    ):
        by_state.setdefault(workflow, {})[state] = count
    by_area: dict[str, dict[str, int]] = {}
    for area, state, count in session.execute(
        select(NosamArea.name, Case.state, func.count())
        .join(Case, Case.nosam_area_id == NosamArea.id)
        .group_by(NosamArea.name, Case.state)
        .order_by(NosamArea.name, Case.state)
    ):
        by_area.setdefault(area, {})[state] = count
    total = sum(sum(states.values()) for states in by_state.values())
    return {"total": total, "by_state": by_state, "by_area": by_area}
