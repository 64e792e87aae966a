"""SQL helpers that read the same on SQLite and PostgreSQL: Swedish local time of a stored
UTC timestamp, day differences, months.

Timestamps are stored as naive UTC (models.base.UTCDateTime). PostgreSQL converts with its
time-zone database. SQLite has none, so the offset is chosen with a CASE over the EU summer
time rule (last Sunday of March to last Sunday of October, 01:00 UTC) for the years the
report can touch; outside them standard time (+1 h) is assumed.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Date, DateTime, Integer, case, cast, func, literal, literal_column
from sqlalchemy.orm import QueryableAttribute
from sqlalchemy.sql.elements import ColumnElement

from sip_engine.models import UTCDateTime

Column = ColumnElement[Any] | QueryableAttribute[Any]


def _last_sunday(year: int, month: int) -> date:
    day = date(year, month + 1, 1) - timedelta(days=1)
    return day - timedelta(days=(day.weekday() + 1) % 7)


def summer_time(year: int) -> tuple[datetime, datetime]:
    """When Swedish summer time begins and ends in ``year``, in UTC."""
    begin = datetime.combine(_last_sunday(year, 3), datetime.min.time(), UTC) + timedelta(hours=1)
    end = datetime.combine(_last_sunday(year, 10), datetime.min.time(), UTC) + timedelta(hours=1)
    return begin, end


class LocalTime:
    """Builds expressions for the Swedish calendar of UTC timestamp columns."""

    def __init__(self, dialect: str, years: range) -> None:
        self.postgresql = dialect == "postgresql"
        self.years = years

    def _sqlite_modifier(self, column: Column) -> ColumnElement[str]:
        whens = []
        for year in self.years:
            begin, end = summer_time(year)
            whens.append(
                (
                    (column >= literal(begin, UTCDateTime()))
                    & (column < literal(end, UTCDateTime())),
                    "+2 hours",
                )
            )
        return case(*whens, else_="+1 hours")

    def _pg_local(self, column: Column) -> ColumnElement[Any]:
        # Constants inline, not bound: PostgreSQL must see the GROUP BY expression as the
        # same text as the selected one.
        return func.timezone(
            literal_column("'Europe/Stockholm'"), func.timezone(literal_column("'UTC'"), column)
        )

    def date(self, column: Column) -> ColumnElement[Any]:
        """The Swedish calendar date (SQLite: 'YYYY-MM-DD' text, which compares with the
        dates SQLite stores; PostgreSQL: a date)."""
        if self.postgresql:
            return cast(self._pg_local(column), Date)
        return func.date(column, self._sqlite_modifier(column))

    def midnight_utc(self, day: Column) -> ColumnElement[Any]:
        """The UTC instant at which the Swedish calendar day ``day`` (a date column or
        expression) begins; compare stored timestamps with it instead of converting each of
        them, so that an index on the timestamp column stays usable."""
        if self.postgresql:
            return func.timezone(
                literal_column("'UTC'"),
                func.timezone(literal_column("'Europe/Stockholm'"), cast(day, DateTime)),
            )
        # Midnight is in summer time from the day after summer time begins (it begins at
        # 03:00 local on a Sunday) through the day it ends (at 03:00 local).
        whens = []
        for year in self.years:
            begin, end = summer_time(year)
            whens.append(
                ((day > begin.date().isoformat()) & (day <= end.date().isoformat()), "-2 hours")
            )
        return func.datetime(day, case(*whens, else_="-1 hours"))

    def end_of_day_utc(self, day: Column) -> ColumnElement[Any]:
        """The UTC instant at which the Swedish calendar day after ``day`` begins."""
        if self.postgresql:
            return self.midnight_utc(day + literal_column("1"))
        # The next midnight is in summer time for the days from the one summer time begins
        # up to the day before it ends (compared on the stored date, no function per WHEN).
        whens = []
        for year in self.years:
            begin, end = summer_time(year)
            whens.append(
                ((day >= begin.date().isoformat()) & (day < end.date().isoformat()), "-2 hours")
            )
        return func.datetime(day, "+1 day", case(*whens, else_="-1 hours"))

    def month(self, column: Column) -> ColumnElement[str]:
        """'YYYY-MM' of the Swedish calendar."""
        if self.postgresql:
            return func.to_char(self._pg_local(column), literal_column("'YYYY-MM'"))
        return func.strftime("%Y-%m", column, self._sqlite_modifier(column))

    def days_between(self, later: Column, earlier: Column) -> ColumnElement[int]:
        """Calendar days in Swedish time from ``earlier`` to ``later`` (same day = 0)."""
        if self.postgresql:
            return cast(self.date(later) - self.date(earlier), Integer)
        return cast(func.julianday(self.date(later)) - func.julianday(self.date(earlier)), Integer)
