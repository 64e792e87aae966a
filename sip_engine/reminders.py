"""Reminders from the workflow's deadline rules: which should exist for a case right now.

``sync_case_reminders`` is called after every change to a case (a transition, an edit, an
answer). It works out the reminders the rules ask for in the case's current state and
reconciles the table: new ones are created, moved ones get their new due time, ones that no
longer apply (the participant answered, the case moved on) are cancelled. Sent ones are
history and never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property, lru_cache
from typing import Any

from sqlalchemy import Integer, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from sip_engine import consent_rules
from sip_engine.calendar_se import add_working_days
from sip_engine.clock import STOCKHOLM, local_date
from sip_engine.models import (
    Answer,
    Base,
    Case,
    Child,
    Consent,
    Invitation,
    Meeting,
    Participant,
    ParticipantKind,
    PlanVersion,
    Reminder,
    ReminderStatus,
    Role,
    User,
    samordningsansvarig_in,
)
from sip_engine.models.people import birthday
from sip_engine.workflow.definition import ReminderRule, WorkflowDefinition
from sip_engine.workflow.registry import WorkflowRegistry

# The word that opens a reminder's e-mail subject, by the rule's kind.
KIND_WORDS = {"reminder": "Påminnelse", "warning": "Varning", "escalation": "Eskalering"}
# Reminders about a date (follow-up, consent end) go out at this local time.
DATE_REMINDER_TIME = time(8, 0)


@lru_cache(maxsize=1)
def _registry() -> WorkflowRegistry:
    return WorkflowRegistry.from_directory()


@dataclass(frozen=True)
class Wanted:
    key: str
    rule: ReminderRule
    due_at: datetime
    recipient: str
    participant_id: int | None = None
    user_id: int | None = None


def _at_local(day: date, at: time = DATE_REMINDER_TIME) -> datetime:
    return datetime.combine(day, at, tzinfo=STOCKHOLM)


def shift(anchor: datetime, rule: ReminderRule) -> datetime:
    """The anchor moved by the rule's offset, in calendar or Swedish working days, keeping the
    local time of day."""
    local = anchor.astimezone(STOCKHOLM)
    if rule.day_kind == "working":
        day = add_working_days(local.date(), rule.offset_days)
    else:
        day = local.date() + timedelta(days=rule.offset_days)
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=STOCKHOLM)


class _Facts:
    """What the rules look at, loaded once per sync, and only when a rule of the case's
    current state asks for it (most states need one or two of these, not all)."""

    def __init__(
        self, session: Session, case: Case, today: date, known: dict[str, Any] | None = None
    ) -> None:
        self.session, self.case, self.today = session, case, today
        # Facts the caller has read already (meeting, invitations): they stand in for the
        # cached properties of the same names, so they are not read again.
        for name, value in (known or {}).items():
            if name not in ("meeting", "invitations"):
                raise ValueError(f"unknown reminder fact {name}")
            self.__dict__[name] = value

    @cached_property
    def meeting(self) -> Meeting | None:
        return self.session.scalars(_OPEN_MEETING, {"case_id": self.case.id}).first()

    @cached_property
    def invitations(self) -> list[Invitation]:
        if self.meeting is None:
            return []
        return list(self.session.scalars(_INVITATIONS, {"meeting_id": self.meeting.id}))

    @cached_property
    def plan(self) -> PlanVersion | None:
        return self.session.scalars(_ADOPTED_PLAN, {"case_id": self.case.id}).first()

    @cached_property
    def consents(self) -> list[Consent]:
        return list(self.session.scalars(_CONSENTS, {"case_id": self.case.id}))

    @cached_property
    def subject(self) -> consent_rules.Subject:
        child = self.session.scalars(_CHILD, {"child_id": self.case.child_id}).one()
        return consent_rules.subject_of(child)

    @cached_property
    def consent_complete_until(self) -> date | None:
        """The last day the consent stays complete for every organisation taking part (the
        consent rule), or None when it is not complete today."""
        organisations = {
            p.organisation_id: p.name
            for p in self.session.scalars(_PARTICIPANTS, {"case_id": self.case.id})
            if p.organisation_id is not None and p.kind is not ParticipantKind.FAMILJ
        }
        return consent_rules.complete_until(
            self.consents, self.subject, organisations.items(), self.today
        )

    def consent_complete_for(self, organisation_id: int | None, day: date) -> bool:
        """Whether a participant of ``organisation_id`` may be written to about the meeting
        on ``day``: only while the consent rule holds for their organisation."""
        if organisation_id is None:
            return False
        return consent_rules.verdict(self.consents, self.subject, organisation_id, "", day).complete

    def managers(self) -> list[User]:
        return list(
            self.session.scalars(
                select(User).where(
                    User.organisation_id == self.case.unit_id,
                    User.role == Role.CHEF,
                    User.is_active.is_(True),
                )
            )
        )


# Built once with bound parameters: building a statement and its cache key anew on every
# sync cost about as much as running it.
_CASE_ID = bindparam("case_id", type_=Integer)
_OPEN_MEETING = Meeting.open_for(_CASE_ID)
_INVITATIONS = select(Invitation).where(
    Invitation.meeting_id == bindparam("meeting_id", type_=Integer)
)
_ADOPTED_PLAN = PlanVersion.in_force_for(_CASE_ID)
_CONSENTS = (
    select(Consent).where(Consent.case_id == _CASE_ID).options(selectinload(Consent.organisations))
)
_CHILD = (
    select(Child)
    .where(Child.id == bindparam("child_id", type_=Integer))
    .options(selectinload(Child.relatives))
)
_PARTICIPANTS = select(Participant).where(
    Participant.case_id == _CASE_ID, Participant.removed_at.is_(None)
)
# Placement reminders share the case id; their own sync (placement_reminders) reconciles them.
_REMINDER_TABLE: Table = Base.metadata.tables["reminder"]
_REMINDER_ROWS = select(
    _REMINDER_TABLE.c.id,
    _REMINDER_TABLE.c.key,
    _REMINDER_TABLE.c.status,
    _REMINDER_TABLE.c.due_at,
    _REMINDER_TABLE.c.processed_at,
).where(_REMINDER_TABLE.c.case_id == _CASE_ID, _REMINDER_TABLE.c.placement_id.is_(None))
_CHANGE_REMINDER = (
    update(_REMINDER_TABLE)
    .where(_REMINDER_TABLE.c.id == bindparam("b_id", type_=Integer))
    .values(
        status=bindparam("status"),
        due_at=bindparam("due_at"),
        processed_at=bindparam("processed_at"),
    )
)


def _anchor(
    rule: ReminderRule, case: Case, facts: _Facts, definition: WorkflowDefinition
) -> tuple[datetime, str] | None:
    """The moment the rule counts from, and a reference that changes when it moves for a new
    reason (a new meeting version, a new plan): then it is a new reminder. (A corrected birth
    date is no new reason: the same reminder moves.)"""
    if rule.anchor == "state_entered":
        return case.state_entered_at, f"s{case.state}@{case.state_entered_at:%Y%m%dT%H%M%S}"
    meeting = facts.meeting if rule.anchor in ("meeting_called", "meeting_start") else None
    if rule.anchor == "meeting_called" and meeting and meeting.called_at:
        return meeting.called_at, f"m{meeting.id}v{meeting.sequence}"
    if rule.anchor == "meeting_start" and meeting and meeting.called_at:
        return meeting.starts_at, f"m{meeting.id}v{meeting.sequence}"
    if rule.anchor == "follow_up_date" and facts.plan and facts.plan.next_follow_up:
        return _at_local(facts.plan.next_follow_up), f"p{facts.plan.version_no}"
    if rule.anchor == "consent_expires" and facts.consent_complete_until:
        ends = facts.consent_complete_until
        return _at_local(ends), f"c{ends:%Y%m%d}"
    if rule.anchor == "leaves_target_group" and definition.max_age is not None:
        return _at_local(birthday(facts.subject.birth_date, definition.max_age + 1)), "age"
    return None


def wanted_reminders(
    session: Session,
    case: Case,
    definition: WorkflowDefinition,
    now: datetime,
    known: dict[str, Any] | None = None,
) -> list[Wanted]:
    if case.closed_at is not None:
        return []
    facts = _Facts(session, case, local_date(now), known)
    wanted: list[Wanted] = []
    for rule in definition.reminders:
        if case.state not in rule.states:
            continue
        anchor = _anchor(rule, case, facts, definition)
        if anchor is None:
            continue
        moment, ref = anchor
        due = shift(moment, rule)
        if rule.condition == "meeting_later_than_offset":
            # A warning, at once, when the meeting lies further from the kallelse than the rule
            # allows (the old Västbus 21 days): due when the kallelse went out.
            if facts.meeting is None or facts.meeting.starts_at <= due:
                continue
            due = moment
        if rule.condition == "called_party_unanswered" and not any(
            i.answer is None
            and i.participant.kind is ParticipantKind.KALLAD
            and i.participant.removed_at is None
            for i in facts.invitations
        ):
            continue
        # A reminder "7 days before" that is already late when the rule starts to apply
        # would only confuse; warnings and escalations still matter when late.
        if rule.kind == "reminder" and due <= now:
            continue
        base = f"{case.id}:{rule.id}:{ref}"
        for recipient in rule.recipients:
            wanted.extend(_expand(base, rule, due, recipient, case, facts))
    return wanted


def _expand(
    base: str, rule: ReminderRule, due: datetime, recipient: str, case: Case, facts: _Facts
) -> list[Wanted]:
    if recipient == "coordinator":
        if case.coordinator_id is None:
            return []
        return [
            Wanted(
                f"{base}:u{case.coordinator_id}", rule, due, recipient, user_id=case.coordinator_id
            )
        ]
    if recipient == "manager":
        return [
            Wanted(f"{base}:u{u.id}", rule, due, recipient, user_id=u.id) for u in facts.managers()
        ]
    if recipient == "samordningsansvarig":
        person = samordningsansvarig_in(facts.session, facts.plan)
        if person is None:
            return []
        return [Wanted(f"{base}:p{person.id}", rule, due, recipient, participant_id=person.id)]
    if recipient in ("unanswered_participants", "confirmed_participants"):
        meeting = facts.meeting
        result = []
        for invitation in facts.invitations:
            participant = invitation.participant
            if participant.removed_at is not None or not participant.email or meeting is None:
                continue
            # Nobody outside the consent is written to about the meeting (the consent rule,
            # for the participant's organisation on the meeting's day; family members are the
            # ones who consent).
            if participant.kind is not ParticipantKind.FAMILJ and not facts.consent_complete_for(
                participant.organisation_id, local_date(meeting.starts_at)
            ):
                continue
            if recipient == "unanswered_participants" and invitation.answer is not None:
                continue
            if recipient == "confirmed_participants" and not (
                invitation.answer is Answer.KOMMER
                and invitation.answered_sequence == meeting.sequence
            ):
                continue
            result.append(
                Wanted(
                    f"{base}:p{participant.id}", rule, due, recipient, participant_id=participant.id
                )
            )
        return result
    raise ValueError(f"unknown recipient {recipient}")


def still_wanted(status: ReminderStatus, due_at: datetime, wanted_at: datetime) -> dict[str, Any]:
    """What changes on a reminder the rules still ask for (due at ``wanted_at``): a cancelled
    one comes back, a pending one follows its new time; sent and failed ones are history and
    stay as they are (nothing changes)."""
    if status is ReminderStatus.CANCELLED:
        return {"status": ReminderStatus.PENDING, "due_at": wanted_at, "processed_at": None}
    if status is ReminderStatus.PENDING and due_at != wanted_at:
        return {"due_at": wanted_at}
    return {}


def keep_wanted(found: Reminder, due_at: datetime) -> None:
    """:func:`still_wanted` applied to a loaded reminder."""
    for key, value in still_wanted(found.status, found.due_at, due_at).items():
        setattr(found, key, value)


def sync_case_reminders(
    session: Session,
    case: Case,
    now: datetime,
    definition: WorkflowDefinition | None = None,
    *,
    known: dict[str, Any] | None = None,
) -> None:
    """Reconcile the case's reminders with what the rules ask for now, with Core: the existing
    rows read as plain rows, the changed ones written in one UPDATE (executemany), the new ones
    in one multi-row INSERT. A reminder the session holds as an object gets the new values
    too (``set_committed_value``), so it does not go stale in the caller's hands. ``known``:
    facts the caller has read in this transaction already (see ``_Facts``)."""
    definition = definition or _registry().get(case.workflow_name, case.workflow_version)
    wanted = {w.key: w for w in wanted_reminders(session, case, definition, now, known)}
    changes: list[dict[str, Any]] = []
    seen: set[str] = set()
    for row in session.execute(_REMINDER_ROWS, {"case_id": case.id}):
        want = wanted.get(row.key)
        seen.add(row.key)
        if want is None:
            change = (
                {"status": ReminderStatus.CANCELLED, "processed_at": now}
                if row.status is ReminderStatus.PENDING
                else {}
            )
        else:
            change = still_wanted(row.status, row.due_at, want.due_at)
        if change:
            changes.append({"b_id": row.id, **_unchanged(row), **change})
    new = [
        {
            "key": key,
            "case_id": case.id,
            "rule_id": want.rule.id,
            "kind": want.rule.kind,
            "state": case.state,
            "recipient": want.recipient,
            "participant_id": want.participant_id,
            "user_id": want.user_id,
            "due_at": want.due_at,
            "status": ReminderStatus.PENDING,
            "created_at": now,
        }
        for key, want in wanted.items()
        if key not in seen
    ]
    if changes:
        session.execute(_CHANGE_REMINDER, changes)
        for change in changes:
            loaded = session.identity_map.get(session.identity_key(Reminder, change["b_id"]))
            if loaded is not None:
                for key in ("status", "due_at", "processed_at"):
                    set_committed_value(loaded, key, change[key])
    if new:
        # One multi-row INSERT: nothing here needs the new rows as objects or their ids.
        session.execute(insert(_REMINDER_TABLE), new)


def _unchanged(row: Any) -> dict[str, Any]:
    return {"status": row.status, "due_at": row.due_at, "processed_at": row.processed_at}
