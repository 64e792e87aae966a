"""What guards and actions see: the case, the actor, the time, and the case's facts.

Facts are loaded lazily, so a trigger whose guards need only the case row costs one query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cached_property
from typing import Any

from sqlalchemy import Integer, bindparam, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from sip_engine.clock import local_date
from sip_engine.consent_rules import Subject
from sip_engine.models import (
    Base,
    Case,
    Child,
    Consent,
    Invitation,
    Meeting,
    Participant,
    PlanVersion,
    RelativeKind,
    Role,
    User,
    samordningsansvarig_of,
)
from sip_engine.notify import MailReport, Notifier

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

    def works_in_unit(self, unit_id: int) -> bool:
        """Whether the actor is a samordnare or chef of ``unit_id``: the unit that owns a case
        sees all of it (consent and protected identity limit everyone else)."""
        return self.role in (Role.SAMORDNARE, Role.CHEF) and self.organisation_id == unit_id


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
    # All the open meeting's invitations, when an action has just read and extended them.
    meeting_invitations: list[Invitation] | None = None
    # What an action queued about the meeting (kallelse, cancellation), for the history event.
    mail: MailReport | None = None
    # The state the trigger fires from (the case's state before the transition).
    source_state: str | None = None

    @property
    def today(self) -> date:
        return local_date(self.now)

    @cached_property
    def participants(self) -> list[Participant]:
        return list(self.session.scalars(_PARTICIPANTS, {"case_id": self.case.id}))

    @cached_property
    def consents(self) -> list[Consent]:
        """The case's consents with the organisations each covers (one query each)."""
        return list(self.session.scalars(_CONSENTS, {"case_id": self.case.id}))

    @cached_property
    def child(self) -> Subject:
        """The case's child as the consent rule reads it: birth date and vårdnadshavare."""
        rows = self.session.execute(_CHILD, {"child_id": self.case.child_id}).all()
        # The case holds its child from here (the session alone keeps it only weakly).
        set_committed_value(self.case, "child", rows[0].Child)
        return Subject(
            birth_date=rows[0].Child.birth_date,
            guardians=tuple(
                (row.relative_id, row.name)
                for row in rows
                if row.kind is RelativeKind.VARDNADSHAVARE
            ),
        )

    @cached_property
    def open_meeting(self) -> Meeting | None:
        """The meeting being prepared or held: the newest one not held and not cancelled."""
        return self.session.scalars(_OPEN_MEETING, {"case_id": self.case.id}).first()

    def reminder_facts(self) -> dict[str, Any]:
        """What the reminder rules would read that this transition has read already (after
        its actions): the open meeting if it is still open, and its invitations if an action
        read them all. The reminders' sync then does not read them again."""
        known: dict[str, Any] = {}
        meeting = self.__dict__.get("open_meeting")
        if meeting is not None and meeting.is_open:
            known["meeting"] = meeting
            if self.meeting_invitations is not None:
                known["invitations"] = self.meeting_invitations
        return known

    @cached_property
    def draft_plan(self) -> PlanVersion | None:
        return self.session.scalars(_DRAFT_PLAN, {"case_id": self.case.id}).first()

    @cached_property
    def samordningsansvarig(self) -> Participant | None:
        """The case's samordningsansvarig: the person the plan in force names (the one
        source of truth; see :func:`sip_engine.models.samordningsansvarig_of`)."""
        return samordningsansvarig_of(self.session, self.case.id)


# The facts' queries, built once with bound parameters: building a statement and its cache
# key anew on every transition cost about as much as running it.
_CASE_ID = bindparam("case_id", type_=Integer)
_PARTICIPANTS = (
    select(Participant)
    .where(Participant.case_id == _CASE_ID, Participant.removed_at.is_(None))
    .options(joinedload(Participant.organisation))
    .order_by(Participant.id)
)
_CONSENTS = (
    select(Consent)
    .where(Consent.case_id == _CASE_ID)
    .options(selectinload(Consent.organisations))
    .order_by(Consent.id)
)
_CHILD_TABLE = Base.metadata.tables["child"]
_RELATIVE = Base.metadata.tables["relative"]
# The child as an entity (not only its birth date): the same one statement, and the child is
# then in the session, so the kallelse's protection rule (sip_engine.protection, which reads
# ``case.child``) costs no query of its own.
_CHILD = (
    select(
        Child,
        _RELATIVE.c.id.label("relative_id"),
        _RELATIVE.c.name,
        _RELATIVE.c.kind,
    )
    .outerjoin(_RELATIVE, _RELATIVE.c.child_id == _CHILD_TABLE.c.id)
    .where(_CHILD_TABLE.c.id == bindparam("child_id", type_=Integer))
    .order_by(_RELATIVE.c.id)
)
# Attendance is left to load on first use: only one guard (after the meeting) reads it.
_OPEN_MEETING = Meeting.open_for(_CASE_ID)
_DRAFT_PLAN = (
    select(PlanVersion)
    .where(PlanVersion.case_id == _CASE_ID, PlanVersion.adopted_at.is_(None))
    .options(selectinload(PlanVersion.insatser))
    .order_by(PlanVersion.version_no.desc())
    .limit(1)
)
