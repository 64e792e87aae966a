"""Reading HTML form input into typed values, collecting Swedish messages per field.

Most forms here are plain HTML (CSRF is enforced for every POST by CSRFProtect); what the
user typed is handed back to the template on error, so nothing typed is lost.

Every number, date and text the web layer reads from a form, a query string or a path goes
through here, so malformed input is a message on its field and never reaches the database or
date arithmetic (where it would be a 500): integers are ASCII digits within the range of the
database's INTEGER, dates lie in a range every conversion and addition can take, and text has no NUL
(PostgreSQL rejects it).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from flask import request
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BaseConverter, ValidationError

from sip_engine.clock import STOCKHOLM

# The largest number any column of ours holds: ids, versions and counts are INTEGER, 32 bits
# on PostgreSQL (SQLAlchemy binds them as ``::INTEGER``, so a larger number is an error there,
# not a miss). A number beyond it names nothing, and is refused before any query.
MAX_DB_INT = 2**31 - 1
_MAX_DIGITS = len(str(2**63 - 1))  # longer is no number: not even parsed

# Dates a person can mean here. Outside this range converting to UTC or adding a duration or a
# year overflows Python's date (0001-01-01 ... 9999-12-31), so the range is checked on input.
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2199, 12, 31)
DAY_RANGE_MESSAGE = (
    f"Datumet måste ligga mellan {EARLIEST_DAY.isoformat()} och {LATEST_DAY.isoformat()}."
)
INVALID_TEXT_MESSAGE = "Texten innehåller ett otillåtet tecken."
INVALID_CHOICE_MESSAGE = "Ogiltigt val."


def parse_int(raw: str | None, *, minimum: int = 0, maximum: int = MAX_DB_INT) -> int | None:
    """A whole number typed as ASCII digits within [minimum, maximum], else None.

    ``str.isdigit`` accepts "²" (``int`` then fails) and ``str.isdecimal`` alone accepts other
    scripts' digits ("٣"): neither is a number a form of ours sends."""
    text = (raw or "").strip()
    if not text or len(text) > _MAX_DIGITS or not (text.isascii() and text.isdecimal()):
        return None
    value = int(text)
    return value if minimum <= value <= maximum else None


def has_nul(text: str) -> bool:
    return "\x00" in text


class IdConverter(BaseConverter):
    """The app's ``<int:...>``: ASCII digits, a positive number no larger than an id can be
    (``MAX_DB_INT``). Anything else does not match the route (a 404), instead of reaching the
    database as an integer it cannot take (a 500)."""

    regex = rf"[0-9]{{1,{_MAX_DIGITS}}}"
    part_isolating = True
    weight = 50  # as Werkzeug's own number converters

    def to_python(self, value: str) -> int:
        number = parse_int(value, minimum=1)
        if number is None:
            raise ValidationError()
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


class TriggerConverter(BaseConverter):
    """``<trigger:...>``: a workflow trigger's name, lower-case ASCII. Anything else (a NUL,
    another script, a page of text) names no trigger and is a 404, instead of reaching the
    refusal the history records (PostgreSQL rejects NUL in text)."""

    regex = r"[a-z][a-z0-9_]{0,59}"
    part_isolating = True


class TextForm(FlaskForm):
    """A Flask-WTF form (the sign-in form) held to the same rules as ``FormReader``: it reads
    the posted text fields only, never an uploaded file or a JSON body in a field's place
    (Flask-WTF would hand a file object to a text field), and text with NUL is an error."""

    class Meta(FlaskForm.Meta):
        def wrap_formdata(self, form: Any, formdata: Any) -> Any:
            return request.form if request.method == "POST" else None

    def validate(self, extra_validators: Any = None) -> bool:
        valid: bool = super().validate(extra_validators)
        for form_field in self:
            if isinstance(form_field.data, str) and has_nul(form_field.data):
                form_field.errors = [*form_field.errors, INVALID_TEXT_MESSAGE]
                valid = False
        return valid


