"""The hand-written iCalendar text is exactly what the icalendar library renders.

``build_ics`` writes its one fixed calendar shape directly (the library's components were most
of the cost of a kallelse); the library stays the reference for escaping, parameter quoting
and line folding, including names and texts that need all of them.
"""

import random
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr

import pytest
from icalendar import Calendar, Event, vCalAddress, vText

from sip_engine.clock import STOCKHOLM, stockholm
from sip_engine.notify.ical import build_ics


def reference_ics(
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
    """The calendar built through icalendar's components (how build_ics used to do it)."""
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
    attendee.params["rsvp"] = vText("FALSE")
    event.add("attendee", attendee)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return str(calendar.to_ical().decode("utf-8"))


# Letters that take one to four octets, and every character with a meaning somewhere.
ALPHABET = "abcXYZ åäöÅÄÖé€😀 ,;:'’\"^\\\n\r\tN-.()/@"


def text(rng: random.Random, longest: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, longest)))


@pytest.mark.parametrize("seed", range(8))
def test_build_ics_renders_what_icalendar_renders(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(100):
        starts = stockholm(2026, 1, 1, 8, 0) + timedelta(
            days=rng.randint(0, 900), minutes=15 * rng.randint(0, 40)
        )
        now = datetime(2026, 3, 2, 8, 0, 0, rng.randint(0, 999_999), tzinfo=UTC) + timedelta(
            seconds=rng.randint(0, 10**7)
        )
        args = {
            "method": rng.choice(["REQUEST", "CANCEL"]),
            "uid": f"sip-meeting-{rng.randint(1, 10**6)}@example.se",
            "sequence": rng.randint(0, 12),
            "summary": f"SIP-möte ({text(rng, 20)})",
            "description": text(rng, 900),
            "starts_at": starts,
            "ends_at": starts + timedelta(minutes=rng.choice([30, 90, 600])),
            "location": rng.choice([None, "", text(rng, 120)]),
            "organizer": rng.choice(
                ["SIP-stöd <sip@example.se>", "sip@example.se", "Ann, BUP <a@b.se>"]
            ),
            "attendee_email": f"{text(rng, 5).strip() or 'x'}@example.se".replace("\n", "").replace(
                "\r", ""
            ),
            "attendee_name": rng.choice([None, "", text(rng, 40)]),
            "now": now.astimezone(rng.choice([UTC, STOCKHOLM])),
        }
        assert build_ics(**args) == reference_ics(**args), args
