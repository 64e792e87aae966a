"""Read models for lists and the start page: filtering, search, sorting and paging done in
the database, always within the actor's scope (services.access.visible_cases)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from sip_engine.clock import local_date
from sip_engine.models import (
    Case,
    Child,
    Meeting,
    MeetingKind,
    PlanVersion,
    Reminder,
    ReminderStatus,
    Role,
)
from sip_engine.models.people import fold_for_search
from sip_engine.workflow import Actor

from .access import identified_cases, visible_cases

# What makes a case need attention (domain.md §6); the scheduler issue adds more.
STALLED_AFTER = timedelta(days=3)
FOLLOW_UP_SOON = timedelta(days=7)

ATTENTION_LABELS = {
    "stalled": "Står still i upptäck",
    "meeting_passed": "Mötestiden har passerat",
    "follow_up_due": "Uppföljning snart eller försenad",
    "escalated": "Eskalerad av schemaläggaren",
}


def _open_meeting_before(moment: ColumnElement[Any]) -> ColumnElement[bool]:
    return exists().where(
        Meeting.case_id == Case.id,
        Meeting.held_at.is_(None),
        Meeting.cancelled_at.is_(None),
        Meeting.starts_at < moment,
    )


def _follow_up_by(day: ColumnElement[Any]) -> ColumnElement[bool]:
    # Only the plan in force counts: the latest adopted version. One lookup per case that
    # ix_plan_version_case_adopted answers from the index alone.
    in_force = (
        select(PlanVersion.next_follow_up)
        .where(PlanVersion.case_id == Case.id, PlanVersion.adopted_at.is_not(None))
        .order_by(PlanVersion.version_no.desc())
        .limit(1)
        .correlate(Case)
        .scalar_subquery()
    )
    return in_force <= day


def _escalated() -> ColumnElement[bool]:
    """An escalation the scheduler sent while the case has stood in its current step (or
    failed to mail: the case is overdue all the same)."""
    sent = (
        Reminder.kind == "escalation",
        Reminder.status.in_((ReminderStatus.SENT, ReminderStatus.FAILED)),
    )
    return and_(
        # Found from the few sent escalations (ix_reminder_kind_status_case), not by looking
        # up the reminders of every open case.
        Case.id.in_(select(Reminder.case_id).where(*sent)),
        exists().where(
            Reminder.case_id == Case.id,
            *sent,
            Reminder.state == Case.state,
            Reminder.created_at >= Case.state_entered_at,
        ),
    )


@cache
def attention_conditions() -> dict[str, ColumnElement[bool]]:
    """The conditions, built once: the moment is a parameter (``attention_params``), so
    every page reuses the same expressions and SQLAlchemy's cached compilation of them."""
    return {
        "stalled": and_(
            Case.state == "upptack", Case.state_entered_at < bindparam("attention_stalled_before")
        ),
        "meeting_passed": and_(
            Case.state == "kalla", _open_meeting_before(bindparam("attention_now"))
        ),
        "follow_up_due": and_(
            Case.state == "folj_upp", _follow_up_by(bindparam("attention_follow_up_by"))
        ),
        "escalated": and_(Case.closed_at.is_(None), _escalated()),
    }


def attention_params(now: datetime) -> dict[str, Any]:
    """The values of the conditions' parameters at ``now``."""
    return {
        "attention_stalled_before": now - STALLED_AFTER,
        "attention_now": now,
        "attention_follow_up_by": local_date(now) + FOLLOW_UP_SOON,
    }


SORTS: dict[str, Any] = {
    "opened_desc": Case.opened_at.desc(),
    "opened_asc": Case.opened_at.asc(),
    "reference": Case.reference.asc(),
    "name": (Child.last_name.asc(), Child.first_name.asc()),
    "state": (Case.state.asc(), Case.opened_at.desc()),
    "updated_desc": Case.updated_at.desc(),
}


@dataclass(frozen=True)  # hashable: a key of the list's statement cache
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


@dataclass(slots=True)
class CaseRow:
    """What a list of cases shows of each case: plain values, not ORM objects (loading 25
    cases and their children as entities cost more than the rest of the page's queries)."""

    id: int
    reference: str
    state: str
    reasons: list[str]
    opened_at: datetime
    child_name: str


@dataclass
class CasePage:
    items: list[CaseRow]
    total: int
    page: int
    per_page: int
    flags: dict[int, list[str]] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


SEARCH_BY_NUMBER, SEARCH_BY_NAME = "number", "name"
# A personnummer search's ranges: the digits as typed, and with the century 19 or 20.
_NUMBER_RANGES = ("search_number", "search_number_19", "search_number_20")


def _search_kind(text: str) -> str:
    """A term with six digits or more is a personnummer (or a case number); else a name."""
    digits = sum(ch.isdigit() for ch in text)
    return SEARCH_BY_NUMBER if digits >= 6 else SEARCH_BY_NAME


