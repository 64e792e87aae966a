"""iCalendar invitations that Outlook and other clients accept (RFC 5545/5546).

A stable UID per meeting, SEQUENCE raised on every change, METHOD:REQUEST for invitations and
updates, METHOD:CANCEL to cancel. Times are given in Europe/Stockholm with its VTIMEZONE.
"""

from __future__ import annotations

from datetime import datetime
from email.utils import parseaddr

from icalendar import Calendar, Event, vCalAddress, vText

from sip_engine.clock import STOCKHOLM


def meeting_uid(meeting_id: int, domain: str) -> str:
    return f"sip-meeting-{meeting_id}@{domain}"


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
    calendar.add_missing_timezones()
    return str(calendar.to_ical().decode("utf-8"))
