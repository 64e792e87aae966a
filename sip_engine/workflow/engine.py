"""The one engine API: what may fire now (and why not), and firing a trigger.

Firing checks, in order: the case version the caller saw, that the trigger exists, that it
leaves the current state, that the actor may fire it, that a reason was given where needed,
and the named guards (through the ``transitions`` machine). Any failure raises a
:class:`WorkflowError` before anything is changed. On success the state change, the actions
and the history event are flushed in the caller's transaction, never committed here.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, Table, bindparam, insert, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import flag_modified, set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from sip_engine.clock import Clock
from sip_engine.models import Base, Case, CaseEvent, EventKind, Role
from sip_engine.notify import MailReport, Notifier
from sip_engine.writes import attach_written, pending_columns, write_columns

from .actions import ACTIONS
from .context import Actor, TransitionContext
from .definition import TriggerDef, WorkflowDefinition
from .errors import (
    CaseConflict,
    GuardRefused,
    IllegalTransition,
    NotPermitted,
    ReasonRequired,
    UnknownTrigger,
    WorkflowError,
)
from .guards import INPUT_GUARDS
from .registry import WorkflowRegistry, evaluate_guards


@dataclass(frozen=True)
class TriggerOption:
    """A trigger from the current state, and whether this actor may fire it now."""

    id: str
    label: str
    dest: str
    allowed: bool
    reasons: tuple[str, ...]
    requires_reason: bool


def actor_works_on_case(session: Session, case: Case, actor: Actor) -> bool:
    """Whether the actor is in scope for the case at all (independent of the trigger)."""
    if actor.is_system:
        return True
    if actor.role in (Role.SAMORDNARE, Role.CHEF):
        return actor.organisation_id == case.unit_id
    if actor.role is Role.DELTAGARE and actor.professional_id is not None:
        return any(
            p.professional_id == actor.professional_id and p.removed_at is None
            for p in session.get_one(Case, case.id).participants
        )
    return False


def record_event(
    session: Session,
    case: Case,
    actor: Actor,
    kind: EventKind,
    at: Any,
    *,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    workflow: WorkflowDefinition | None = None,
) -> CaseEvent:
    """One entry in the case's history. ``workflow``: the definition the change ran on when it
    is not the case's own (a placement or a health examination on the case)."""
    event = CaseEvent(
        **_event_values(
            case,
            actor,
            kind,
            at,
            trigger=trigger,
            from_state=from_state,
            to_state=to_state,
            reason=reason,
            details=details,
            workflow=workflow,
        )
    )
    session.add(event)
    return event


def _event_values(
    case: Case,
    actor: Actor,
    kind: EventKind,
    at: Any,
    *,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
    workflow: WorkflowDefinition | None = None,
) -> dict[str, Any]:
    """A history row's columns (see record_event)."""
    return {
        "case_id": case.id,
        "at": at,
        "kind": kind,
        "actor_user_id": actor.user_id,
        "actor_label": actor.label,
        "actor_organisation_id": actor.organisation_id,
        "trigger": trigger,
        "from_state": from_state,
        "to_state": to_state,
        "reason": reason,
        "workflow_name": workflow.name if workflow else case.workflow_name,
        "workflow_version": workflow.version if workflow else case.workflow_version,
        "details": details or {},
    }


def touch_case(case: Case, now: datetime) -> None:
    """Mark the case changed so its version rises, even when ``updated_at`` already equals
    ``now`` (two saves in one clock tick would otherwise send no UPDATE and could not
    conflict)."""
    case.updated_at = now
    flag_modified(case, "updated_at")


@contextmanager
def case_conflicts(case: Case) -> Iterator[None]:
    """A concurrent change to ``case`` by someone else, flushed in this block (explicitly or
    by autoflush), becomes CaseConflict.

    PostgreSQL shows it as a version mismatch (StaleDataError). SQLite in WAL mode refuses
    to turn a read transaction into a write one when another writer committed after the read
    began ("database is locked" at once): the same lost-update situation, so the same error.
    """
    case_id = case.id  # read before the flush: a failed flush expires the object
    try:
        yield
    except StaleDataError as exc:
        raise CaseConflict(CONFLICT_MESSAGE, case_id=case_id) from exc
    except OperationalError as exc:
        if "database is locked" not in str(exc.orig):
            raise
        raise CaseConflict(CONFLICT_MESSAGE, case_id=case_id) from exc


def flush_case_change(session: Session, case: Case) -> None:
    """Flush a change to ``case``; a concurrent change by someone else becomes CaseConflict."""
    with case_conflicts(case):
        session.flush()


