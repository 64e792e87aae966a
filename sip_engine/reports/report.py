"""Builds the SIP report: every figure for a period and the previous one, the monthly trend
and the figures per area, with the suppression policy applied. The page, the CSV, the printed
årsrapport and ``sip-engine report`` all show this one object."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.orm import Session

from sip_engine.models import Case, NosamArea
from sip_engine.workflow import WorkflowRegistry

from .figures import FIGURES, Row, Scope, sum_if
from .period import MONTHS_SV, Period
from .sql import LocalTime
from .suppression import Measure, Shown, show_column


@dataclass(frozen=True)
class TableRow:
    key: str
    label: str
    cells: list[Shown]


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    columns: list[str]
    rows: list[TableRow]
    note: str = ""

    def column(self, index: int) -> list[Shown]:
        return [r.cells[index] for r in self.rows]


@dataclass
class Report:
    period: Period
    area: NosamArea | None
    tables: list[Table] = field(default_factory=list)

    @property
    def area_label(self) -> str:
        return self.area.name if self.area else "Alla NOSAM-områden"

    def table(self, key: str) -> Table | None:
        return next((t for t in self.tables if t.key == key), None)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form: only published values (text, and the number unless hidden)."""
        return {
            "period": self.period.code,
            "period_label": self.period.label,
            "previous_period": self.period.previous.code,
            "area": self.area.name if self.area else None,
            "tables": [
                {
                    "key": t.key,
                    "title": t.title,
                    "columns": t.columns,
                    "note": t.note,
                    "rows": [
                        {
                            "key": r.key,
                            "label": r.label,
                            "values": [{"text": c.text, "number": c.number} for c in r.cells],
                        }
                        for r in t.rows
                    ],
                }
                for t in self.tables
            ],
        }


def _shown_table(
    key: str, title: str, columns: list[str], rows: list[tuple[str, str, list[Measure]]], note: str
) -> Table:
    shown_columns = [
        show_column([measures[i] for _, _, measures in rows]) for i in range(len(columns))
    ]
    return Table(
        key,
        title,
        columns,
        [
            TableRow(row_key, label, [shown_columns[i][n] for i in range(len(columns))])
            for n, (row_key, label, _) in enumerate(rows)
        ],
        note,
    )


def _compare(current: list[Row], previous: list[Row]) -> list[tuple[str, str, list[Measure]]]:
    assert [r.key for r in current] == [r.key for r in previous], "figure rows must line up"
    return [
        (c.key, c.label, [c.measure, p.measure]) for c, p in zip(current, previous, strict=True)
    ]


def _monthly(scope: Scope) -> Table:
    """SIPs started and closed per month of the period (the trend chart's numbers)."""
    month = scope.local.month
    started: dict[str, int] = dict(
        scope.session.execute(
            scope.in_area(
                select(month(Case.opened_at), func.count())
                .where(scope.opened_in_period())
                .group_by(month(Case.opened_at))
            )
        ).all()
    )
    closed: dict[str, int] = dict(
        scope.session.execute(
            scope.in_area(
                select(month(Case.closed_at), func.count())
                .where(Case.closed_at >= scope.start, Case.closed_at < scope.end)
                .group_by(month(Case.closed_at))
            )
        ).all()
    )
    rows = []
    for start in scope.period.month_starts():
        code = f"{start.year}-{start.month:02d}"
        rows.append(
            (
                code,
                f"{MONTHS_SV[start.month - 1].capitalize()} {start.year}",
                [
                    Measure("count", value=int(started.get(code, 0)), in_partition=True),
                    Measure("count", value=int(closed.get(code, 0)), in_partition=True),
                ],
            )
        )
    return _shown_table(
        "per_manad", f"SIP per månad, {scope.period.label}", ["Startade", "Avslutade"], rows, ""
    )


def _per_area(scope: Scope, areas: list[NosamArea]) -> Table:
    active = and_(
        Case.opened_at < scope.end, or_(Case.closed_at.is_(None), Case.closed_at >= scope.start)
    )

    stmt = (
        select(
            Case.nosam_area_id,
            sum_if(scope.opened_in_period()),
            func.count(),
            sum_if(and_(Case.closed_at >= scope.start, Case.closed_at < scope.end)),
        )
        .where(active)
        .group_by(Case.nosam_area_id)
    )
    counts = {area_id: (s, a, c) for area_id, s, a, c in scope.session.execute(stmt)}
    rows = [
        (
            str(area.id),
            area.name,
            [
                Measure("count", value=int(v), in_partition=True)
                for v in counts.get(area.id, (0, 0, 0))
            ],
        )
        for area in areas
    ]
    return _shown_table(
        "per_omrade",
        f"SIP per NOSAM-område, {scope.period.label}",
        ["Startade", "Pågående", "Avslutade"],
        rows,
        "",
    )


def areas(session: Session) -> list[NosamArea]:
    return list(session.scalars(select(NosamArea).order_by(NosamArea.name)))


def build_report(
    session: Session,
    period: Period,
    area: NosamArea | None,
    *,
    today: date,
    registry: WorkflowRegistry,
) -> Report:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # These aggregates run in tens of milliseconds; PostgreSQL's JIT would spend about
        # as long compiling each of them (their cost estimates pass jit_above_cost).
        session.execute(text("SET LOCAL jit = off"))
    # The years whose summer time SQLite needs: the cases of a report can reach back a few
    # years (a first meeting long after the case was opened).
    years = range(period.previous.start.year - 5, period.end.year + 2)
    local = LocalTime(dialect, years)

    def scope(p: Period) -> Scope:
        return Scope(session, p, area.id if area else None, today, local, registry)

    current, previous = scope(period), scope(period.previous)
    report = Report(period, area)
    columns = [period.label, f"Föregående: {period.previous.label}"]
    for figure in FIGURES:
        report.tables.append(
            _shown_table(
                figure.key,
                figure.title,
                columns,
                _compare(figure.compute(current), figure.compute(previous)),
                figure.note,
            )
        )
    report.tables.append(_monthly(current))
    if area is None:
        report.tables.append(_per_area(current, areas(session)))
    return report
