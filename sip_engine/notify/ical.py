"""iCalendar invitations that Outlook and other clients accept (RFC 5545/5546).

A stable UID per meeting, SEQUENCE raised on every change, METHOD:REQUEST for invitations and
updates, METHOD:CANCEL to cancel. Times are given in Europe/Stockholm with its VTIMEZONE.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr
from functools import cache

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

from sip_engine.clock import STOCKHOLM


def meeting_uid(meeting_id: int, domain: str) -> str:
    return f"sip-meeting-{meeting_id}@{domain}"


@cache
def _vtimezone() -> str:
    """Europe/Stockholm's VTIMEZONE, as ``Calendar.add_missing_timezones`` would add it.

    It lists every DST change from 1970 to 2037 and never changes, yet computing and
    rendering it was most of the cost of each invitation, so it is rendered once.
    """
    return str(Timezone.from_tzid(STOCKHOLM.key).to_ical().decode("utf-8"))


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
    calendar = Calendar()
    calendar.add("prodid", "-//sip-engine//SIP-stöd//SV")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", now)
    event.add("dtstart", starts_at.astimezone(STOCKHOLM))
    event.add("dtend", ends_at.astimezone(STOCKHOLM))
    event.add("summary", summary)
    event.add("description", description)
    if location:
        event.add("location", location)
    name, address = parseaddr(organizer)
    org = vCalAddress(f"mailto:{address}")
    if name:
        org.params["cn"] = vText(name)
    event.add("organizer", org)
    attendee = vCalAddress(f"mailto:{attendee_email}")
    if attendee_name:
        attendee.params["cn"] = vText(attendee_name)
    attendee.params["role"] = vText("REQ-PARTICIPANT")
    attendee.params["partstat"] = vText("NEEDS-ACTION")
    attendee.params["rsvp"] = vText("FALSE")  # answers come through the personal link
    event.add("attendee", attendee)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    calendar.add_component(event)
    # The VTIMEZONE goes before the event that refers to it, where add_missing_timezones
    # would insert it; the calendar's own properties come first and never contain this line.
    text = str(calendar.to_ical().decode("utf-8"))
    head, begin, rest = text.partition("BEGIN:VEVENT\r\n")
    return head + _vtimezone() + begin + rest