def _search_params(text: str) -> dict[str, str]:
    """The search statement's parameters for ``text`` (see _search_condition)."""
    term = text.strip()
    # A case number ("SIP-2026-00042": ASCII capitals and digits) as typed, in any case.
    params = {"search_reference": f"%{term.upper()}%"}
    if _search_kind(term) == SEARCH_BY_NUMBER:
        digits = "".join(ch for ch in term if ch.isdigit())
        # The stored number has twelve digits (ÅÅÅÅMMDDNNNN): a typed prefix is a range of
        # them, which the unique index answers. Typed as is, or without the century (a
        # child or young person is born in the 1900s or 2000s).
        for key, prefix in zip(_NUMBER_RANGES, (digits, f"19{digits}", f"20{digits}"), strict=True):
            first, last = (prefix.ljust(12, "0"), prefix.ljust(12, "9"))
            if len(prefix) > 12:
                first, last = "1", "0"  # longer than any stored number: an empty range
            params |= {f"{key}_from": first, f"{key}_to": last}
    else:
        params["search_name"] = f"%{fold_for_search(term)}%"
    return params


@cache
def _search_condition(kind: str, restricted: bool) -> ColumnElement[bool]:
    """The cases whose child's name or personnummer (by ``kind``), or whose reference,
    matches the search parameters (_search_params). The terms are parameters, so the
    statement is built once and no term is kept in memory.

    Written as ``sip_case.id IN (ids found through the child_id index, plus ids whose
    reference matches)`` rather than as a condition on each case joined to its child: the
    database then looks up only the cases of the matching children instead of reading every
    case in scope (about three times faster with 10,000 cases on SQLite). Every comparison is
    a plain LIKE the database evaluates itself (the name is stored folded, Child.search_name).

    ``restricted``: a name or personnummer finds only the cases in ``identified_ids`` (those
    whose child the actor may see: a complete consent); any other case is found by its
    reference alone, so a search cannot confirm that a hidden child has a SIP.
    """
    other = aliased(Case)  # the subqueries' own copy, never correlated with the outer case
    if kind == SEARCH_BY_NUMBER:
        children = select(Child.id).where(
            or_(
                *(
                    Child.identity_number.between(bindparam(f"{key}_from"), bindparam(f"{key}_to"))
                    for key in _NUMBER_RANGES
                )
            )
        )
    else:
        children = select(Child.id).where(Child.search_name.like(bindparam("search_name")))
    # A case number has digits enough to look like a personnummer: it is always looked for.
    by_child = select(other.id).where(other.child_id.in_(children))
    if restricted:
        by_child = by_child.where(other.id.in_(bindparam("identified_ids", expanding=True)))
    return Case.id.in_(
        union_all(
            by_child,
            select(other.id).where(other.reference.like(bindparam("search_reference"))),
        )
    )


def _search_restricted(actor: Actor) -> bool:
    """Whether a search by the child must be limited to the cases the consent rule lets the
    actor see the child of (everyone but the case's unit, whose scope is its own cases)."""
    return actor.role not in (Role.SAMORDNARE, Role.CHEF)


def _order_by(sort: str) -> tuple[Any, ...]:
    order = SORTS[sort]
    return (*(order if isinstance(order, tuple) else (order,)), Case.id.desc())


# CaseRow's columns, in its order, and the child's name; the attention flags follow them.
_ROW_COLUMNS = (
    Case.id,
    Case.reference,
    Case.state,
    Case.reasons,
    Case.opened_at,
    Child.first_name,
    Child.last_name,
)


@cache
def _page_cases(sort: str) -> Executable:
    """The page's cases, their children and which attention conditions hold, in one go.

    Built once per sort order (the ids are a parameter): this statement is large, and
    building it for every page cost more than running it.
    """
    return (
        select(*_ROW_COLUMNS, *(cond.label(key) for key, cond in attention_conditions().items()))
        .join(Child, Child.id == Case.child_id)
        .where(Case.id.in_(bindparam("page_ids", expanding=True)))
        .order_by(*_order_by(sort))
    )


def search_cases(session: Session, actor: Actor, flt: CaseFilter, now: datetime) -> CasePage:
    term = (flt.search or "").strip()
    # A list page's statements are kept for the next visit with the same filters. The
    # attention conditions' moment and a search's terms are parameters: the kept statement
    # knows only the kind of search, so no name or personnummer is kept in memory.
    page_ids, count, counted_with_page = _list_statements(
        actor, replace(flt, search=None), _search_kind(term) if term else None
    )
    params: dict[str, Any] = attention_params(now)
    if term:
        params |= _search_params(term)
        if _search_restricted(actor):
            params["identified_ids"] = identified_cases(session, actor, local_date(now))
    page = max(1, flt.page)
    # Plain values only, so the statements run on the session's connection (the same
    # transaction): the ORM's execution path cost several times the query itself.
    connection = session.connection()
    rows = connection.execute(page_ids, params).all()
    ids = [row[0] for row in rows]
    if counted_with_page and (rows or page == 1):
        total = rows[0][1] if rows else 0
    else:
        total = connection.scalar(count, params) or 0
    items: list[CaseRow] = []
    flags: dict[int, list[str]] = {}
    if ids:
        sort = flt.sort if flt.sort in SORTS else "opened_desc"
        found = connection.execute(_page_cases(sort), {**params, "page_ids": ids})
        keys = list(enumerate(attention_conditions(), start=len(_ROW_COLUMNS)))
        for row in found:
            case_id, reference, state, reasons, opened_at, first, last = row[: len(_ROW_COLUMNS)]
            items.append(CaseRow(case_id, reference, state, reasons, opened_at, f"{first} {last}"))
            flags[case_id] = [key for index, key in keys if row[index]]
    return CasePage(items, total, page, flt.per_page, flags)