# The transition's writes, built once with bound parameters (Core on the session's
# connection: the unit of work cost more than the statements themselves).
_CASE: Table = Base.metadata.tables["sip_case"]
_EVENT: Table = Base.metadata.tables["case_event"]
_BY_ID_AND_VERSION = (
    _CASE.c.id == bindparam("b_id", type_=Integer),
    _CASE.c.version == bindparam("b_version", type_=Integer),
)
# The case moves on: new state, time in the step, updated, version raised where it matched.
_SET_STATE = (
    update(_CASE)
    .where(*_BY_ID_AND_VERSION)
    .values(
        state=bindparam("b_state"),
        state_entered_at=bindparam("b_now"),
        updated_at=bindparam("b_now"),
        version=_CASE.c.version + 1,
    )
)
# A reflexive trigger keeps the state and the time in it.
_TOUCH = (
    update(_CASE)
    .where(*_BY_ID_AND_VERSION)
    .values(updated_at=bindparam("b_now"), version=_CASE.c.version + 1)
)
_ADD_EVENT = insert(_EVENT)


def _write_case(session: Session, case: Case, new_state: str | None, now: datetime) -> None:
    """The transition's UPDATE of the case, with Core on the session's connection: the new
    state (None: the same) and ``updated_at``, only where the row still has the version the
    case was loaded with, which it raises by one as the ORM's versioned UPDATE does. No row
    matched is a concurrent change: :class:`CaseConflict`. The object is then marked written
    (``set_committed_value``), so the unit of work does not send the change again."""
    version = case.version
    params: dict[str, Any] = {"b_id": case.id, "b_version": version, "b_now": now}
    if new_state is not None:
        params["b_state"] = new_state
    result = session.connection().execute(_TOUCH if new_state is None else _SET_STATE, params)
    if result.rowcount != 1:
        raise CaseConflict(CONFLICT_MESSAGE, case_id=case.id)
    if new_state is not None:
        set_committed_value(case, "state", new_state)
        set_committed_value(case, "state_entered_at", now)
    set_committed_value(case, "updated_at", now)
    set_committed_value(case, "version", version + 1)


def _insert_event(
    session: Session,
    case: Case,
    actor: Actor,
    kind: EventKind,
    at: datetime,
    **columns: Any,
) -> CaseEvent:
    """:func:`record_event` with Core: the row inserted at once on the session's connection,
    and returned as a persistent ``CaseEvent`` in the session (with its id, never flushed)."""
    values = _event_values(case, actor, kind, at, **columns)
    key = session.connection().execute(_ADD_EVENT, values).inserted_primary_key
    assert key is not None
    return attach_written(session, CaseEvent(id=key[0], **values))


def _transition_details(reason_code: str | None, mail: MailReport | None) -> dict[str, Any] | None:
    """What a transition's history event holds besides its columns: the close reason's code,
    and what its actions queued (how many were sent a kallelse or a cancellation)."""
    details: dict[str, Any] = {}
    if reason_code:
        details["reason_code"] = reason_code
    if mail is not None:
        details["mail"] = mail.as_details()
    return details or None


CONFLICT_MESSAGE = "Ärendet har ändrats av någon annan samtidigt. Ladda om och försök igen."


