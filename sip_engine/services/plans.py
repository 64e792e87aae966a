"""The written plan, versioned: one draft at a time; adopted versions never change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sip_engine.models import (
    Case,
    EventKind,
    Organisation,
    PlanInsats,
    PlanVersion,
    lead_organisation_error,
    samordningsansvarig_error,
)
from sip_engine.workflow import Actor

from .common import ValidationError, check_can_edit, record_change


@dataclass
class InsatsInput:
    description: str
    organisation_id: int
    contact_person: str | None = None


@dataclass
class PlanInput:
    child_voice: str | None = None
    guardians_view: str | None = None
    needs: list[str] = field(default_factory=list)
    goals: list[dict[str, Any]] = field(default_factory=list)
    other_actions: list[dict[str, Any]] = field(default_factory=list)
    insatser: list[InsatsInput] = field(default_factory=list)
    lead_organisation_id: int | None = None
    samordningsansvarig_participant_id: int | None = None
    next_follow_up: date | None = None
    note_hidden_from_guardians: str | None = None


def plan_versions(session: Session, case: Case) -> list[PlanVersion]:
    return list(
        session.scalars(
            select(PlanVersion)
            .where(PlanVersion.case_id == case.id)
            .order_by(PlanVersion.version_no)
        )
    )


def current_plan(session: Session, case: Case) -> PlanVersion | None:
    """The newest adopted version: the plan in force."""
    return session.scalars(PlanVersion.in_force_for(case.id)).first()


def draft_plan(session: Session, case: Case) -> PlanVersion | None:
    return session.scalars(
        select(PlanVersion)
        .where(PlanVersion.case_id == case.id, PlanVersion.adopted_at.is_(None))
        .limit(1)
    ).first()


def save_plan_draft(
    session: Session,
    case: Case,
    actor: Actor,
    now: datetime,
    data: PlanInput,
    *,
    expected_version: int | None = None,
) -> PlanVersion:
    """Write the draft for the coming or ongoing meeting; start a new version if none is open."""
    check_can_edit(session, case, actor, expected_version)
    errors: dict[str, str] = {}
    # A draft may leave the roles open (adopting it may not); what it names must be able to
    # hold them: huvudansvar a huvudman, samordningsansvarig a huvudman's professional.
    lead: Organisation | None = None
    if data.lead_organisation_id is not None:
        lead = session.get(Organisation, data.lead_organisation_id)
        if lead is None:
            errors["lead_organisation_id"] = "Välj en verksamhet."
        elif (problem := lead_organisation_error(lead)) is not None:
            errors["lead_organisation_id"] = problem
    if data.samordningsansvarig_participant_id is not None:
        named = {p.id: p for p in case.active_participants}.get(
            data.samordningsansvarig_participant_id
        )
        if named is None:
            errors["samordningsansvarig_participant_id"] = "Välj en deltagare i ärendet."
        elif (problem := samordningsansvarig_error(named)) is not None:
            errors["samordningsansvarig_participant_id"] = problem
    for index, insats in enumerate(data.insatser):
        if not insats.description.strip():
            errors[f"insatser.{index}.description"] = "Beskriv insatsen."
        if session.get(Organisation, insats.organisation_id) is None:
            errors[f"insatser.{index}.organisation_id"] = "Välj ansvarig verksamhet."
    if errors:
        raise ValidationError(errors)

    plan = draft_plan(session, case)
    if plan is None:
        last = session.scalar(
            select(func.max(PlanVersion.version_no)).where(PlanVersion.case_id == case.id)
        )
        plan = PlanVersion(
            case_id=case.id,
            version_no=(last or 0) + 1,
            created_at=now,
            created_by_id=actor.user_id,
        )
        session.add(plan)
    plan.child_voice = (data.child_voice or case.child_voice or "").strip() or None
    plan.guardians_view = (data.guardians_view or "").strip() or None
    plan.needs = [n.strip() for n in data.needs if n.strip()]
    plan.goals = list(data.goals)
    plan.other_actions = list(data.other_actions)
    plan.lead_organisation_id = lead.id if lead else None
    plan.lead_party = lead.party if lead else None
    plan.samordningsansvarig_participant_id = data.samordningsansvarig_participant_id
    plan.next_follow_up = data.next_follow_up
    plan.note_hidden_from_guardians = (data.note_hidden_from_guardians or "").strip() or None
    plan.insatser = [
        PlanInsats(
            description=i.description.strip(),
            organisation_id=i.organisation_id,
            contact_person=(i.contact_person or "").strip() or None,
        )
        for i in data.insatser
    ]
    session.flush()
    record_change(
        session,
        case,
        actor,
        EventKind.PLAN_DRAFTED,
        now,
        {"plan_version": plan.version_no, "insatser": len(plan.insatser)},
    )
    return plan
