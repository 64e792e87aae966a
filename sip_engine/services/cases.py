"""Use cases for the case itself: register the child, open a case (upptäck), the child's voice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sip_engine.clock import local_date
from sip_engine.identity import InvalidIdentityNumber, parse_identity_number
from sip_engine.models import (
    Case,
    Child,
    EventKind,
    IdentityKind,
    NosamArea,
    Organisation,
    RaisedBy,
    Relative,
    RelativeKind,
)
from sip_engine.models.people import age_on
from sip_engine.reminders import sync_case_reminders
from sip_engine.workflow import Actor, WorkflowDefinition
from sip_engine.workflow.engine import record_event

from .common import ValidationError, check_can_edit, record_change

# Reasons for a SIP (domain.md §2, step 1). Codes are stored; labels are shown.
SIP_REASONS: dict[str, str] = {
    "placering": "Placering utanför hemmet",
    "skolfranvaro": "Problematisk skolfrånvaro",
    "psykisk_ohalsa": "Psykisk ohälsa",
    "funktionsnedsattning": "Funktionsnedsättning",
    "missbruk": "Missbruk eller beroende",
    "overgang_vuxen": "Övergång barn–vuxen",
    "vald_i_nara_relation": "Våld i nära relation",
    "somatisk_sjukdom": "Somatisk sjukdom",
    "annat": "Annat",
}


@dataclass
class GuardianInput:
    name: str
    email: str | None = None
    phone: str | None = None
    kind: RelativeKind = RelativeKind.VARDNADSHAVARE


def register_child(
    session: Session,
    *,
    first_name: str,
    last_name: str,
    identity_number: str | None,
    today: date,
    birth_date: date | None = None,
    protected_identity: bool = False,
    address: str | None = None,
    school_id: int | None = None,
    relatives: list[GuardianInput] | None = None,
) -> Child:
    """Register a child, or return the one already registered with the same number."""
    errors: dict[str, str] = {}
    if not first_name.strip():
        errors["first_name"] = "Ange förnamn."
    if not last_name.strip():
        errors["last_name"] = "Ange efternamn."
    normalised: str | None = None
    kind = IdentityKind.RESERVNUMMER
    if identity_number:
        try:
            parsed = parse_identity_number(identity_number, today=today)
        except InvalidIdentityNumber as exc:
            errors["identity_number"] = str(exc)
        else:
            normalised, kind, birth_date = parsed.normalised, parsed.kind, parsed.birth_date
    if birth_date is None and "identity_number" not in errors:
        errors["birth_date"] = "Ange födelsedatum när personnummer saknas."
    guardians = [r for r in relatives or [] if r.kind is RelativeKind.VARDNADSHAVARE]
    if len(guardians) > 2:
        errors["relatives"] = "Ett barn har högst två vårdnadshavare."
    if school_id is not None and session.get(Organisation, school_id) is None:
        errors["school_id"] = "Välj en skola i listan."
    if errors:
        raise ValidationError(errors)
    assert birth_date is not None
    if normalised is not None:
        existing = session.scalars(select(Child).where(Child.identity_number == normalised)).first()
        if existing is not None:
            # Never lose a protection flag someone sets now; never drop one silently either.
            existing.protected_identity = existing.protected_identity or protected_identity
            return existing
    child = Child(
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        identity_number=normalised,
        identity_kind=kind,
        birth_date=birth_date,
        protected_identity=protected_identity,
        address=address,
        school_id=school_id,
        relatives=[
            Relative(kind=r.kind, name=r.name.strip(), email=r.email, phone=r.phone)
            for r in relatives or []
        ],
    )
    session.add(child)
    session.flush()
    return child


@dataclass
class NewCase:
    child_id: int
    nosam_area_id: int
    unit_id: int
    need_description: str
    raised_by: RaisedBy
    raised_on: date
    reasons: list[str] = field(default_factory=list)
    raised_by_organisation_id: int | None = None
    raised_by_name: str | None = None
    involved_organisation_ids: list[int] = field(default_factory=list)
    coordinator_id: int | None = None
    # The coordinator has confirmed opening a case for someone older than the target group.
    confirm_age: bool = False


def age_above_target_group(
    definition: WorkflowDefinition, birth_date: date, today: date
) -> int | None:
    """The age on ``today`` when it is above the workflow's target group (``target_group.
    max_age``: 20 for the children's SIP, 0–20 years), otherwise None."""
    if definition.max_age is None:
        return None
    age = age_on(birth_date, today)
    return age if age > definition.max_age else None


