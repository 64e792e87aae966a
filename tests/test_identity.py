from datetime import date

import pytest

from sip_engine.identity import (
    InvalidIdentityNumber,
    luhn_check_digit,
    make_identity_number,
    parse_identity_number,
)
from sip_engine.models import IdentityKind

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("raw", "normalised", "birth"),
    [
        ("811218-9876", "198112189876", date(1981, 12, 18)),
        ("19811218-9876", "198112189876", date(1981, 12, 18)),
        ("198112189876", "198112189876", date(1981, 12, 18)),
        ("20150315-2389", "201503152389", date(2015, 3, 15)),
        ("150315-2389", "201503152389", date(2015, 3, 15)),
    ],
)
def test_valid_personnummer_are_normalised(raw: str, normalised: str, birth: date) -> None:
    parsed = parse_identity_number(raw, today=TODAY)
    assert (parsed.normalised, parsed.birth_date) == (normalised, birth)
    assert parsed.kind is IdentityKind.PERSONNUMMER
    assert parsed.display == f"{normalised[:8]}-{normalised[8:]}"


def test_plus_means_a_hundred_years_or_more() -> None:
    assert parse_identity_number("811218+9876", today=TODAY).birth_date == date(1881, 12, 18)


def test_samordningsnummer_has_sixty_added_to_the_day() -> None:
    number = make_identity_number(date(2012, 5, 3), 456, coordination=True)
    parsed = parse_identity_number(number, today=TODAY)
    assert parsed.kind is IdentityKind.SAMORDNINGSNUMMER
    assert parsed.birth_date == date(2012, 5, 3)
    assert number[6:8] == "63"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("811218-9875", "Kontrollsiffran stämmer inte."),
        ("81121-9876", "Ange personnumret som ÅÅÅÅMMDD-NNNN."),
        ("abc", "Ange personnumret som ÅÅÅÅMMDD-NNNN."),
        (
            "20150230-" + "123" + str(luhn_check_digit("150230123")),
            "Födelsedatumet i numret finns inte.",
        ),
        (
            "20301010-" + "123" + str(luhn_check_digit("301010123")),
            "Födelsedatumet ligger i framtiden.",
        ),
    ],
)
def test_invalid_numbers_are_refused_with_a_reason(raw: str, message: str) -> None:
    with pytest.raises(InvalidIdentityNumber, match=message):
        parse_identity_number(raw, today=TODAY)


def test_generated_numbers_are_valid_for_many_dates() -> None:
    for serial in range(1, 1000, 37):
        birth = date(2006 + serial % 20, 1 + serial % 12, 1 + serial % 28)
        number = make_identity_number(birth, serial)
        assert parse_identity_number(number, today=TODAY).birth_date == birth


def test_serial_000_is_never_generated() -> None:
    with pytest.raises(ValueError, match="never issued"):
        make_identity_number(date(2012, 5, 3), 0)
