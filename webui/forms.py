"""Reading HTML form input into typed values, collecting Swedish messages per field.

Most forms here are plain HTML (CSRF is enforced for every POST by CSRFProtect); what the
user typed is handed back to the template on error, so nothing typed is lost.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from werkzeug.datastructures import MultiDict

from sip_engine.clock import STOCKHOLM


class FormReader:
    def __init__(self, form: MultiDict[str, str]) -> None:
        self.form = form
        self.errors: dict[str, str] = {}

    def text(self, name: str, *, required: str | None = None, max_length: int = 4000) -> str:
        # Browsers send CRLF in text areas; store plain newlines.
        value = (self.form.get(name) or "").replace("\r\n", "\n").strip()
        if required and not value:
            self.errors[name] = required
        elif len(value) > max_length:
            self.errors[name] = f"Högst {max_length} tecken."
        return value

    def lines(self, name: str) -> list[str]:
        return [line.strip() for line in (self.form.get(name) or "").splitlines() if line.strip()]

    def integer(self, name: str, *, required: str | None = None) -> int | None:
        raw = (self.form.get(name) or "").strip()
        if not raw:
            if required:
                self.errors[name] = required
            return None
        if not raw.isdigit():
            self.errors[name] = "Ogiltigt val."
            return None
        return int(raw)

    def integers(self, name: str) -> list[int]:
        values = []
        for raw in self.form.getlist(name):
            if raw.isdigit():
                values.append(int(raw))
            else:
                self.errors[name] = "Ogiltigt val."
        return values

    def choice(self, name: str, allowed: set[str], *, required: str | None = None) -> str | None:
        value = (self.form.get(name) or "").strip()
        if not value:
            if required:
                self.errors[name] = required
            return None
        if value not in allowed:
            self.errors[name] = "Ogiltigt val."
            return None
        return value

    def choices(self, name: str, allowed: set[str]) -> list[str]:
        values = self.form.getlist(name)
        if any(v not in allowed for v in values):
            self.errors[name] = "Ogiltigt val."
            return [v for v in values if v in allowed]
        return values

    def day(self, name: str, *, required: str | None = None) -> date | None:
        raw = (self.form.get(name) or "").strip()
        if not raw:
            if required:
                self.errors[name] = required
            return None
        try:
            return date.fromisoformat(raw)
        except ValueError:
            self.errors[name] = "Skriv datumet som ÅÅÅÅ-MM-DD."
            return None

    def local_datetime(self, name: str, *, required: str | None = None) -> datetime | None:
        """A ``datetime-local`` value, read as Stockholm time and returned in UTC."""
        raw = (self.form.get(name) or "").strip()
        if not raw:
            if required:
                self.errors[name] = required
            return None
        try:
            naive = datetime.fromisoformat(raw)
        except ValueError:
            self.errors[name] = "Skriv tiden som ÅÅÅÅ-MM-DD TT:MM."
            return None
        return naive.replace(tzinfo=STOCKHOLM).astimezone(UTC)

    def flag(self, name: str) -> bool:
        return self.form.get(name) in ("1", "on", "true", "ja")


def local_input(value: datetime | None) -> str:
    """A UTC datetime as the value of a ``datetime-local`` input in Stockholm time."""
    if value is None:
        return ""
    return value.astimezone(STOCKHOLM).strftime("%Y-%m-%dT%H:%M")
