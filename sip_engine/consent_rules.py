"""The one definition of a complete samtycke, and what it lets a participant see.

"Consent is complete for organisation X on day D" (domain.md §4) holds when every person who
must consent has, on D, a valid consent of their own that names X:

- under 18, *each* vårdnadshavare (with joint custody two consents are never pooled: guardian
  A naming BUP does not make up for guardian B who did not); from 18 the young person alone;
- valid on D: from ``valid_from`` to ``valid_until``, and not revoked (a revocation takes
  effect at once, for every day);
- not excluded: an organisation a giver's valid consent excludes is not covered by that
  giver, whatever their other consents say (an explicit "not them" wins);
- from the age in ``child_view_from_age`` the child's own view must be recorded on a consent.

The information categories a consent names are applied, not only stored: a participant sees a
part of the case only when every required giver's consent for their organisation names a
category that shows it (``workflows/consent/information_categories.yaml``). Without a
complete consent a participant sees the case reference, the step, the meeting and their own
participation, nothing else.

Every reader asks this module: the kallelse and meeting guards, the case page and list, the
search, the reminders and the answer links. Nothing else decides it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources
from typing import Protocol

import yaml


class CasePart(enum.StrEnum):
    """The parts of a case a viewer may or may not see. Templates and services test these."""

    # Always shown to anyone in scope.
    REFERENCE = "reference"
    STEP = "step"
    MEETING = "meeting"  # time, place, frågeställningar
    OWN_PARTICIPATION = "own_participation"
    # With a complete consent for the viewer's organisation.
    CHILD = "child"  # name, personnummer, age
    PARTICIPANTS = "participants"  # the other services taking part, roles, answers
    HISTORY = "history"
    # By information category.
    NEED = "need"  # need, reasons, who raised it, the close reason and note
    CHILD_VOICE = "child_voice"
    FAMILY = "family"  # guardians and their contact details, the address
    SCHOOL = "school"
    PLAN = "plan"  # the plan, its versions and the SIP document
    HEALTH = "health"  # placements and health examinations


@dataclass(frozen=True)
class InformationCategory:
    code: str
    label: str
    shows: frozenset[CasePart]


@dataclass(frozen=True)
class ConsentDefinition:
    """The consent rules' data: categories and what they show, and the fixed parts."""

    categories: dict[str, InformationCategory]
    always: frozenset[CasePart]
    with_complete_consent: frozenset[CasePart]
    age_of_own_consent: int
    child_view_from_age: int

    @property
    def labels(self) -> dict[str, str]:
        return {code: c.label for code, c in self.categories.items()}

    @property
    def everything(self) -> frozenset[CasePart]:
        return frozenset(CasePart)


class DefinitionError(ValueError):
    pass


def _parts(values: Iterable[str], where: str) -> frozenset[CasePart]:
    known = {p.value for p in CasePart}
    unknown = [v for v in values if v not in known]
    if unknown:
        raise DefinitionError(f"{where}: okänd del av ärendet: {', '.join(unknown)}")
    return frozenset(CasePart(v) for v in values)


def parse_definition(text: str, source: str) -> ConsentDefinition:
    data = yaml.safe_load(text)
    categories = {}
    for code, entry in (data.get("categories") or {}).items():
        categories[code] = InformationCategory(
            code=code,
            label=str(entry["label"]),
            shows=_parts(entry.get("shows") or [], f"{source}: categories.{code}"),
        )
    if not categories:
        raise DefinitionError(f"{source}: inga informationskategorier")
    return ConsentDefinition(
        categories=categories,
        always=_parts(data["always"], f"{source}: always"),
        with_complete_consent=_parts(
            data["with_complete_consent"], f"{source}: with_complete_consent"
        ),
        age_of_own_consent=int(data["age_of_own_consent"]),
        child_view_from_age=int(data["child_view_from_age"]),
    )


@cache
def definition() -> ConsentDefinition:
    """The packaged consent definition (read once)."""
    source = resources.files("workflows").joinpath("consent/information_categories.yaml")
    return parse_definition(source.read_text(encoding="utf-8"), "consent/information_categories")


class ConsentLike(Protocol):
    """What the rule reads of a consent (a :class:`Consent` row)."""

    @property
    def id(self) -> int: ...
    @property
    def valid_from(self) -> date: ...
    @property
    def valid_until(self) -> date: ...
    @property
    def revoked_at(self) -> object | None: ...
    @property
    def given_by_relative_ids(self) -> list[int]: ...
    @property
    def given_by_young_person(self) -> bool: ...
    @property
    def information_categories(self) -> list[str]: ...
    @property
    def excluded_organisation_ids(self) -> list[int]: ...
    @property
    def child_view(self) -> str | None: ...

    def covers(self, organisation_id: int) -> bool: ...