@lru_cache(maxsize=256)
def _list_statements(
    actor: Actor, flt: CaseFilter, search: str | None
) -> tuple[Executable, Executable, bool]:
    """The statements for the ids of a page of cases and for their total, and whether the
    first also counts (see below). Always within the actor's scope (visible_cases).
    ``search``: the kind of search (_search_kind), its terms being parameters."""
    stmt = visible_cases(actor)
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
    searching = search is not None
    if searching:
        stmt = stmt.where(_search_condition(search, _search_restricted(actor)))
    if flt.attention:
        # One branch per condition, each within the scope and filters above, so each is an
        # index range (the step, the stalled date, the few sent escalations); a single OR
        # made the database test every condition on every case in scope.
        branches = [
            stmt.with_only_columns(Case.id).where(cond).correlate(None)
            for cond in attention_conditions().values()
        ]
        stmt = select(Case).where(Case.id.in_(union_all(*branches)))
    # First the ids of the page, joining the child only to sort by name; then those cases
    # with their children (_page_cases). Joining every case in scope to its child before
    # sorting costs a child lookup per case.
    # A search or the attention filter is costly to evaluate and matches few cases: count
    # them in the same statement (a window over the matches) rather than evaluating it twice.
    # Otherwise an index answers the count, and the page is a walk that stops at ``per_page``.
    counted_with_page = searching or flt.attention
    columns: list[Any] = [Case.id, func.count().over()] if counted_with_page else [Case.id]
    page_ids = stmt.with_only_columns(*columns, maintain_column_froms=True)
    if flt.sort == "name":
        page_ids = page_ids.join(Child, Child.id == Case.child_id)
    sort = flt.sort if flt.sort in SORTS else "opened_desc"
    page = max(1, flt.page)
    page_ids = (
        page_ids.order_by(*_order_by(sort)).limit(flt.per_page).offset((page - 1) * flt.per_page)
    )
    # Counted on the case table alone (no join: an index can answer it).
    count = stmt.with_only_columns(func.count(), maintain_column_froms=True)
    return page_ids, count, counted_with_page


# The start page's own statements are built once per actor (the actor is part of the key, so
# each keeps exactly the scope visible_cases gives that actor) and reused on every visit:
# building them cost several times more than running them.
ACTOR_STATEMENTS = 1024


def counts_by_state(session: Session, stmt_scope: Actor, *, mine_only: bool) -> dict[str, int]:
    return {
        state: count
        for state, count in session.connection().execute(_counts_by_state(stmt_scope, mine_only))
    }


@lru_cache(maxsize=ACTOR_STATEMENTS)
def _counts_by_state(actor: Actor, mine_only: bool) -> Executable:
    stmt = visible_cases(actor).with_only_columns(Case.state, func.count()).group_by(Case.state)
    if mine_only and actor.user_id is not None:
        stmt = stmt.where(Case.coordinator_id == actor.user_id)
    return stmt


@dataclass(slots=True)
class ComingMeeting:
    """A coming meeting as the start page lists it (plain values, like CaseRow)."""

    starts_at: datetime
    kind: MeetingKind
    location: str | None
    case_id: int
    reference: str


def upcoming_meetings(
    session: Session, actor: Actor, now: datetime, *, limit: int = 10, mine_only: bool = False
) -> list[ComingMeeting]:
    stmt = _upcoming_meetings(actor, limit, mine_only)
    rows = session.connection().execute(stmt, {"upcoming_from": now})
    return [ComingMeeting(*row) for row in rows]


@lru_cache(maxsize=ACTOR_STATEMENTS)
def _upcoming_meetings(actor: Actor, limit: int, mine_only: bool) -> Executable:
    scope = visible_cases(actor).with_only_columns(Case.id, maintain_column_froms=True)
    if mine_only and actor.user_id is not None:
        scope = scope.where(Case.coordinator_id == actor.user_id)
    # The scope as a correlated EXISTS over its own copy of the case table, so the planner
    # walks the meetings by start time and stops at ``limit``; ``case_id IN (scope)`` made
    # SQLite look up the meetings of every case in scope and sort them all.
    in_scope = scope.subquery()
    return (
        select(Meeting.starts_at, Meeting.kind, Meeting.location, Case.id, Case.reference)
        .join(Case, Case.id == Meeting.case_id)
        .where(
            exists().where(in_scope.c.id == Meeting.case_id),
            Meeting.held_at.is_(None),
            Meeting.cancelled_at.is_(None),
            Meeting.starts_at >= bindparam("upcoming_from"),
        )
        .order_by(Meeting.starts_at)
        .limit(limit)
    )
