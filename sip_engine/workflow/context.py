"""What guards and actions see: the case, the actor, the time, and the case's facts.

Facts are loaded lazily, so a trigger whose guards need only the case row costs one query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from sip_engine.clock import local_date
from sip_engine.models import (
    Case,
    Child,
    Consent,
    Meeting,
    Participant,
    PlanVersion,
    Role,
    User,
)
from sip_engine.notify import Notifier

from .definition import TriggerDef, WorkflowDefinition


@dataclass(frozen=True)
class Actor:
    """Who does something: a signed-in user, or the system (scheduler, demo loader)."""

    label: str
    role: Role | None
    user_id: int | None = None
    organisation_id: int | None = None
    professional_id: int | None = None

    @classmethod
    def for_user(cls, user: User) -> Actor:
        return cls(
            label=user.display_name,
            role=user.role,
            user_id=user.id,
            organisation_id=user.organisation_id,
            professional_id=user.professional_id,
        )

    @classmethod
    def system(cls, label: str = "systemet") -> Actor:
        return cls(label=label, role=None)

    @property
    def is_system(self) -> bool:
        return self.user_id is None


@dataclass
class TransitionContext:
    session: Session
    case: Case
    actor: Actor
    now: datetime
    definition: WorkflowDefinition
    trigger: TriggerDef | None = None
    reason: str | None = None
    reason_code: str | None = None
    refusals: list[str] = field(default_factory=list)
    # Queues kallelse/updates/cancellations in the outbox; None where no mail is wanted.
    notifier: Notifier | None = None

    @property
    def today(self) -> date:
        return local_date(self.now)

    @cached_property
    def participants(self) -> list[Participant]:
        return list(
            self.session.scalars(
                select(Participant)
                .where(Participant.case_id == self.case.id, Participant.removed_at.is_(None))
                .options(joinedload(Participant.organisation))
                .order_by(Participant.id)
            )
        )

    @cached_property
    def consents(self) -> list[Consent]:
        return list(
            self.session.scalars(
                select(Consent)
                .where(Consent.case_id == self.case.id)
                # Not joinedload: the nested outer join makes SQLite scan consent_organisation.
                .options(selectinload(Consent.organisations))
                .order_by(Consent.id)
            )
        )

    @cached_property
    def child(self) -> Child:
        """The case's child with its relatives (the guardians who must consent)."""
        return (
            self.session.scalars(
                select(Child)
                .where(Child.id == self.case.child_id)
                .options(joinedload(Child.relatives))
            )
            .unique()
            .one()
        )

    @cached_property
    def open_meeting(self) -> Meeting | None:
        """The meeting being prepared or held: the newest one not held and not cancelled."""
        # Attendance is left to load on first use: only one guard (after the meeting) reads it.
        return self.session.scalars(Meeting.open_for(self.case.id)).first()

    @cached_property
    def draft_plan(self) -> PlanVersion | None:
        return self.session.scalars(
            select(PlanVersion)
            .where(PlanVersion.case_id == self.case.id, PlanVersion.adopted_at.is_(None))
            .options(selectinload(PlanVersion.insatser))
            .order_by(PlanVersion.version_no.desc())
            .limit(1)
        ).first()