def open_case(
    session: Session, definition: WorkflowDefinition, actor: Actor, now: datetime, data: NewCase
) -> Case:
    """Step 1, upptäck behov: record the need and open the case in the initial state."""
    errors: dict[str, str] = {}
    if not data.need_description.strip():
        errors["need_description"] = "Beskriv behovet kort."
    if not data.reasons:
        errors["reasons"] = "Välj minst ett skäl till SIP."
    unknown = [r for r in data.reasons if r not in SIP_REASONS]
    if unknown:
        errors["reasons"] = f"Okänt skäl: {', '.join(unknown)}."
    if data.raised_on > local_date(now):
        errors["raised_on"] = "Datumet kan inte ligga i framtiden."
    child = session.get(Child, data.child_id)
    if child is None:
        errors["child_id"] = "Barnet finns inte."
    over_age = (
        age_above_target_group(definition, child.birth_date, local_date(now)) if child else None
    )
    if over_age is not None and not data.confirm_age:
        assert definition.max_age is not None
        errors["confirm_age"] = (
            f"Den unga är {over_age} år. SIP för barn och unga gäller 0–{definition.max_age} "
            f"år; den som har fyllt {definition.max_age + 1} hör normalt till vuxenspåret. "
            "Bekräfta att ärendet ändå ska öppnas här."
        )
    if session.get(NosamArea, data.nosam_area_id) is None:
        errors["nosam_area_id"] = "Välj ett NOSAM-område."
    if session.get(Organisation, data.unit_id) is None:
        errors["unit_id"] = "Välj en enhet."
    if (
        data.raised_by_organisation_id is not None
        and session.get(Organisation, data.raised_by_organisation_id) is None
    ):
        errors["raised_by_organisation_id"] = "Välj en verksamhet i listan."
    for org_id in data.involved_organisation_ids:
        if session.get(Organisation, org_id) is None:
            errors["involved_organisation_ids"] = f"Verksamhet {org_id} finns inte."
    if errors:
        raise ValidationError(errors)
    case = Case(
        reference=f"tmp-{uuid.uuid4().hex[:24]}",
        child_id=data.child_id,
        nosam_area_id=data.nosam_area_id,
        unit_id=data.unit_id,
        coordinator_id=data.coordinator_id if data.coordinator_id else actor.user_id,
        workflow_name=definition.name,
        workflow_version=definition.version,
        state=definition.initial,
        state_entered_at=now,
        reasons=list(data.reasons),
        need_description=data.need_description.strip(),
        raised_by=data.raised_by,
        raised_by_organisation_id=data.raised_by_organisation_id,
        raised_by_name=data.raised_by_name,
        raised_on=data.raised_on,
        involved_organisation_ids=sorted(set(data.involved_organisation_ids)),
        opened_at=now,
        updated_at=now,
    )
    session.add(case)
    session.flush()
    # The readable reference uses the id, so it is unique without a counter table.
    case.reference = f"SIP-{local_date(now).year}-{case.id:05d}"
    record_event(
        session,
        case,
        actor,
        EventKind.CASE_OPENED,
        now,
        to_state=case.state,
        details={
            "reasons": list(data.reasons),
            "raised_by": data.raised_by.value,
            **({"over_target_age_confirmed": True} if over_age is not None else {}),
        },
    )
    session.flush()
    sync_case_reminders(session, case, now, definition)
    return case


def record_child_voice(
    session: Session,
    case: Case,
    actor: Actor,
    now: datetime,
    *,
    voice: str | None,
    missing_reason: str | None = None,
    expected_version: int | None = None,
) -> Case:
    """Step 2: the child's answer to "Vad är viktigt för dig?", or why it could not be heard."""
    check_can_edit(session, case, actor, expected_version)
    voice = (voice or "").strip() or None
    missing_reason = (missing_reason or "").strip() or None
    if voice is None and missing_reason is None:
        raise ValidationError(
            {"child_voice": "Skriv barnets egna ord, eller varför de inte kunde inhämtas."}
        )
    case.child_voice = voice
    case.child_voice_missing_reason = None if voice else missing_reason
    record_change(
        session,
        case,
        actor,
        EventKind.CHILD_VOICE_RECORDED,
        now,
        {"recorded": voice is not None},
    )
    return case
