"""Swedish personal identity numbers: personnummer and samordningsnummer.

Accepted forms: ``YYMMDD-NNNC``, ``YYMMDD+NNNC`` (100 years or older), ``YYYYMMDDNNNC`` and
``YYYYMMDD-NNNC``. The check digit is the Luhn digit of the ten-digit form; a samordningsnummer
has 60 added to the day. Numbers are stored normalised as twelve digits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sip_engine.models.enums import IdentityKind

_PATTERN = re.compile(r"^(\d{2})?(\d{2})(\d{2})(\d{2})([-+]?)(\d{3})(\d)$")


class InvalidIdentityNumber(ValueError):
    """The number is malformed, names an impossible date, or has the wrong check digit."""


@dataclass(frozen=True)
class IdentityNumber:
    normalised: str  # twelve digits
    kind: IdentityKind
    birth_date: date

    @property
    def display(self) -> str:
        return f"{self.normalised[:8]}-{self.normalised[8:]}"


def luhn_check_digit(nine_digits: str) -> int:
    total = 0
    for index, char in enumerate(nine_digits):
        product = int(char) * (2 if index % 2 == 0 else 1)
        total += product - 9 if product > 9 else product
    return (10 - total % 10) % 10


def parse_identity_number(raw: str, *, today: date) -> IdentityNumber:
    """Validate and normalise; ``today`` decides the century of a ten-digit number."""
    text = raw.strip().replace(" ", "")
    match = _PATTERN.match(text)
    if not match:
        raise InvalidIdentityNumber("Ange personnumret som ÅÅÅÅMMDD-NNNN.")
    century, yy, mm, dd, sep, serial, check = match.groups()
    if luhn_check_digit(f"{yy}{mm}{dd}{serial}") != int(check):
        raise InvalidIdentityNumber("Kontrollsiffran stämmer inte.")
    day = int(dd)
    kind = IdentityKind.PERSONNUMMER
    if day > 60:
        day -= 60
        kind = IdentityKind.SAMORDNINGSNUMMER
    if century is None:
        year = today.year // 100 * 100 + int(yy)
        if year > today.year:
            year -= 100
        if sep == "+":
            year -= 100
    else:
        year = int(century + yy)
    try:
        birth = date(year, int(mm), day)
    except ValueError:
        raise InvalidIdentityNumber("Födelsedatumet i numret finns inte.") from None
    if birth > today:
        raise InvalidIdentityNumber("Födelsedatumet ligger i framtiden.")
    return IdentityNumber(f"{year:04d}{mm}{dd}{serial}{check}", kind, birth)


def make_identity_number(birth: date, serial: int, *, coordination: bool = False) -> str:
    """A number valid in form, for demo data and tests (fictional people)."""
    if not 1 <= serial <= 999:
        raise ValueError("serial must be 1–999 (000 is never issued)")
    day = birth.day + (60 if coordination else 0)
    stem = f"{birth.year % 100:02d}{birth.month:02d}{day:02d}{serial:03d}"
    return f"{birth.year:04d}{birth.month:02d}{day:02d}{serial:03d}{luhn_check_digit(stem)}"