class WorkflowEngine:
    def __init__(
        self, registry: WorkflowRegistry, clock: Clock, notifier: Notifier | None = None
    ) -> None:
        self.registry = registry
        self.clock = clock
        self.notifier = notifier

    def definition_for(self, case: Case) -> WorkflowDefinition:
        return self.registry.get(case.workflow_name, case.workflow_version)

    def _permission_reasons(
        self, session: Session, case: Case, trigger: TriggerDef, actor: Actor
    ) -> list[str]:
        if actor.is_system:
            return []
        if actor.role not in trigger.roles:
            return ["Din roll får inte göra detta."]
        if not actor_works_on_case(session, case, actor):
            return ["Du arbetar inte med det här ärendet."]
        return []

    def options(self, session: Session, case: Case, actor: Actor) -> list[TriggerOption]:
        """Every trigger leaving the current state, allowed or with the reasons it is not."""
        definition = self.definition_for(case)
        ctx = TransitionContext(session, case, actor, self.clock.now(), definition)
        result = []
        for trigger in definition.triggers_from(case.state):
            reasons = self._permission_reasons(session, case, trigger, actor)
            if not reasons:
                ctx.trigger = trigger
                # What the user has not submitted yet (a close reason) cannot block a button.
                reasons = evaluate_guards(ctx, skip=INPUT_GUARDS)
            result.append(
                TriggerOption(
                    id=trigger.id,
                    label=trigger.label,
                    dest=trigger.dest,
                    allowed=not reasons,
                    reasons=tuple(reasons),
                    requires_reason=trigger.requires_reason,
                )
            )
        return result

    def fire(
        self,
        session: Session,
        case: Case,
        trigger_id: str,
        actor: Actor,
        *,
        reason: str | None = None,
        reason_code: str | None = None,
        expected_version: int | None = None,
    ) -> CaseEvent:
        definition = self.definition_for(case)
        state = case.state
        where: dict[str, Any] = {"case_id": case.id, "trigger": trigger_id, "state": state}
        if expected_version is not None and expected_version != case.version:
            raise CaseConflict(
                "Ärendet har ändrats av någon annan sedan du öppnade det. "
                "Ladda om sidan och försök igen.",
                **where,
            )
        trigger = definition.triggers.get(trigger_id)
        if trigger is None:
            raise UnknownTrigger(f"Åtgärden '{trigger_id}' finns inte i arbetsflödet.", **where)
        if state not in trigger.sources:
            raise IllegalTransition(
                f"”{trigger.label}” kan inte göras i steget ”{definition.state_label(state)}”.",
                **where,
            )
        denied = self._permission_reasons(session, case, trigger, actor)
        if denied:
            raise NotPermitted(denied[0], reasons=denied, **where)
        reason = (reason or "").strip() or None
        if trigger.requires_reason and reason is None:
            raise ReasonRequired(f"”{trigger.label}” kräver en motivering.", **where)

        now = self.clock.now()
        ctx = TransitionContext(
            session,
            case,
            actor,
            now,
            definition,
            trigger,
            reason=reason,
            reason_code=reason_code,
            notifier=self.notifier,
            source_state=state,
        )
        new_state = self.registry.compiled(case.workflow_name, case.workflow_version).run(
            state, ctx
        )
        if new_state is None:
            # One reason goes in the message; several are listed after it, each once.
            refusals = ctx.refusals
            head = f"”{trigger.label}” går inte ännu:"
            raise GuardRefused(
                f"{head} {refusals[0]}" if len(refusals) == 1 else head,
                reasons=refusals,
                **where,
            )

        # The state change goes out first, as one UPDATE guarded by the version the case was
        # loaded with (a concurrent change matches no row: CaseConflict); from then on this
        # transaction holds the case row. Then the actions' rows and the event.
        try:
            with case_conflicts(case):
                if session.new or session.dirty or session.deleted:
                    session.flush()  # what the caller changed before firing goes out first
                # A reflexive trigger keeps the time in the step.
                _write_case(session, case, new_state if new_state != state else None, now)
                for name in trigger.actions:
                    ACTIONS[name](ctx)
                # What an action changed on the case itself (mark_closed), in the transaction that
                # has just raised its version and holds the row: no second version step.
                changed = pending_columns(case)
                changed.pop("version", None)
                write_columns(session, case, changed)
                if session.new or session.dirty or session.deleted:
                    session.flush()
        except CaseConflict as conflict:  # with the trigger and state, for the history
            raise CaseConflict(conflict.message, **where) from conflict
        event = _insert_event(
            session,
            case,
            actor,
            EventKind.TRANSITION,
            now,
            trigger=trigger.id,
            from_state=state,
            to_state=new_state,
            reason=reason,
            details=_transition_details(reason_code, ctx.mail),
        )
        # Reminders follow the case: what the new state's rules ask for is created, the rest
        # cancelled, in the same transaction as the transition. (Imported here because the
        # reminders module itself imports the workflow package.)
        from sip_engine.reminders import sync_case_reminders

        sync_case_reminders(session, case, now, definition, known=ctx.reminder_facts())
        return event

    def record_refusal(
        self,
        session: Session,
        case: Case,
        actor: Actor,
        error: WorkflowError,
        *,
        action: str | None = None,
    ) -> CaseEvent:
        """Write a refusal to the history: every kind of it (a guard, the wrong role or no
        part in the case, a missing reason, an unknown trigger, a conflict with someone
        else's change), with the actor, the trigger (or ``action``: the form that was
        refused) and the reasons, each once.

        The refused change's transaction must be rolled back first and this written in a
        fresh one that the caller commits: written inside the failed transaction, the row
        would be lost with its rollback (a conflict always rolls back). It writes only the
        history row, never the case, so it cannot conflict itself."""
        details: dict[str, Any] = {"error": type(error).__name__}
        if action is not None:
            details["action"] = action
        return record_event(
            session,
            case,
            actor,
            EventKind.TRANSITION_REFUSED,
            self.clock.now(),
            trigger=error.trigger,
            from_state=error.state or case.state,
            reason=" ".join(dict.fromkeys(error.reasons)),
            details=details,
        )