class GuardianLike(Protocol):
    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...


class ChildLike(Protocol):
    @property
    def birth_date(self) -> date: ...
    @property
    def guardians(self) -> Sequence[GuardianLike]: ...


@dataclass(frozen=True)
class Giver:
    """Someone whose own consent is required: a vårdnadshavare or the young person."""

    relative_id: int | None  # None: the young person
    name: str


@dataclass(frozen=True)
class Subject:
    """The child as the rule reads it: birth date and vårdnadshavare (id, name)."""

    birth_date: date
    guardians: tuple[tuple[int, str], ...]

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years


@dataclass(frozen=True)
class Verdict:
    """Whether consent is complete for one organisation on one day, and if not, why."""

    complete: bool
    categories: frozenset[str]
    reasons: tuple[str, ...]


def _fmt(day: date) -> str:
    return day.isoformat()


def required_givers(subject: Subject, day: date) -> tuple[Giver, ...]:
    if subject.age_on(day) >= definition().age_of_own_consent:
        return (Giver(None, "den unga"),)
    return tuple(Giver(rid, name) for rid, name in subject.guardians)


def _gave(consent: ConsentLike, giver: Giver) -> bool:
    if giver.relative_id is None:
        return consent.given_by_young_person
    return giver.relative_id in (consent.given_by_relative_ids or [])


def is_valid_on(consent: ConsentLike, day: date) -> bool:
    return consent.revoked_at is None and consent.valid_from <= day <= consent.valid_until


def verdict(
    consents: Sequence[ConsentLike],
    subject: Subject,
    organisation_id: int,
    organisation_name: str,
    day: date,
) -> Verdict:
    """Whether consent is complete for ``organisation_id`` on ``day`` (see the module)."""
    rules = definition()
    givers = required_givers(subject, day)
    if not givers:
        return Verdict(False, frozenset(), ("Ingen vårdnadshavare är registrerad för barnet.",))
    reasons: list[str] = []
    allowed: frozenset[str] | None = None
    for giver in givers:
        own = [c for c in consents if _gave(c, giver)]
        valid = [c for c in own if is_valid_on(c, day)]
        covering = [c for c in valid if c.covers(organisation_id)]
        excluded = [c for c in valid if organisation_id in (c.excluded_organisation_ids or [])]
        who = "Den unga" if giver.relative_id is None else f"Vårdnadshavaren {giver.name}"
        if excluded:
            reasons.append(f"{who} har undantagit {organisation_name} i sitt samtycke.")
            allowed = frozenset()
            continue
        if not covering:
            reasons.append(
                _missing_reason(own, giver, who, organisation_id, organisation_name, day)
            )
            allowed = frozenset()
            continue
        categories = frozenset(code for c in covering for code in c.information_categories)
        allowed = categories if allowed is None else allowed & categories
    if not reasons and subject.age_on(day) < rules.age_of_own_consent:
        age = subject.age_on(day)
        if age >= rules.child_view_from_age and not any(
            (c.child_view or "").strip() for c in consents if is_valid_on(c, day)
        ):
            reasons.append(
                f"Barnets egen syn på samtycket är inte dokumenterad (barnet är {age} år)."
            )
    if reasons:
        return Verdict(False, frozenset(), tuple(reasons))
    return Verdict(True, allowed or frozenset(), ())


def _missing_reason(
    own: Sequence[ConsentLike],
    giver: Giver,
    who: str,
    organisation_id: int,
    organisation_name: str,
    day: date,
) -> str:
    """The precise reason a giver's consent does not cover the organisation on ``day``."""
    naming = [c for c in own if c.covers(organisation_id)]
    if not own:
        if giver.relative_id is None:
            return "Den unga är myndig och behöver själv lämna samtycke."
        return f"{who} har inte lämnat samtycke."
    if not naming:
        return f"{who}s samtycke omfattar inte {organisation_name}."
    if all(c.revoked_at is not None for c in naming):
        return f"{who} har återkallat samtycket för {organisation_name}."
    live = [c for c in naming if c.revoked_at is None]
    ended = [c for c in live if c.valid_until < day]
    if ended and not [c for c in live if c.valid_until >= day]:
        last = max(c.valid_until for c in ended)
        before = " (dagen före)" if last == day - timedelta(days=1) else ""
        return (
            f"{who}s samtycke för {organisation_name} gäller bara till {_fmt(last)}{before}, "
            f"inte {_fmt(day)}."
        )
    first = min(c.valid_from for c in live)
    return f"{who}s samtycke för {organisation_name} gäller först från {_fmt(first)}."


