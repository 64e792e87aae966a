"""Read models for lists and the start page: filtering, search, sorting and paging done in
the database, always within the actor's scope (services.access.visible_cases)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, cast, exists, func, or_, select
from sqlalchemy.orm import Session, contains_eager

from sip_engine.clock import local_date
from sip_engine.models import Case, Child, Meeting, PlanVersion
from sip_engine.workflow import Actor

from .access import visible_cases

# What makes a case need attention (domain.md §6); the scheduler issue adds more.
STALLED_AFTER = timedelta(days=3)
FOLLOW_UP_SOON = timedelta(days=7)

ATTENTION_LABELS = {
    "stalled": "Står still i upptäck",
    "meeting_passed": "Mötestiden har passerat",
    "follow_up_due": "Uppföljning snart eller försenad",
}


def _open_meeting_before(moment: datetime) -> ColumnElement[bool]:
    return exists().where(
        Meeting.case_id == Case.id,
        Meeting.held_at.is_(None),
        Meeting.cancelled_at.is_(None),
        Meeting.starts_at < moment,
    )


def _follow_up_by(day: date) -> ColumnElement[bool]:
    return exists().where(
        PlanVersion.case_id == Case.id,
        PlanVersion.adopted_at.is_not(None),
        PlanVersion.next_follow_up <= day,
        # only the plan in force counts
        PlanVersion.version_no
        == select(func.max(PlanVersion.version_no))
        .where(PlanVersion.case_id == Case.id, PlanVersion.adopted_at.is_not(None))
        .correlate(Case)
        .scalar_subquery(),
    )


def attention_conditions(now: datetime) -> dict[str, ColumnElement[bool]]:
    today = local_date(now)
    return {
        "stalled": and_(Case.state == "upptack", Case.state_entered_at < now - STALLED_AFTER),
        "meeting_passed": and_(Case.state == "kalla", _open_meeting_before(now)),
        "follow_up_due": and_(Case.state == "folj_upp", _follow_up_by(today + FOLLOW_UP_SOON)),
    }


def attention_flags(session: Session, cases: list[Case], now: datetime) -> dict[int, list[str]]:
    """For each given case, the attention labels that apply (one query per condition)."""
    ids = [c.id for c in cases]
    flags: dict[int, list[str]] = {i: [] for i in ids}
    if not ids:
        return flags
    for key, condition in attention_conditions(now).items():
        for case_id in session.scalars(select(Case.id).where(Case.id.in_(ids), condition)):
            flags[case_id].append(key)
    return flags


SORTS: dict[str, Any] = {
    "opened_desc": Case.opened_at.desc(),
    "opened_asc": Case.opened_at.asc(),
    "reference": Case.reference.asc(),
    "name": (Child.last_name.asc(), Child.first_name.asc()),
    "state": (Case.state.asc(), Case.opened_at.desc()),
    "updated_desc": Case.updated_at.desc(),
}


@dataclass
class CaseFilter:
    state: str | None = None
    nosam_area_id: int | None = None
    coordinator_id: int | None = None
    reason: str | None = None
    attention: bool = False
    open_only: bool = False
    search: str | None = None
    sort: str = "opened_desc"
    page: int = 1
    per_page: int = 25


@dataclass
class CasePage:
    items: list[Case]
    total: int
    page: int
    per_page: int
    flags: dict[int, list[str]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def _search_condition(text: str) -> ColumnElement[bool]:
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) >= 6:
        # Personnummer: match the stored 12 digits whether typed with 10 or 12 digits.
        return or_(
            Child.identity_number.like(f"{digits}%"),
            Child.identity_number.like(f"__{digits}%"),
        )
    pattern = f"%{text.strip().lower()}%"
    full_name = func.lower(Child.first_name + " " + Child.last_name)
    return or_(full_name.like(pattern), func.lower(Case.reference).like(pattern))


def search_cases(session: Session, actor: Actor, flt: CaseFilter, now: datetime) -> CasePage:
    stmt = visible_cases(actor).join(Case.child)
    if flt.state:
        stmt = stmt.where(Case.state == flt.state)
    if flt.open_only:
        stmt = stmt.where(Case.closed_at.is_(None))
    if flt.nosam_area_id:
        stmt = stmt.where(Case.nosam_area_id == flt.nosam_area_id)
    if flt.coordinator_id:
        stmt = stmt.where(Case.coordinator_id == flt.coordinator_id)
    if flt.reason:
        # reasons is a JSON list of codes; codes are [a-z_] so a quoted match is exact.
        stmt = stmt.where(cast(Case.reasons, String).like(f'%"{flt.reason}"%'))
    if flt.attention:
        stmt = stmt.where(or_(*attention_conditions(now).values()))
    if flt.search and flt.search.strip():
        stmt = stmt.where(_search_condition(flt.search))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    order = SORTS.get(flt.sort, SORTS["opened_desc"])
    order_by = order if isinstance(order, tuple) else (order,)
    page = max(1, flt.page)
    items = list(
        session.scalars(
            stmt.options(contains_eager(Case.child))
            .order_by(*order_by, Case.id.desc())
            .limit(flt.per_page)
            .offset((page - 1) * flt.per_page)
        )
    )
    return CasePage(items, total, page, flt.per_page, attention_flags(session, items, now))


def counts_by_state(session: Session, stmt_scope: Actor, *, mine_only: bool) -> dict[str, int]:
    stmt = (
        visible_cases(stmt_scope).with_only_columns(Case.state, func.count()).group_by(Case.state)
    )
    if mine_only and stmt_scope.user_id is not None:
        stmt = stmt.where(Case.coordinator_id == stmt_scope.user_id)
    return {state: count for state, count in session.execute(stmt)}


def upcoming_meetings(
    session: Session, actor: Actor, now: datetime, *, limit: int = 10, mine_only: bool = False
) -> list[tuple[Meeting, Case]]:
    scope = visible_cases(actor).with_only_columns(Case.id)
    if mine_only and actor.user_id is not None:
        scope = scope.where(Case.coordinator_id == actor.user_id)
    stmt = (
        select(Meeting, Case)
        .join(Case, Case.id == Meeting.case_id)
        .where(
            Meeting.case_id.in_(scope),
            Meeting.held_at.is_(None),
            Meeting.cancelled_at.is_(None),
            Meeting.starts_at >= now,
        )
        .order_by(Meeting.starts_at)
        .limit(limit)
    )
    return [(m, c) for m, c in session.execute(stmt)]
