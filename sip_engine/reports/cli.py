"""``sip-engine report``: the report as JSON or text, built by the same code as the page."""

from __future__ import annotations

import json
import sys

import click
from sqlalchemy import func, select

from sip_engine.clock import local_date
from sip_engine.models import NosamArea
from sip_engine.runtime import Runtime

from .period import Period, PeriodError
from .report import build_report


def print_report(runtime: Runtime, period_text: str, area_name: str | None, as_json: bool) -> None:
    try:
        period = Period.parse(period_text)
    except PeriodError as exc:
        raise click.BadParameter(str(exc), param_hint="--period") from exc
    with runtime.sessions() as session:
        area = None
        if area_name:
            area = session.scalars(
                select(NosamArea).where(func.lower(NosamArea.name) == area_name.strip().lower())
            ).first()
            if area is None:
                known = ", ".join(session.scalars(select(NosamArea.name).order_by(NosamArea.name)))
                click.echo(f"Okänt NOSAM-område: {area_name}. Finns: {known}", err=True)
                sys.exit(2)
        report = build_report(
            session,
            period,
            area,
            today=local_date(runtime.clock.now()),
            registry=runtime.registry,
        )
    if as_json:
        click.echo(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"{report.area_label}, {period.label}")
    for table in report.tables:
        click.echo(f"\n{table.title}")
        width = max(len(r.label) for r in table.rows)
        click.echo(" " * width + "".join(f"  {c:>18}" for c in table.columns))
        for row in table.rows:
            click.echo(row.label.ljust(width) + "".join(f"  {c.text:>18}" for c in row.cells))
