"""Skyddade personuppgifter: the one rule for what a viewer sees of a protected child's
address and school.

A child with ``protected_identity`` has an address and a school that only the case's own unit
(its samordnare and chef: ``Case.unit_id``) may see. Everyone else — a participating
professional, the holder of an answer link, the recipient of a mail or a calendar entry, the
reader of a printout — sees the function instead: the school is "Skolan", the address is
"skyddad adress". That holds for the school as an organisation wherever one is named (the
participant list, "väckt av", a consent, a plan's insats, a refusal reason) and for free text
that names the school or the address (a meeting place, a frågeställning, a name).

Every page, mail and calendar entry asks these functions; none decides on its own. ``viewer``
is the actor looking, or None for what leaves the system (mail, calendar, printout, answer
link), which is never the unit.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sip_engine.models import Case, Organisation, Role

if TYPE_CHECKING:
    from sip_engine.workflow import Actor

SCHOOL_LABEL = "Skolan"
ADDRESS_LABEL = "skyddad adress"
# The first line of an address ("Storgatan 1" of "Storgatan 1, 411 01 Göteborg") is hidden on
# its own too, when it is at least this long (shorter would hide ordinary words).
_MIN_ADDRESS_PART = 5

_UNIT_ROLES = frozenset({Role.SAMORDNARE, Role.CHEF})


def sees_protected_identity(case: Case, viewer: Actor | None) -> bool:
    """Whether ``viewer`` may see the child's address and school: always for a child without
    protected identity; otherwise only the case's unit (its samordnare and chef)."""
    if not case.child.protected_identity:
        return True
    return (
        viewer is not None
        and viewer.role in _UNIT_ROLES
        and viewer.organisation_id is not None
        and viewer.organisation_id == case.unit_id
    )


def is_protected_school(case: Case, organisation: Organisation | int | None) -> bool:
    """Whether ``organisation`` is the school of a child with protected identity."""
    if organisation is None or not case.child.protected_identity:
        return False
    org_id = organisation if isinstance(organisation, int) else organisation.id
    return case.child.school_id is not None and case.child.school_id == org_id


def organisation_label(case: Case, organisation: Organisation | None, viewer: Actor | None) -> str:
    """The name of ``organisation`` as ``viewer`` may see it on ``case``: "Skolan" for a
    protected child's school unless the viewer is the case's unit; "" for no organisation."""
    if organisation is None:
        return ""
    if is_protected_school(case, organisation) and not sees_protected_identity(case, viewer):
        return SCHOOL_LABEL
    return organisation.name


def child_address(case: Case, viewer: Actor | None) -> str | None:
    """The child's address, or "skyddad adress" for a viewer who may not see it."""
    if case.child.address is None or sees_protected_identity(case, viewer):
        return case.child.address
    return ADDRESS_LABEL


def child_school(case: Case, viewer: Actor | None) -> str | None:
    """The child's school as ``viewer`` may see it (None: no school recorded)."""
    school = case.child.school
    return organisation_label(case, school, viewer) if school is not None else None


def _secrets(case: Case) -> list[tuple[str, str]]:
    """What must not appear in free text about a protected child, with what replaces it."""
    child = case.child
    found: list[tuple[str, str]] = []
    if child.school is not None and child.school.name.strip():
        found.append((child.school.name.strip(), SCHOOL_LABEL))
    address = (child.address or "").strip()
    if address:
        found.append((address, ADDRESS_LABEL))
        first_line = re.split(r"[,\n]", address, maxsplit=1)[0].strip()
        if first_line != address and len(first_line) >= _MIN_ADDRESS_PART:
            found.append((first_line, ADDRESS_LABEL))
    return found


def _redact(case: Case, text: str) -> str:
    for secret, label in _secrets(case):  # the longer (whole address) before its first line
        text = re.sub(re.escape(secret), label, text, flags=re.IGNORECASE)
    return text


def protected_text(case: Case, text: str | None, viewer: Actor | None) -> str:
    """Free text (a meeting place, a frågeställning, a name, a reason) as ``viewer`` may see
    it: for a protected child and a viewer outside the unit, the school's name becomes
    "Skolan" and the address "skyddad adress"."""
    if not text:
        return ""
    if sees_protected_identity(case, viewer):
        return text
    return _redact(case, text)


def names_protected_place(case: Case, text: str | None) -> bool:
    """Whether ``text`` names a protected child's school or address (a meeting there would
    tell everyone called where the child goes to school or lives)."""
    if not text or not case.child.protected_identity:
        return False
    return _redact(case, text) != text
