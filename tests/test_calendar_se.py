from datetime import date

import pytest

from sip_engine.calendar_se import add_working_days, easter_sunday, is_working_day, swedish_holidays


@pytest.mark.parametrize(
    ("year", "easter"),
    [
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2038, date(2038, 4, 25)),
    ],
)
def test_easter(year: int, easter: date) -> None:
    assert easter_sunday(year) == easter


def test_holidays_of_2026() -> None:
    holidays = swedish_holidays(2026)
    assert holidays[date(2026, 4, 3)] == "Långfredagen"
    assert holidays[date(2026, 5, 14)] == "Kristi himmelsfärdsdag"
    assert holidays[date(2026, 6, 19)] == "Midsommarafton"
    assert holidays[date(2026, 6, 20)] == "Midsommardagen"
    assert holidays[date(2026, 10, 31)] == "Alla helgons dag"
    assert len(holidays) == 16


def test_working_days_skip_weekends_and_holidays() -> None:
    assert not is_working_day(date(2026, 4, 6))  # Annandag påsk
    assert is_working_day(date(2026, 4, 7))
    # Thursday before Easter + 1 working day = Tuesday after Easter.
    assert add_working_days(date(2026, 4, 2), 1) == date(2026, 4, 7)
    assert add_working_days(date(2026, 4, 7), -1) == date(2026, 4, 2)
    # Over Christmas and New Year 2026: 23 Dec (Wed) + 3 working days = 30 Dec... 28, 29, 30.
    assert add_working_days(date(2026, 12, 23), 3) == date(2026, 12, 30)
    assert add_working_days(date(2026, 3, 2), 0) == date(2026, 3, 2)
