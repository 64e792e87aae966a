"""iCalendar invitations that Outlook and other clients accept (RFC 5545/5546).

A stable UID per meeting, SEQUENCE raised on every change, METHOD:REQUEST for invitations and
updates, METHOD:CANCEL to cancel. Times are given in Europe/Stockholm with its VTIMEZONE.

The calendar has one fixed shape, so it is written out directly, exactly as the ``icalendar``
library renders it (property order, escaping, parameter quoting, line folding;
``tests/notify/test_ical.py`` holds the two side by side). Building it through the library's
components cost several milliseconds per invitation, most of a kallelse transition.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parseaddr
from functools import cache, lru_cache

from icalendar import Timezone

from sip_engine.clock import STOCKHOLM

PRODID = "-//sip-engine//SIP-stöd//SV"
# Lines longer than this many octets are folded (RFC 5545 §3.1).
FOLD_OCTETS = 75
_PARAM_ESCAPES = re.compile(r'\^|\r\n|\r|\n|"')  # RFC 6868
# A CN holding one of these is quoted (icalendar's rule: separators, space, apostrophes).
_PARAM_QUOTE = re.compile("[,;:’ ']")


def meeting_uid(meeting_id: int, domain: str) -> str:
    return f"sip-meeting-{meeting_id}@{domain}"


@cache
def _vtimezone() -> str:
    """Europe/Stockholm's VTIMEZONE, as ``Calendar.add_missing_timezones`` adds it.

    It lists every DST change from 1970 to 2037 and never changes, so it is rendered once.
    """
    return str(Timezone.from_tzid(STOCKHOLM.key).to_ical().decode("utf-8"))


def _text(value: str) -> str:
    """A TEXT value, escaped (RFC 5545 §3.3.11; the order of the replacements matters)."""
    return (
        value.replace(r"\N", "\n")
        .replace("\\", "\\\\")
        .replace(";", r"\;")
        .replace(",", r"\,")
        .replace("\r\n", r"\n")
        .replace("\n", r"\n")
        .replace("\r", r"\n")
    )


def _cn(name: str) -> str:
    """A CN parameter value: RFC 6868 escapes, quoted when it holds a separator or a space."""
    escaped = _PARAM_ESCAPES.sub(lambda m: {"^": "^^", '"': "^'"}.get(m.group(0), "^n"), name)
    return f'"{escaped}"' if _PARAM_QUOTE.search(name) else escaped


def _fold(line: str) -> str:
    """Fold a content line at 75 octets, never splitting a backslash or caret escape.

    Each piece is the longest run of characters that fits in 74 octets (a continuation line
    adds its leading space), found by cutting the run's UTF-8 at 74 octets and dropping the
    character cut in half; a piece that would end on a backslash or caret with more to come
    leaves that character to the next piece.
    """
    assert "\n" not in line
    if len(line) < FOLD_OCTETS and len(line.encode("utf-8")) < FOLD_OCTETS:
        return line
    limit = FOLD_OCTETS - 1
    parts: list[str] = []
    start, end = 0, len(line)
    while start < end:
        piece = line[start : start + limit]
        if not piece.isascii():
            piece = piece.encode("utf-8")[:limit].decode("utf-8", "ignore")
        if start + len(piece) < end and len(piece) > 1 and piece[-1] in "\\^":
            piece = piece[:-1]
        parts.append(piece)
        start += len(piece)
    return "\r\n ".join(parts)


@lru_cache(maxsize=16)
def _parse_address(address: str) -> tuple[str, str]:
    """The organiser's name and address (the same sender on every message: parsed once)."""
    return parseaddr(address)


def _local(moment: datetime) -> str:
    return moment.astimezone(STOCKHOLM).strftime("%Y%m%dT%H%M%S")


def _stamp(moment: datetime) -> str:
    if moment.tzinfo is None:
        return moment.strftime("%Y%m%dT%H%M%S")
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def build_ics(
    *,
    method: str,
    uid: str,
    sequence: int,
    summary: str,
    description: str,
    starts_at: datetime,
    ends_at: datetime,
    location: str | None,
    organizer: str,
    attendee_email: str,
    attendee_name: str | None,
    now: datetime,
) -> str:
    tzid = STOCKHOLM.key
    attendee_cn = f";CN={_cn(attendee_name)}" if attendee_name else ""
    organizer_name, organizer_address = _parse_address(organizer)
    organizer_cn = f";CN={_cn(organizer_name)}" if organizer_name else ""
    event = [
        f"SUMMARY:{_text(summary)}",
        f"DTSTART;TZID={tzid}:{_local(starts_at)}",
        f"DTEND;TZID={tzid}:{_local(ends_at)}",
        f"DTSTAMP:{_stamp(now)}",
        f"UID:{_text(uid)}",
        f"SEQUENCE:{sequence}",
        f"ATTENDEE{attendee_cn};PARTSTAT=NEEDS-ACTION;ROLE=REQ-PARTICIPANT;RSVP=FALSE"
        f":mailto:{attendee_email}",
        f"DESCRIPTION:{_text(description)}",
        *([f"LOCATION:{_text(location)}"] if location else []),
        f"ORGANIZER{organizer_cn}:mailto:{organizer_address}",
        f"STATUS:{'CANCELLED' if method == 'CANCEL' else 'CONFIRMED'}",
    ]
    head = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{_text(PRODID)}", f"METHOD:{_text(method)}"]
    tail = ["BEGIN:VEVENT", *event, "END:VEVENT", "END:VCALENDAR"]
    # The VTIMEZONE goes where add_missing_timezones puts it: before the event.
    return "".join(
        [*(_fold(line) + "\r\n" for line in head), _vtimezone()]
        + [_fold(line) + "\r\n" for line in tail]
    )
