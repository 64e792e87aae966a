"""Reports for NOSAM and the årsrapport (roles chef and admin; others get 404 as elsewhere).

Only aggregates leave the database; every view shows the same ``Report`` (see
sip_engine.reports), and each read is audited without any case id.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from sip_engine.clock import local_date
from sip_engine.models import NosamArea, Role
from sip_engine.reports import Period, PeriodError, Report, areas, build_report
from sip_engine.reports.charts import bar_chart, column_chart
from sip_engine.reports.export import report_csv
from sip_engine.reports.period import MONTHS_SHORT_SV

from .context import audit, db, now, require_role, runtime
from .forms import parse_int

bp = Blueprint("reports", __name__, url_prefix="/rapporter")

READERS = (Role.CHEF, Role.ADMIN)


@dataclass
class Choice:
    period_text: str
    area_text: str
    period: Period | None
    area: NosamArea | None
    errors: dict[str, str]


def _choice() -> Choice:
    """The period and area asked for; errors per field when they make no sense."""
    errors: dict[str, str] = {}
    period_text = (request.args.get("period") or str(local_date(now()).year)).strip()
    area_text = (request.args.get("omrade") or "").strip()
    period: Period | None = None
    try:
        period = Period.parse(period_text)
    except PeriodError as exc:
        errors["period"] = str(exc)
    area: NosamArea | None = None
    if area_text:
        area_id = parse_int(area_text)
        area = db().get(NosamArea, area_id) if area_id is not None else None
        if area is None:
            errors["omrade"] = "Välj ett NOSAM-område i listan."
    return Choice(period_text, area_text, period, area, errors)


def _report(choice: Choice) -> Report:
    assert choice.period is not None
    return build_report(
        db(),
        choice.period,
        choice.area,
        today=local_date(now()),
        registry=runtime().registry,
    )


def _charts(report: Report) -> dict[str, str]:
    charts: dict[str, str] = {}
    monthly = report.table("per_manad")
    if monthly is not None:
        labels = [MONTHS_SHORT_SV[int(r.key[5:7]) - 1] for r in monthly.rows]
        charts["per_manad"] = column_chart("chart-per-manad", monthly.title, monthly, labels)
    per_area = report.table("per_omrade")
    if per_area is not None:
        charts["per_omrade"] = bar_chart("chart-per-omrade", f"Startade {per_area.title}", per_area)
    return charts


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    require_role(*READERS)
    choice = _choice()
    report = None if choice.errors else _report(choice)
    if report is not None:
        audit("report_view")
    return render_template(
        "reports/index.html",
        choice=choice,
        report=report,
        charts=_charts(report) if report else {},
        areas=areas(db()),
    ), (400 if choice.errors else 200)


@bp.route("/export.csv")
@login_required
def export_csv() -> ResponseReturnValue:
    require_role(*READERS)
    choice = _choice()
    if choice.errors:
        abort(400)
    report = _report(choice)
    table = request.args.get("tabell") or None
    if table is not None and report.table(table) is None:
        abort(404)
    audit("report_csv")
    name = f"sip-rapport-{report.period.code}-{table or 'alla'}.csv"
    return Response(
        report_csv(report, table),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.route("/arsrapport")
@login_required
def annual() -> ResponseReturnValue:
    """The årsrapport of one NOSAM area (or all), laid out for print."""
    require_role(*READERS)
    choice = _choice()
    if choice.errors:
        abort(400)
    report = _report(choice)
    audit("report_print")
    return render_template("reports/arsrapport.html", report=report, charts=_charts(report))
