"""Samtycke: recorded per case, naming organisations, information and period; revocable."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sip_engine import consent_rules
from sip_engine.models import Case, Consent, ConsentForm, EventKind, Organisation, Relative
from sip_engine.workflow import Actor

from .common import ValidationError, check_can_edit, record_change


def information_categories() -> dict[str, str]:
    """What kinds of information a consent may name (code: label), from the consent data."""
    return consent_rules.definition().labels


@dataclass
class ConsentInput:
    form: ConsentForm
    organisation_ids: list[int]
    valid_from: date
    valid_until: date
    information_categories: list[str] = field(default_factory=list)
    given_by_relative_ids: list[int] = field(default_factory=list)
    given_by_young_person: bool = False
    child_view: str | None = None
    exclusions: str | None = None
    excluded_organisation_ids: list[int] = field(default_factory=list)


def record_consent(
    session: Session,
    case: Case,
    actor: Actor,
    now: datetime,
    data: ConsentInput,
    *,
    expected_version: int | None = None,
) -> Consent:
    """Record a consent. Oral consent is documented with who recorded it and when."""
    check_can_edit(session, case, actor, expected_version)
    errors: dict[str, str] = {}
    if not data.organisation_ids:
        errors["organisation_ids"] = "Välj vilka verksamheter som får dela uppgifter."
    organisations = list(
        session.scalars(select(Organisation).where(Organisation.id.in_(data.organisation_ids)))
    )
    if len(organisations) != len(set(data.organisation_ids)):
        errors["organisation_ids"] = "En vald verksamhet finns inte."
    if not data.information_categories:
        errors["information_categories"] = "Välj vilka slags uppgifter samtycket gäller."
    unknown = [c for c in data.information_categories if c not in information_categories()]
    if unknown:
        errors["information_categories"] = f"Okänd kategori: {', '.join(unknown)}."
    excluded = set(data.excluded_organisation_ids)
    if excluded & set(data.organisation_ids):
        errors["excluded_organisation_ids"] = (
            "En verksamhet kan inte både omfattas av och undantas från samtycket."
        )
    elif excluded and session.scalar(
        select(func.count()).select_from(Organisation).where(Organisation.id.in_(excluded))
    ) != len(excluded):
        errors["excluded_organisation_ids"] = "En undantagen verksamhet finns inte."
    if data.valid_until < data.valid_from:
        errors["valid_until"] = "Slutdatumet ligger före startdatumet."
    if not data.given_by_relative_ids and not data.given_by_young_person:
        errors["given_by"] = "Ange vem som lämnat samtycket."
    for relative_id in data.given_by_relative_ids:
        relative = session.get(Relative, relative_id)
        if relative is None or relative.child_id != case.child_id:
            errors["given_by"] = "Den som lämnat samtycket hör inte till barnet."
    if errors:
        raise ValidationError(errors)
    consent = Consent(
        case_id=case.id,
        form=data.form,
        given_by_relative_ids=sorted(set(data.given_by_relative_ids)),
        given_by_young_person=data.given_by_young_person,
        child_view=(data.child_view or "").strip() or None,
        information_categories=sorted(set(data.information_categories)),
        exclusions=(data.exclusions or "").strip() or None,
        excluded_organisation_ids=sorted(excluded),
        valid_from=data.valid_from,
        valid_until=data.valid_until,
        recorded_by_id=actor.user_id,
        recorded_at=now,
        organisations=organisations,
    )
    session.add(consent)
    session.flush()
    record_change(
        session,
        case,
        actor,
        EventKind.CONSENT_RECORDED,
        now,
        {
            "consent_id": consent.id,
            "form": data.form.value,
            "organisation_ids": sorted(o.id for o in organisations),
            "valid_until": data.valid_until.isoformat(),
            "information_categories": sorted(set(data.information_categories)),
            "excluded_organisation_ids": sorted(excluded),
        },
    )
    return consent


def revoke_consent(
    session: Session,
    case: Case,
    actor: Actor,
    now: datetime,
    consent: Consent,
    *,
    reason: str | None = None,
    expected_version: int | None = None,
) -> Consent:
    """Revocation takes effect at once: from ``now`` no guard counts this consent."""
    check_can_edit(session, case, actor, expected_version)
    if consent.case_id != case.id:
        raise ValidationError({"consent": "Samtycket hör inte till ärendet."})
    if consent.revoked_at is not None:
        raise ValidationError({"consent": "Samtycket är redan återkallat."})
    consent.revoked_at = now
    consent.revoked_by_id = actor.user_id
    consent.revoke_reason = (reason or "").strip() or None
    record_change(session, case, actor, EventKind.CONSENT_REVOKED, now, {"consent_id": consent.id})
    return consent
