"""Report periods: a calendar year, quarter or month, in Swedish time.

Only calendar units are offered, not arbitrary from–to dates: two from–to reports a day apart
would give the count of that one day by subtraction, which defeats the suppression of small
counts (see ``suppression``). The previous period is the same unit immediately before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from sip_engine.clock import STOCKHOLM

MONTHS_SV = (
    "januari",
    "februari",
    "mars",
    "april",
    "maj",
    "juni",
    "juli",
    "augusti",
    "september",
    "oktober",
    "november",
    "december",
)
MONTHS_SHORT_SV = (
    "jan",
    "feb",
    "mar",
    "apr",
    "maj",
    "jun",
    "jul",
    "aug",
    "sep",
    "okt",
    "nov",
    "dec",
)

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-[KkQq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")

MIN_YEAR, MAX_YEAR = 2000, 2100


class PeriodError(ValueError):
    pass


def _month_index(year: int, month: int) -> int:
    return year * 12 + month - 1


def _from_month_index(index: int) -> date:
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    """``months`` calendar months from ``start`` (1 = month, 3 = quarter, 12 = year)."""

    start: date
    months: int

    @classmethod
    def parse(cls, text: str) -> Period:
        """``2026`` (year), ``2026-K1`` or ``2026-Q1`` (quarter), ``2026-03`` (month)."""
        value = text.strip()
        if m := _YEAR.match(value):
            period = cls(date(int(m[1]), 1, 1), 12)
        elif m := _QUARTER.match(value):
            period = cls(date(int(m[1]), 3 * int(m[2]) - 2, 1), 3)
        elif (m := _MONTH.match(value)) and 1 <= int(m[2]) <= 12:
            period = cls(date(int(m[1]), int(m[2]), 1), 1)
        else:
            raise PeriodError(
                "Ange perioden som år (2026), kvartal (2026-K1) eller månad (2026-03)."
            )
        if not MIN_YEAR <= period.start.year <= MAX_YEAR:
            raise PeriodError(f"Året ska vara mellan {MIN_YEAR} och {MAX_YEAR}.")
        return period

    @property
    def end(self) -> date:
        """The first day after the period."""
        return _from_month_index(_month_index(self.start.year, self.start.month) + self.months)

    @property
    def previous(self) -> Period:
        index = _month_index(self.start.year, self.start.month) - self.months
        return Period(_from_month_index(index), self.months)

    @property
    def start_utc(self) -> datetime:
        return local_midnight_utc(self.start)

    @property
    def end_utc(self) -> datetime:
        return local_midnight_utc(self.end)

    def month_starts(self) -> list[date]:
        first = _month_index(self.start.year, self.start.month)
        return [_from_month_index(first + i) for i in range(self.months)]

    @property
    def code(self) -> str:
        """The text :meth:`parse` reads back."""
        if self.months == 12:
            return f"{self.start.year}"
        if self.months == 3:
            return f"{self.start.year}-K{(self.start.month - 1) // 3 + 1}"
        return f"{self.start.year}-{self.start.month:02d}"

    @property
    def label(self) -> str:
        if self.months == 12:
            return f"{self.start.year}"
        if self.months == 3:
            return f"kvartal {(self.start.month - 1) // 3 + 1} {self.start.year}"
        return f"{MONTHS_SV[self.start.month - 1]} {self.start.year}"


def local_midnight_utc(day: date) -> datetime:
    """The instant a Swedish calendar day begins, in UTC (the database stores UTC)."""
    return datetime.combine(day, time(0), STOCKHOLM).astimezone(UTC)
