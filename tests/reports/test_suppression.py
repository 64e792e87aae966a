"""The suppression policy and report periods, as pure functions."""

from __future__ import annotations

from datetime import date

import pytest

from sip_engine.reports.period import Period, PeriodError
from sip_engine.reports.suppression import Measure, secondary, show_column


def counts(*values: int) -> list[Measure]:
    return [Measure("count", value=v, in_partition=True) for v in values]


def test_small_counts_are_less_than_five_and_zero_is_zero() -> None:
    shown = show_column([Measure("count", value=v) for v in (0, 1, 4, 5, 123)])
    assert [s.text for s in shown] == ["0", "<5", "<5", "5", "123"]
    assert [s.number for s in shown] == [0, None, None, 5, 123]


@pytest.mark.parametrize(
    ("values", "hidden"),
    [
        ([10, 8, 3], {1}),  # 3 alone = total - 18; hide 8 as well
        ([10, 2, 1], set()),  # 2 and 1 sum to 3: (1,2) or (2,1)
        ([6, 5, 1], {0, 1}),  # with 5 hidden, 1 = 6 - 5 pinned; hide 6 too
        ([20, 1, 1], {0}),  # two cells summing to 2 are both 1; hide 20
        ([12, 9, 0, 0], set()),  # nothing small
        ([1, 0, 0], set()),  # nothing left to hide with (the total is then <5 itself)
    ],
)
def test_secondary_suppression(values: list[int], hidden: set[int]) -> None:
    assert secondary(values) == hidden


def test_secondary_cells_show_as_hidden_not_as_small() -> None:
    assert [s.text for s in show_column(counts(10, 8, 3))] == ["10", "döljs", "<5"]


def test_shares_hide_when_part_or_rest_is_small() -> None:
    def share(part: int, whole: int) -> str:
        return show_column([Measure("share", part=part, whole=whole)])[0].text

    assert share(0, 0) == "–"
    assert share(1, 1) == "döljs"  # part small
    assert share(18, 20) == "döljs"  # rest 2 small
    assert share(0, 10) == "0 %"
    assert share(10, 10) == "100 %"
    assert share(25, 40) == "63 %"  # 62.5 rounds half up


def test_days_hide_under_five_cases() -> None:
    def days(value: int | None, n: int) -> str:
        return show_column([Measure("days", value=value, whole=n)])[0].text

    assert days(None, 0) == "–"
    assert days(12, 4) == "döljs"
    assert days(12, 5) == "12"


@pytest.mark.parametrize(
    ("text", "start", "end", "previous"),
    [
        ("2026", date(2026, 1, 1), date(2027, 1, 1), "2025"),
        ("2026-K1", date(2026, 1, 1), date(2026, 4, 1), "2025-K4"),
        ("2026-q3", date(2026, 7, 1), date(2026, 10, 1), "2026-K2"),
        ("2026-01", date(2026, 1, 1), date(2026, 2, 1), "2025-12"),
        ("2026-12", date(2026, 12, 1), date(2027, 1, 1), "2026-11"),
    ],
)
def test_periods(text: str, start: date, end: date, previous: str) -> None:
    period = Period.parse(text)
    assert (period.start, period.end, period.previous.code) == (start, end, previous)
    assert Period.parse(period.code) == period


@pytest.mark.parametrize("text", ["", "26", "2026-13", "2026-K5", "2026-01-01..2026-02-01", "1999"])
def test_bad_periods(text: str) -> None:
    with pytest.raises(PeriodError):
        Period.parse(text)


def test_period_bounds_are_swedish_midnight() -> None:
    period = Period.parse("2026-07")
    assert period.start_utc.isoformat() == "2026-06-30T22:00:00+00:00"
    assert period.end_utc.isoformat() == "2026-07-31T22:00:00+00:00"