class FormReader:
    """Reads one form (or a query string): each reader method returns the typed value or
    None, and notes a Swedish message per field in ``errors``."""

    def __init__(self, form: MultiDict[str, str]) -> None:
        self.form = form
        self.errors: dict[str, str] = {}

    def _raw(self, name: str) -> str:
        value = self.form.get(name)
        return value if isinstance(value, str) else ""

    def text(self, name: str, *, required: str | None = None, max_length: int = 4000) -> str:
        # Browsers send CRLF in text areas; store plain newlines.
        value = self._raw(name).replace("\r\n", "\n").strip()
        if has_nul(value):
            self.errors[name] = INVALID_TEXT_MESSAGE
            return ""
        if required and not value:
            self.errors[name] = required
        elif len(value) > max_length:
            # Never handed on: a service would reach the database with it before the
            # view looks at the errors (the form keeps what was typed).
            self.errors[name] = f"Högst {max_length} tecken."
            return ""
        return value

    def lines(self, name: str) -> list[str]:
        text = self._raw(name)
        if has_nul(text):
            self.errors[name] = INVALID_TEXT_MESSAGE
            return []
        return [line.strip() for line in text.splitlines() if line.strip()]

    def integer(
        self,
        name: str,
        *,
        required: str | None = None,
        minimum: int = 0,
        maximum: int = MAX_DB_INT,
        message: str = INVALID_CHOICE_MESSAGE,
    ) -> int | None:
        raw = self._raw(name).strip()
        if not raw:
            if required:
                self.errors[name] = required
            return None
        value = parse_int(raw, minimum=minimum, maximum=maximum)
        if value is None:
            self.errors[name] = message
        return value

    def integers(self, name: str) -> list[int]:
        values = []
        for raw in self.form.getlist(name):
            value = parse_int(raw) if isinstance(raw, str) else None
            if value is None:
                self.errors[name] = INVALID_CHOICE_MESSAGE
            else:
                values.append(value)
        return values

    def choice(self, name: str, allowed: set[str], *, required: str | None = None) -> str | None:
        value = self._raw(name).strip()
        if not value:
            if required:
                self.errors[name] = required
            return None
        if value not in allowed:
            self.errors[name] = INVALID_CHOICE_MESSAGE
            return None
        return value

    def choices(self, name: str, allowed: set[str]) -> list[str]:
        values = self.form.getlist(name)
        if any(v not in allowed for v in values):
            self.errors[name] = INVALID_CHOICE_MESSAGE
            return [v for v in values if v in allowed]
        return values

    def day(self, name: str, *, required: str | None = None) -> date | None:
        raw = self._raw(name).strip()
        if not raw:
            if required:
                self.errors[name] = required
            return None
        try:
            value = date.fromisoformat(raw)
        except ValueError:
            self.errors[name] = "Skriv datumet som ÅÅÅÅ-MM-DD."
            return None
        if not EARLIEST_DAY <= value <= LATEST_DAY:
            self.errors[name] = DAY_RANGE_MESSAGE
            return None
        return value

    def local_datetime(self, name: str, *, required: str | None = None) -> datetime | None:
        """A ``datetime-local`` value, read as Stockholm time and returned in UTC."""
        raw = self._raw(name).strip()
        if not raw:
            if required:
                self.errors[name] = required
            return None
        try:
            naive = datetime.fromisoformat(raw)
        except ValueError:
            self.errors[name] = "Skriv tiden som ÅÅÅÅ-MM-DD TT:MM."
            return None
        if not EARLIEST_DAY <= naive.date() <= LATEST_DAY:
            self.errors[name] = DAY_RANGE_MESSAGE
            return None
        # Whatever offset was typed, the field is Stockholm time.
        return naive.replace(tzinfo=STOCKHOLM).astimezone(UTC)

    def flag(self, name: str) -> bool:
        return self.form.get(name) in ("1", "on", "true", "ja")


def local_input(value: datetime | None) -> str:
    """A UTC datetime as the value of a ``datetime-local`` input in Stockholm time."""
    if value is None:
        return ""
    return value.astimezone(STOCKHOLM).strftime("%Y-%m-%dT%H:%M")
