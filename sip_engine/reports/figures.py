"""The figures of the SIP report, each one SQL aggregate over the database.

A figure is a function ``(Scope) -> list[Row]`` plus one entry in :data:`FIGURES`; the report
runs it for the chosen period and for the previous one and puts them side by side. Rows must
come back with the same keys in the same order for any period (zeros included), so that the
two columns line up.

Definitions (also in the README, "Rapporter"):

* A case *belongs* to the NOSAM area recorded on it (``sip_case.nosam_area_id``).
* *Startade*: opened in the period. *Pågående*: opened before the period ended and not closed
  before it began. *Avslutade*: closed in the period.
* *Skäl*: the reasons recorded in step 1 of the cases started in the period; a case with two
  reasons counts under both.
* *Vem väckte behovet*: ``sip_case.raised_by``, recorded in step 1 (upptäck) as the party that
  raised the need (socialtjänst, skola, region, familj, annan). The initiativtagare function
  role on a participant is not used: it is optional and can change later.
* *Dagar till första SIP-mötet*: Swedish calendar days from the day the case was opened (it
  enters *upptäck* then) to the day the first held SIP meeting started; counted for the cases
  whose first meeting started in the period. Median and 90th percentile by the nearest-rank
  method: the value at rank ⌈p·n⌉ of the n values in ascending order (so the median of an even
  count is the lower middle value, and every figure is a wait that occurred).
* *Barnet deltog*: meetings (SIP and follow-up) that started in the period, were held, and
  have it recorded whether the child took part.
* *Uppföljningar i tid*: every adopted plan version whose next follow-up date fell in the
  period and has passed (before today), unless the case was closed before that date; held in
  time when a follow-up meeting of the case, not cancelled, started after the plan was adopted
  and on or before the follow-up date (Swedish calendar day).
* *Avslutsskäl*: the close reason of the cases closed in the period.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy import Select, String, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload
from sqlalchemy.sql.elements import ColumnElement

from sip_engine.models import Case, Meeting, MeetingKind, Placement, PlanVersion, RaisedBy
from sip_engine.services.cases import SIP_REASONS
from sip_engine.services.placements import exams_outcome
from sip_engine.workflow import WorkflowRegistry

from .period import Period
from .sql import LocalTime
from .suppression import Measure

S = TypeVar("S", bound=Select[Any] | Select[Any, Any] | Select[Any, Any, Any])

RAISED_BY_LABELS = {
    RaisedBy.SOCIALTJANST: "Socialtjänst",
    RaisedBy.SKOLA: "Skola",
    RaisedBy.REGION: "Region",
    RaisedBy.FAMILJ: "Familjen",
    RaisedBy.ANNAN: "Annan",
}


@dataclass(frozen=True)
class Scope:
    """What one run of a figure looks at: a period, one area or all, and today's date."""

    session: Session
    period: Period
    area_id: int | None
    today: date
    local: LocalTime
    registry: WorkflowRegistry

    @property
    def close_reasons(self) -> Mapping[str, str]:
        return self.registry.latest("sip").close_reasons

    @property
    def start(self) -> datetime:
        return self.period.start_utc

    @property
    def end(self) -> datetime:
        return self.period.end_utc

    def in_area(self, stmt: S) -> S:
        if self.area_id is None:
            return stmt
        return stmt.where(Case.nosam_area_id == self.area_id)  # type: ignore[return-value]

    def opened_in_period(self) -> ColumnElement[bool]:
        return and_(Case.opened_at >= self.start, Case.opened_at < self.end)


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    measure: Measure


def _count(key: str, label: str, value: int | None, *, part: bool = False) -> Row:
    return Row(key, label, Measure("count", value=int(value or 0), in_partition=part))


def sum_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def overview(q: Scope) -> list[Row]:
    """Started, active and closed, in one pass over the cases active in the period."""
    active = and_(Case.opened_at < q.end, or_(Case.closed_at.is_(None), Case.closed_at >= q.start))
    stmt = q.in_area(
        select(
            sum_if(q.opened_in_period()),
            func.count(),
            sum_if(and_(Case.closed_at >= q.start, Case.closed_at < q.end)),
        ).where(active)
    )
    started, active_count, closed = q.session.execute(stmt).one()
    return [
        _count("startade", "Startade SIP", started),
        _count("pagaende", "Pågående SIP under perioden", active_count),
        _count("avslutade", "Avslutade SIP", closed),
    ]