def reasons(
    consents: Sequence[ConsentLike],
    subject: Subject,
    organisations: Iterable[tuple[int, str]],
    day: date,
) -> list[str]:
    """Why consent is not complete on ``day`` for each of ``organisations`` (id, name), each
    reason once; empty when it is complete for all of them."""
    if not any(is_valid_on(c, day) for c in consents):
        return [_none_valid_reason(consents, day)]
    if not required_givers(subject, day):
        return ["Ingen vårdnadshavare är registrerad för barnet."]
    found: dict[str, None] = {}
    for organisation_id, name in sorted(organisations, key=lambda item: item[1]):
        found.update(dict.fromkeys(verdict(consents, subject, organisation_id, name, day).reasons))
    return list(found)


def lapsed(consents: Sequence[ConsentLike], subject: Subject, day: date) -> list[str]:
    """Why a consent that was given no longer holds on ``day``: a required giver whose every
    consent has been revoked or has ended, with none to come. Empty while each giver who has
    consented still has a valid consent, or before anyone consented (then the ordinary
    preparation applies, not the rule for a lapsed consent)."""
    found: list[str] = []
    for giver in required_givers(subject, day):
        own = [c for c in consents if _gave(c, giver)]
        if not own or any(is_valid_on(c, day) for c in own):
            continue
        if any(c.revoked_at is None and c.valid_from > day for c in own):
            continue  # a new consent starts later: not lapsed, only not yet valid
        who = "Den unga" if giver.relative_id is None else f"Vårdnadshavaren {giver.name}"
        live = [c for c in own if c.revoked_at is None]
        if not live:
            found.append(f"{who} har återkallat sitt samtycke.")
        else:
            last = max(c.valid_until for c in live)
            found.append(f"{who}s samtycke gällde till {_fmt(last)}.")
    if found and not any(is_valid_on(c, day) for c in consents):
        return [_none_valid_reason(consents, day)]  # nothing holds: one reason says it all
    return found


def complete_until(
    consents: Sequence[ConsentLike],
    subject: Subject,
    organisations: Iterable[tuple[int, str]],
    today: date,
) -> date | None:
    """The last day on which consent stays complete for all ``organisations``, as things
    stand today; None when it is not complete today. Completeness can only change on a day
    after a consent ends or on a birthday that changes who must consent."""
    organisations = list(organisations)
    if reasons(consents, subject, organisations, today):
        return None
    rules = definition()
    changes = {c.valid_until + timedelta(days=1) for c in consents if c.revoked_at is None}
    changes |= {c.valid_from for c in consents if c.revoked_at is None}
    for age in (rules.age_of_own_consent, rules.child_view_from_age):
        born = subject.birth_date
        try:
            changes.add(born.replace(year=born.year + age))
        except ValueError:  # born on 29 February: the birthday is 1 March
            changes.add(date(born.year + age, 3, 1))
    for day in sorted(d for d in changes if d > today):
        if reasons(consents, subject, organisations, day):
            return day - timedelta(days=1)
    return None


def subject_of(child: ChildLike) -> Subject:
    """The child as the rule reads it (a :class:`Child` row with its relatives)."""
    return Subject(
        birth_date=child.birth_date,
        guardians=tuple((g.id, g.name) for g in child.guardians),
    )


def _none_valid_reason(consents: Sequence[ConsentLike], day: date) -> str:
    """Why no consent at all is valid on ``day``, as precisely as the consents tell."""
    if not consents:
        return "Inget samtycke är registrerat."
    live = [c for c in consents if c.revoked_at is None]
    if not live:
        return "Samtycket har återkallats; inget giltigt samtycke finns."
    if all(c.valid_until < day for c in live):
        last = max(c.valid_until for c in live)
        before = " (dagen före)" if last == day - timedelta(days=1) else ""
        return f"Samtycket gäller bara till {_fmt(last)}{before}, inte {_fmt(day)}."
    first = min(c.valid_from for c in live if c.valid_from > day)
    return f"Samtycket gäller först från {_fmt(first)}, inte {_fmt(day)}."


def visible_parts(verdict_for_viewer: Verdict | None) -> frozenset[CasePart]:
    """What a participant sees, given the verdict for their organisation (None: no
    organisation, so no consent can cover them)."""
    rules = definition()
    if verdict_for_viewer is None or not verdict_for_viewer.complete:
        return rules.always
    shown = set(rules.always | rules.with_complete_consent)
    for code in verdict_for_viewer.categories:
        category = rules.categories.get(code)
        if category is not None:
            shown |= category.shows
    return frozenset(shown)


def always() -> frozenset[CasePart]:
    """What anyone with the case in scope sees."""
    return definition().always


def everything() -> frozenset[CasePart]:
    """What the case's own unit sees."""
    return frozenset(CasePart)