def by_reason(q: Scope) -> list[Row]:
    # Reasons are a JSON list of known codes; a quoted code matches only that element, so one
    # pass with a conditional sum per code works the same on both databases.
    reasons_text = cast(Case.reasons, String)
    columns = [sum_if(reasons_text.like(f'%"{code}"%')) for code in SIP_REASONS]
    values = q.session.execute(q.in_area(select(*columns).where(q.opened_in_period()))).one()
    # A case may have several reasons, so the rows add up to at least the cases started, not
    # exactly; suppressing them as a partition of that total is the safe side (a hidden cell
    # could otherwise be pinned when the shown ones fall just short of the total).
    return [
        _count(code, label, value, part=True)
        for (code, label), value in zip(SIP_REASONS.items(), values, strict=True)
    ]


def by_raised_by(q: Scope) -> list[Row]:
    stmt = q.in_area(
        select(Case.raised_by, func.count()).where(q.opened_in_period()).group_by(Case.raised_by)
    )
    counts = {RaisedBy(k): n for k, n in q.session.execute(stmt)}
    return [
        _count(kind.value, label, counts.get(kind), part=True)
        for kind, label in RAISED_BY_LABELS.items()
    ]


def days_to_first_meeting(q: Scope) -> list[Row]:
    # The held SIP meetings that started in the period (an index range on starts_at) and have
    # no earlier held SIP meeting in their case: each case's first, without grouping every
    # meeting ever held.
    earlier = aliased(Meeting)
    first_held = and_(Meeting.kind == MeetingKind.SIP, Meeting.held_at.is_not(None))
    days = q.local.days_between(Meeting.starts_at, Case.opened_at).label("days")
    waits = q.in_area(
        select(days)
        .select_from(Meeting)
        .join(Case, Case.id == Meeting.case_id)
        .where(
            first_held,
            Meeting.starts_at >= q.start,
            Meeting.starts_at < q.end,
            ~exists().where(
                earlier.case_id == Meeting.case_id,
                earlier.kind == MeetingKind.SIP,
                earlier.held_at.is_not(None),
                earlier.starts_at < Meeting.starts_at,
            ),
        )
    ).subquery()
    ranked = select(
        waits.c.days,
        func.row_number().over(order_by=waits.c.days).label("rn"),
        func.count().over().label("n"),
    ).subquery()
    # Nearest rank ⌈p·n⌉ in integer arithmetic: ⌈n/2⌉ = (n+1)/2, ⌈9n/10⌉ = (9n+9)/10.
    stmt = select(
        func.max(ranked.c.n),
        func.max(case((ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.days))),
        func.max(case((ranked.c.rn == (9 * ranked.c.n + 9) // 10, ranked.c.days))),
    )
    n, median, p90 = q.session.execute(stmt).one()
    n = int(n or 0)
    return [
        _count("antal", "Ärenden med första SIP-mötet under perioden", n),
        Row("median", "Median, dagar", Measure("days", value=median, whole=n)),
        Row("p90", "90:e percentilen, dagar", Measure("days", value=p90, whole=n)),
    ]


def child_took_part(q: Scope) -> list[Row]:
    held = and_(
        Meeting.held_at.is_not(None), Meeting.starts_at >= q.start, Meeting.starts_at < q.end
    )
    stmt = q.in_area(
        select(
            sum_if(Meeting.child_attended.is_(True)),
            sum_if(Meeting.child_attended.is_(False)),
            sum_if(Meeting.child_attended.is_(None)),
        )
        .select_from(Meeting)
        .join(Case, Case.id == Meeting.case_id)
        .where(held)
    )
    took_part, did_not, unrecorded = (int(v) for v in q.session.execute(stmt).one())
    recorded = took_part + did_not
    return [
        _count("registrerade", "Hållna möten där barnets deltagande registrerats", recorded),
        _count("deltog", "Barnet deltog", took_part, part=True),
        _count("deltog_inte", "Barnet deltog inte", did_not, part=True),
        Row(
            "andel",
            "Andel möten där barnet deltog",
            Measure("share", part=took_part, whole=recorded),
        ),
        _count(
            "ej_registrerat", "Hållna möten utan registrering av barnets deltagande", unrecorded
        ),
    ]


def follow_ups_on_time(q: Scope) -> list[Row]:
    last_due = min(q.period.end, q.today)  # only dates that have passed can be judged
    follow_up = aliased(Meeting)
    # One pass: each due plan left-joined to the follow-up meetings that meet it (the case's
    # meetings by index), grouped per plan. An EXISTS per plan costs PostgreSQL several times
    # as much, and a separate IN (...) scans the plans twice.
    per_plan = (
        q.in_area(
            select(func.count(follow_up.id).label("met"))
            .select_from(PlanVersion)
            .join(Case, Case.id == PlanVersion.case_id)
            .outerjoin(
                follow_up,
                and_(
                    follow_up.case_id == PlanVersion.case_id,
                    follow_up.kind == MeetingKind.UPPFOLJNING,
                    follow_up.cancelled_at.is_(None),
                    follow_up.starts_at > PlanVersion.adopted_at,
                    # on or before the due date: before the next Swedish midnight
                    follow_up.starts_at < q.local.end_of_day_utc(PlanVersion.next_follow_up),
                ),
            )
            .where(
                PlanVersion.adopted_at.is_not(None),
                PlanVersion.next_follow_up >= q.period.start,
                PlanVersion.next_follow_up < last_due,
                or_(
                    Case.closed_at.is_(None),
                    Case.closed_at >= q.local.midnight_utc(PlanVersion.next_follow_up),
                ),
            )
        )
        # "+ 0": grouping by the bare id lets SQLite scan every plan in rowid order to skip
        # a sort, instead of the index range on the due date.
        .group_by(PlanVersion.id + 0)
        .subquery()
    )
    stmt = select(sum_if(per_plan.c.met > 0), func.count()).select_from(per_plan)
    held, due = (int(v or 0) for v in q.session.execute(stmt).one())
    return [
        _count("forfallna", "Uppföljningar som skulle hållas", due),
        _count("i_tid", "Hölls senast på sitt datum", held, part=True),
        _count("inte_i_tid", "Hölls inte i tid", due - held, part=True),
        Row("andel", "Andel i tid", Measure("share", part=held, whole=due)),
    ]


def by_close_reason(q: Scope) -> list[Row]:
    stmt = q.in_area(
        select(Case.close_reason, func.count())
        .where(Case.closed_at >= q.start, Case.closed_at < q.end)
        .group_by(Case.close_reason)
    )
    counts = {k: n for k, n in q.session.execute(stmt)}
    rows = [
        _count(code, label, counts.pop(code, 0), part=True)
        for code, label in q.close_reasons.items()
    ]
    # Codes no longer in the workflow definition are still counted, never dropped.
    other = sum(counts.values())
    rows.append(_count("ovrigt", "Annat eller okänt skäl", other, part=True))
    return rows


def health_exams_in_time(q: Scope) -> list[Row]:
    # Judged per placement in Python with the dashboard's own rule (exams_outcome): the
    # deadline is workflow data, and a year has hundreds of placements, not thousands.
    stmt = q.in_area(
        select(Placement)
        .join(Case, Case.id == Placement.case_id)
        .where(Placement.start_date >= q.period.start, Placement.start_date < q.period.end)
        .options(selectinload(Placement.health_exams))
    )
    outcomes = [
        exams_outcome(q.registry, placement.health_exams, q.today)
        for placement in q.session.scalars(stmt)
    ]
    in_time, late = outcomes.count(True), outcomes.count(False)
    return [
        _count("placeringar", "Placeringar som började under perioden", len(outcomes)),
        _count("i_tid", "Båda delarna klara inom 28 dagar", in_time, part=True),
        _count("inte_i_tid", "Någon del inte klar inom 28 dagar", late, part=True),
        _count(
            "avgors_senare",
            "Ännu inom tidsfristen",
            len(outcomes) - in_time - late,
            part=True,
        ),
        Row(
            "andel",
            "Andel klara inom 28 dagar (av de avgjorda)",
            Measure("share", part=in_time, whole=in_time + late),
        ),
    ]


@dataclass(frozen=True)
class Figure:
    key: str
    title: str
    compute: Callable[[Scope], list[Row]]
    note: str = ""


# The report's figures, in the order shown. A new figure: one function above, one line here.
FIGURES: list[Figure] = [
    Figure("oversikt", "SIP startade, pågående och avslutade", overview),
    Figure(
        "skal",
        "Startade SIP efter skäl",
        by_reason,
        "Ett ärende med flera skäl räknas under vart och ett.",
    ),
    Figure("initiativ", "Startade SIP efter vem som väckte behovet", by_raised_by),
    Figure(
        "tid_till_mote",
        "Dagar från upptäck till första SIP-mötet",
        days_to_first_meeting,
        "Kalenderdagar från att ärendet öppnades till första hållna SIP-mötet. "
        "Median och 90:e percentil enligt närmaste rang.",
    ),
    Figure("barnet_deltog", "Möten där barnet deltog", child_took_part),
    Figure(
        "uppfoljning",
        "Uppföljningar hållna senast på sitt datum",
        follow_ups_on_time,
        "Uppföljningsdatum under perioden som har passerat, "
        "för ärenden som inte avslutats före datumet.",
    ),
    Figure("avslut", "Avslutade SIP efter avslutsskäl", by_close_reason),
    Figure(
        "halsoundersokning",
        "Placerade barn: båda delarna av hälsoundersökningen inom 28 dagar",
        health_exams_in_time,
        "Placeringar som började under perioden, i ärenden i området. En del räknas som klar "
        "i tid när undersökningen är genomförd senast 28 dagar efter begäran, eller när den "
        "markerats obehövlig.",
    ),
]
