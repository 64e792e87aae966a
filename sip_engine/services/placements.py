"""Placements and their health examinations (domain.md §5): register, move through the phases,
request the two examination parts and record their progress.

Both the placement and each examination part move on a ``transitions`` machine compiled from
their workflow definitions (``workflows/placement.yaml``, ``workflows/halsoundersokning.yaml``).
Every move is checked here first (trigger, state, role and scope, reason) so a refusal changes
nothing, and is written to the child's SIP case's append-only event log in the same
transaction. Like every service this flushes and never commits.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from sip_engine.clock import STOCKHOLM, local_date
from sip_engine.models import (
    CURRENT_PLACEMENT_STATES,
    HEALTH_EXAM_PART_LABELS,
    PLACEMENT_FORM_LABELS,
    Case,
    CaseEvent,
    Child,
    EventKind,
    HealthExamPart,
    HealthExamRequest,
    Meeting,
    NosamArea,
    Organisation,
    OutboxMessage,
    OutboxStatus,
    Party,
    Placement,
    PlacementBasis,
    PlacementForm,
    RaisedBy,
    Role,
)
from sip_engine.notify import Notifier
from sip_engine.notify.links import HealthExamLinks
from sip_engine.placement_reminders import sync_placement_reminders
from sip_engine.workflow import (
    Actor,
    CaseConflict,
    IllegalTransition,
    NotPermitted,
    ReasonRequired,
    TransitionContext,
    UnknownTrigger,
    WorkflowDefinition,
    WorkflowRegistry,
)
from sip_engine.workflow.definition import TriggerDef
from sip_engine.workflow.engine import record_event

from . import cases
from .answers import _plausible_email
from .common import ValidationError

PLACEMENT_WORKFLOW = "placement"
EXAM_WORKFLOW = "halsoundersokning"
# The notice is a disclosure to the region under this provision: no consent is needed.
EXAM_LEGAL_BASIS = "OSL 10 kap. 28 §"
EXAM_OFFER_DEADLINE = "tid_erbjuden"
# States in which a placement is ongoing and its examinations are to be requested.
STARTED_STATES = frozenset({"under", "infor_avslut", "efter", "avslutad"})
EXAM_DONE_STATES = frozenset({"genomford", "utlatande_mottaget"})
EXAM_FINAL_STATES = frozenset({"utlatande_mottaget", "obehovlig"})
KIND_EXAM_NOTICE = "halsoundersokning"
KIND_PLACEMENT_ATTEMPT = "placering_nekad"

NOT_NEEDED_HELP = (
    "Ange varför undersökningen inte behövs, till exempel att barnet undersöktes i en "
    "tidigare placering under det senaste året."
)
CONFLICT_MESSAGE = "Placeringen har ändrats av någon annan samtidigt. Ladda om och försök igen."


@dataclass
class ExamContactInput:
    organisation_id: int | None
    contact_name: str
    contact_email: str


class PlacementExists(ValidationError):
    """The child already has a current placement: registering a second one is refused (it
    would request the health examinations twice). ``placement_id`` names the current one so
    the refusal can be written to its case's history (:func:`record_refused_registration`)."""

    def __init__(self, errors: dict[str, str], *, placement_id: int) -> None:
        super().__init__(errors)
        self.placement_id = placement_id


@dataclass
class NewPlacement:
    child_id: int
    form: PlacementForm
    legal_basis: PlacementBasis
    start_date: date
    placing_kommun: str
    receiving_kommun: str
    receiving_area_id: int
    vardcentral: ExamContactInput
    tandvard: ExamContactInput
    planned_end: date | None = None


# --- reading -----------------------------------------------------------------------------


def exam_deadline(registry: WorkflowRegistry, exam: HealthExamRequest) -> date | None:
    """The last day a time may be offered: the request's date plus the workflow's deadline."""
    if exam.requested_at is None:
        return None
    days = registry.get(exam.workflow_name, exam.workflow_version).deadlines.get(
        EXAM_OFFER_DEADLINE, 28
    )
    return local_date(exam.requested_at) + timedelta(days=days)


def exam_overdue(registry: WorkflowRegistry, exam: HealthExamRequest, today: date) -> bool:
    """Requested, no time offered, and the deadline has passed."""
    deadline = exam_deadline(registry, exam)
    return exam.status == "begard" and deadline is not None and today > deadline


def exam_done_in_time(registry: WorkflowRegistry, exam: HealthExamRequest) -> bool:
    if exam.status == "obehovlig":
        return True
    deadline = exam_deadline(registry, exam)
    return exam.done_on is not None and deadline is not None and exam.done_on <= deadline


def exams_outcome(
    registry: WorkflowRegistry, exams: Sequence[HealthExamRequest], today: date
) -> bool | None:
    """Whether a placement's health examination was done in time: True when every part was
    done (or marked not needed) by its deadline, False once a part has missed it, None while
    that is still open (the dashboard's share and the reports count only decided ones)."""
    if not exams:
        return None
    in_time = [exam_done_in_time(registry, e) for e in exams]
    if all(in_time):
        return True
    for ok, exam in zip(in_time, exams, strict=True):
        deadline = exam_deadline(registry, exam)
        if not ok and (exam.done_on is not None or (deadline is not None and today > deadline)):
            return False
    return None


@dataclass(frozen=True)
class Phase:
    state: str
    label: str
    entered_at: datetime
    left_at: datetime | None
    meeting_held: bool


def placement_phases(
    session: Session, registry: WorkflowRegistry, placement: Placement
) -> list[Phase]:
    """The phases the placement has been in, from its history, and whether a SIP meeting was
    held on the child's case during each (what the phase expects)."""
    definition = registry.get(placement.workflow_name, placement.workflow_version)
    events = [
        e
        for e in session.scalars(
            select(CaseEvent)
            .where(
                CaseEvent.case_id == placement.case_id,
                CaseEvent.kind.in_(
                    [EventKind.PLACEMENT_REGISTERED, EventKind.PLACEMENT_TRANSITION]
                ),
            )
            .order_by(CaseEvent.at, CaseEvent.id)
        )
        if e.details.get("placement_id") == placement.id and e.to_state
    ]
    held = list(
        session.scalars(
            select(Meeting.held_at).where(
                Meeting.case_id == placement.case_id, Meeting.held_at.is_not(None)
            )
        )
    )
    phases: list[Phase] = []
    for i, event in enumerate(events):
        assert event.to_state is not None
        left = events[i + 1].at if i + 1 < len(events) else None
        if definition.states[event.to_state].final:
            continue
        phases.append(
            Phase(
                state=event.to_state,
                label=definition.state_label(event.to_state),
                entered_at=event.at,
                left_at=left,
                meeting_held=any(
                    h is not None and h >= event.at and (left is None or h <= left) for h in held
                ),
            )
        )
    return phases


def meeting_held_since(session: Session, case_id: int, since: datetime) -> bool:
    return (
        session.scalars(
            select(Meeting.id).where(Meeting.case_id == case_id, Meeting.held_at >= since).limit(1)
        ).first()
        is not None
    )


# --- registering -------------------------------------------------------------------------


def _check_editor(actor: Actor, unit_id: int | None = None) -> None:
    if actor.is_system:
        return
    if actor.role not in (Role.SAMORDNARE, Role.CHEF) or actor.organisation_id is None:
        raise NotPermitted("Din roll får inte registrera eller ändra placeringar.")
    if unit_id is not None and actor.organisation_id != unit_id:
        raise NotPermitted("Du arbetar inte med den här placeringen.")


def _validate_contact(
    session: Session, errors: dict[str, str], prefix: str, contact: ExamContactInput
) -> None:
    org = session.get(Organisation, contact.organisation_id) if contact.organisation_id else None
    if org is None or org.party is not Party.REGION:
        errors[f"{prefix}_organisation_id"] = "Välj regionens mottagning."
    if not contact.contact_name.strip():
        errors[f"{prefix}_contact_name"] = "Ange kontaktpersonens namn."
    if not _plausible_email(contact.contact_email.strip()):
        errors[f"{prefix}_contact_email"] = "Ange kontaktpersonens e-postadress."


def open_case_for_child(session: Session, child_id: int, unit_id: int) -> Case | None:
    """The child's open SIP case at the unit, the newest if several."""
    return session.scalars(
        select(Case)
        .where(Case.child_id == child_id, Case.unit_id == unit_id, Case.closed_at.is_(None))
        .order_by(Case.opened_at.desc(), Case.id.desc())
        .limit(1)
    ).first()


def register_placement(
    session: Session,
    registry: WorkflowRegistry,
    notifier: Notifier | None,
    actor: Actor,
    now: datetime,
    data: NewPlacement,
) -> Placement:
    """Record a placement on the child's open SIP case (opening one if there is none), with
    both health-examination parts *att begära*. A placement that has already begun is started
    at once, which requests both parts."""
    _check_editor(actor)
    assert actor.organisation_id is not None or actor.is_system
    today = local_date(now)
    errors: dict[str, str] = {}
    if not data.placing_kommun.strip():
        errors["placing_kommun"] = "Ange placerande kommun."
    if not data.receiving_kommun.strip():
        errors["receiving_kommun"] = "Ange mottagande kommun."
    if session.get(NosamArea, data.receiving_area_id) is None:
        errors["receiving_area_id"] = "Välj ett NOSAM-område."
    if data.planned_end is not None and data.planned_end <= data.start_date:
        errors["planned_end"] = "Planerat slut måste ligga efter startdatum."
    if data.start_date > today + timedelta(days=365):
        errors["start_date"] = "Startdatum kan ligga högst ett år fram i tiden."
    _validate_contact(session, errors, "vardcentral", data.vardcentral)
    _validate_contact(session, errors, "tandvard", data.tandvard)
    sip = registry.latest("sip")
    child = session.get(Child, data.child_id)
    if child is None:
        errors["child_id"] = "Barnet finns inte."
    elif (age := cases.age_above_target_group(sip, child.birth_date, today)) is not None:
        errors["child_id"] = (
            f"Den unga är {age} år. Placeringar registreras här för barn och unga "
            f"0–{sip.max_age} år."
        )
    unit_id = actor.organisation_id
    assert unit_id is not None
    if errors:
        raise ValidationError(errors)
    _refuse_second_placement(session, data.child_id, unit_id)

    case = open_case_for_child(session, data.child_id, unit_id)
    if case is None:
        case = cases.open_case(
            session,
            sip,
            actor,
            now,
            cases.NewCase(
                child_id=data.child_id,
                nosam_area_id=data.receiving_area_id,
                unit_id=unit_id,
                need_description=(
                    f"Placering utanför hemmet ({PLACEMENT_FORM_LABELS[data.form]}) "
                    f"från {data.start_date:%Y-%m-%d}."
                ),
                raised_by=RaisedBy.SOCIALTJANST,
                raised_on=today,
                reasons=["placering"],
            ),
        )
    definition = registry.latest(PLACEMENT_WORKFLOW)
    placement = Placement(
        case_id=case.id,
        child_id=data.child_id,
        unit_id=unit_id,
        coordinator_id=case.coordinator_id or actor.user_id,
        form=data.form,
        legal_basis=data.legal_basis,
        start_date=data.start_date,
        planned_end=data.planned_end,
        placing_kommun=data.placing_kommun.strip(),
        receiving_kommun=data.receiving_kommun.strip(),
        receiving_area_id=data.receiving_area_id,
        workflow_name=definition.name,
        workflow_version=definition.version,
        state=definition.initial,
        state_entered_at=now,
        created_at=now,
        updated_at=now,
    )
    try:
        # In a savepoint: a concurrent registration for the same child that committed first
        # trips the partial unique index, and the refusal is then the same as above.
        with session.begin_nested():
            session.add(placement)
    except IntegrityError:
        _refuse_second_placement(session, data.child_id, unit_id)
        raise
    exam_definition = registry.latest(EXAM_WORKFLOW)
    for part, contact in (
        (HealthExamPart.FYSISK_PSYKISK, data.vardcentral),
        (HealthExamPart.MUNHALSA, data.tandvard),
    ):
        assert contact.organisation_id is not None
        session.add(
            HealthExamRequest(
                placement_id=placement.id,
                part=part,
                region_organisation_id=contact.organisation_id,
                contact_name=contact.contact_name.strip(),
                contact_email=contact.contact_email.strip(),
                workflow_name=exam_definition.name,
                workflow_version=exam_definition.version,
                status=exam_definition.initial,
                status_entered_at=now,
                created_at=now,
                link_nonce=secrets.token_urlsafe(12),
            )
        )
    session.flush()
    _record(
        session,
        placement,
        actor,
        now,
        EventKind.PLACEMENT_REGISTERED,
        definition,
        to_state=placement.state,
        details={
            "form": data.form.value,
            "legal_basis": data.legal_basis.value,
            "start_date": data.start_date.isoformat(),
        },
    )
    if data.start_date <= today:
        fire_placement(session, registry, notifier, placement, "starta", actor, now)
    else:
        sync_placement_reminders(session, placement, now, registry)
    return placement


def current_placement(session: Session, child_id: int) -> Placement | None:
    """The child's current placement (före, under or inför avslut), at whichever unit."""
    return session.scalars(
        select(Placement).where(
            Placement.child_id == child_id, Placement.state.in_(CURRENT_PLACEMENT_STATES)
        )
    ).first()


def _refuse_second_placement(session: Session, child_id: int, unit_id: int) -> None:
    """Raise PlacementExists when the child has a current placement. The registering unit's
    own placement is described; another unit's is not: only that unit is named, with its
    functional mailbox, so the two can talk (and not even that when the child has protected
    identity: the unit would tell where the child lives; that unit is told and gets in touch)."""
    ongoing = current_placement(session, child_id)
    if ongoing is None:
        return
    if ongoing.unit_id == unit_id:
        # A move (omplacering) ends the current placement first, so each child has one
        # current placement and its examinations are not requested twice by mistake.
        message = (
            f"Barnet har redan en placering ({PLACEMENT_FORM_LABELS[ongoing.form]} från "
            f"{ongoing.start_date:%Y-%m-%d}). Avsluta den innan du registrerar en ny."
        )
    elif session.get_one(Child, child_id).protected_identity:
        message = (
            "Barnet har redan en pågående placering som en annan enhet har registrerat. "
            "Barnet har skyddade personuppgifter, så enheten visas inte här; den har fått "
            "besked om att ni försökt registrera en placering och kontaktar er."
        )
    else:
        unit = ongoing.unit
        reach = f", {unit.email}" if unit.email else ""
        message = (
            f"Barnet har redan en pågående placering som en annan enhet har registrerat: "
            f"{unit.name}{reach}. Kontakta enheten; den har fått besked om att ni försökt "
            f"registrera en placering. Uppgifter om placeringen visas inte här."
        )
    raise PlacementExists({"child_id": message}, placement_id=ongoing.id)


def record_refused_registration(
    session: Session,
    registry: WorkflowRegistry,
    notifier: Notifier | None,
    refused: PlacementExists,
    actor: Actor,
    now: datetime,
) -> CaseEvent:
    """The refused registration in the history of the current placement's case, in a
    transaction of the caller's choosing (the refused one was rolled back). When the attempt
    came from another unit, the placement's coordinator is also told by mail which unit tried
    and how to reach it: no name, personnummer or detail of the child, only the case
    reference, which means something only inside the owning unit."""
    placement = session.get_one(Placement, refused.placement_id)
    other_unit = (
        session.get(Organisation, actor.organisation_id)
        if actor.organisation_id is not None and actor.organisation_id != placement.unit_id
        else None
    )
    event = _record(
        session,
        placement,
        actor,
        now,
        EventKind.TRANSITION_REFUSED,
        registry.get(placement.workflow_name, placement.workflow_version),
        trigger="registrera",
        from_state=placement.state,
        reason=(
            f"{other_unit.name} försökte registrera en placering för barnet. Nekades: barnet "
            "har redan en pågående placering här."
            if other_unit is not None
            else "En ny placering nekades: barnet har redan en pågående placering."
        ),
        details={
            "error": type(refused).__name__,
            **({"organisation_id": other_unit.id} if other_unit is not None else {}),
        },
    )
    # The placement's coordinator, or the unit's functional mailbox when there is no address.
    coordinator = placement.coordinator
    to_address = (coordinator.contact_email if coordinator else None) or placement.unit.email
    to_name = coordinator.display_name if coordinator else placement.unit.name
    if other_unit is not None and to_address and notifier is not None:
        case = placement.case
        reach = f" ({other_unit.email})" if other_unit.email else ""
        lines = [
            f"Hej {to_name},",
            "",
            f"{other_unit.name}{reach} försökte registrera en placering för barnet i ärende "
            f"{case.reference}. Registreringen nekades eftersom barnet redan har en pågående "
            "placering hos er, så hälsoundersökningarna begärs inte två gånger.",
            "",
            f"Kontakta {other_unit.name} om placeringen. Försöket finns i ärendets historik.",
        ]
        notifier.plain_message(
            session,
            now,
            case_id=case.id,
            to_address=to_address,
            to_name=to_name,
            kind=KIND_PLACEMENT_ATTEMPT,
            subject=f"En annan enhet försökte registrera en placering ({case.reference})",
            lines=lines,
            tag=f"pn{placement.id}",
        )
    session.flush()
    return event


# --- moving ------------------------------------------------------------------------------


def _record(
    session: Session,
    placement: Placement,
    actor: Actor,
    now: datetime,
    kind: EventKind,
    definition: WorkflowDefinition,
    *,
    trigger: str | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    details: dict[str, Any] | None = None,
) -> CaseEvent:
    """A placement's or examination's change, in the linked case's history."""
    return record_event(
        session,
        placement.case,
        actor,
        kind,
        now,
        trigger=trigger,
        from_state=from_state,
        to_state=to_state,
        reason=reason,
        details={"placement_id": placement.id, **(details or {})},
        workflow=definition,
    )


def _flush(session: Session, placement_id: int) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise CaseConflict(CONFLICT_MESSAGE, case_id=placement_id) from exc


def _checked_trigger(
    definition: WorkflowDefinition,
    state: str,
    trigger_id: str,
    actor: Actor,
    unit_id: int,
    reason: str | None,
    *,
    via_link: bool,
) -> TriggerDef:
    """Everything the engine checks before a move, in the same order and with the same errors,
    so a refused move raises before anything is changed."""
    trigger = definition.triggers.get(trigger_id)
    if trigger is None:
        raise UnknownTrigger(f"Åtgärden '{trigger_id}' finns inte.", trigger=trigger_id)
    if state not in trigger.sources:
        raise IllegalTransition(
            f"”{trigger.label}” kan inte göras när statusen är ”{definition.state_label(state)}”.",
            trigger=trigger_id,
            state=state,
        )
    if via_link:
        if not trigger.link:
            raise NotPermitted("Det här kan inte göras via länken.", trigger=trigger_id)
    elif not actor.is_system:
        if actor.role not in trigger.roles:
            raise NotPermitted("Din roll får inte göra detta.", trigger=trigger_id)
        _check_editor(actor, unit_id)
    if trigger.requires_reason and not reason:
        message = (
            NOT_NEEDED_HELP
            if trigger.id == "obehovlig"
            else f"”{trigger.label}” kräver en motivering."
        )
        raise ReasonRequired(message, trigger=trigger_id, state=state)
    return trigger


def _run_machine(
    session: Session,
    registry: WorkflowRegistry,
    definition: WorkflowDefinition,
    state: str,
    trigger: TriggerDef,
    case: Case,
    actor: Actor,
    now: datetime,
) -> str:
    ctx = TransitionContext(session, case, actor, now, definition, trigger)
    new_state = registry.compiled(definition.name, definition.version).run(state, ctx)
    # These workflows name no guards, so the machine refuses nothing the checks above let by.
    assert new_state is not None
    return new_state


def fire_placement(
    session: Session,
    registry: WorkflowRegistry,
    notifier: Notifier | None,
    placement: Placement,
    trigger_id: str,
    actor: Actor,
    now: datetime,
    *,
    reason: str | None = None,
    ended_on: date | None = None,
    expected_version: int | None = None,
) -> CaseEvent:
    """Move the placement to its next phase. Starting it requests every examination part
    still *att begära*; ending it records the end date."""
    definition = registry.get(placement.workflow_name, placement.workflow_version)
    if expected_version is not None and expected_version != placement.version:
        raise CaseConflict(CONFLICT_MESSAGE, case_id=placement.case_id)
    reason = (reason or "").strip() or None
    state = placement.state
    trigger = _checked_trigger(
        definition, state, trigger_id, actor, placement.unit_id, reason, via_link=False
    )
    today = local_date(now)
    if trigger.id == "avsluta_placering":
        ended_on = ended_on or today
        if ended_on > today:
            raise ValidationError({"ended_on": "Slutdatum kan inte ligga i framtiden."})
        if ended_on < placement.start_date:
            raise ValidationError({"ended_on": "Slutdatum kan inte ligga före startdatum."})
    new_state = _run_machine(
        session, registry, definition, state, trigger, placement.case, actor, now
    )
    placement.state = new_state
    placement.state_entered_at = now
    placement.updated_at = now
    if trigger.id == "avsluta_placering":
        placement.ended_on = ended_on
    event = _record(
        session,
        placement,
        actor,
        now,
        EventKind.PLACEMENT_TRANSITION,
        definition,
        trigger=trigger.id,
        from_state=state,
        to_state=new_state,
        reason=reason,
        details={"ended_on": ended_on.isoformat()} if ended_on else None,
    )
    _flush(session, placement.id)
    if new_state in STARTED_STATES:
        for exam in placement.health_exams:
            if exam.status == "att_begara":
                fire_exam(session, registry, notifier, exam, "begar", actor, now)
    sync_placement_reminders(session, placement, now, registry)
    return event


def fire_exam(
    session: Session,
    registry: WorkflowRegistry,
    notifier: Notifier | None,
    exam: HealthExamRequest,
    trigger_id: str,
    actor: Actor,
    now: datetime,
    *,
    reason: str | None = None,
    offered_time: datetime | None = None,
    done_on: date | None = None,
    statement_on: date | None = None,
    via_link: bool = False,
    via_account: bool = False,
    expected_version: int | None = None,
) -> CaseEvent:
    """Move one examination part. *Begärd* records the legal basis and queues the notice to
    the region contact; *obehövlig* needs a reason; the region's link may only offer a time
    and report the examination done."""
    definition = registry.get(exam.workflow_name, exam.workflow_version)
    placement = exam.placement
    if expected_version is not None and expected_version != exam.version:
        raise CaseConflict(CONFLICT_MESSAGE, case_id=placement.case_id)
    reason = (reason or "").strip() or None
    state = exam.status
    trigger = _checked_trigger(
        definition,
        state,
        trigger_id,
        actor,
        placement.unit_id,
        reason,
        via_link=via_link or via_account,
    )
    if via_account and (
        actor.role is not Role.DELTAGARE or actor.organisation_id != exam.region_organisation_id
    ):
        # Region staff with an account reach only the parts requested from their clinic.
        raise NotPermitted("Begäran gäller inte din verksamhet.", trigger=trigger_id)
    today = local_date(now)
    details: dict[str, Any] = {"health_exam_id": exam.id, "part": exam.part.value}
    if trigger.id == "begar" and placement.state not in STARTED_STATES:
        raise IllegalTransition(
            "Begäran skickas när placeringen har börjat.", trigger=trigger_id, state=state
        )
    if trigger.id == "erbjud_tid":
        if offered_time is None:
            raise ValidationError({"offered_time": "Ange den erbjudna tiden."})
        details["offered_time"] = offered_time.isoformat()
    if trigger.id == "genomford":
        done_on = done_on or today
        if done_on > today:
            raise ValidationError({"done_on": "Datumet kan inte ligga i framtiden."})
        details["done_on"] = done_on.isoformat()
    if trigger.id == "utlatande":
        statement_on = statement_on or today
        if statement_on > today:
            raise ValidationError({"statement_on": "Datumet kan inte ligga i framtiden."})
        details["statement_on"] = statement_on.isoformat()
    if trigger.id == "begar":
        details["legal_basis"] = EXAM_LEGAL_BASIS
    if via_link:
        details["via_link"] = True
    if via_account:
        details["via_region_account"] = True

    new_state = _run_machine(
        session, registry, definition, state, trigger, placement.case, actor, now
    )
    exam.status = new_state
    exam.status_entered_at = now
    if trigger.id == "begar":
        exam.requested_at = now
        exam.legal_basis = EXAM_LEGAL_BASIS
    elif trigger.id == "erbjud_tid":
        exam.offered_time = offered_time
        exam.offered_recorded_at = now
    elif trigger.id == "genomford":
        exam.done_on = done_on
    elif trigger.id == "utlatande":
        exam.statement_received_on = statement_on
    elif trigger.id == "obehovlig":
        exam.not_needed_reason = reason
    placement.updated_at = now
    event = _record(
        session,
        placement,
        actor,
        now,
        EventKind.HEALTH_EXAM_CHANGED,
        definition,
        trigger=trigger.id,
        from_state=state,
        to_state=new_state,
        reason=reason,
        details=details,
    )
    if trigger.id == "begar" and notifier is not None:
        queue_exam_notice(session, registry, notifier, exam, now)
    _flush(session, placement.id)
    sync_placement_reminders(session, placement, now, registry)
    return event


def exam_link(notifier: Notifier, exam: HealthExamRequest) -> str:
    links = HealthExamLinks(notifier.links)
    return links.url(links.token(exam.id, exam.placement_id, exam.link_nonce))


def queue_exam_notice(
    session: Session,
    registry: WorkflowRegistry,
    notifier: Notifier,
    exam: HealthExamRequest,
    now: datetime,
) -> OutboxMessage:
    """The request to the region contact, written to the outbox.

    Like the kallelse, the e-mail carries no name, personnummer, address or school of the
    child: e-mail is not a safe channel for them. OSL 10:28 allows socialnämnden to give the
    region what it needs to offer the examination, so the child's name and personnummer are
    shown behind the personal link, which only this contact receives; the mail says what is
    asked, by when, and where to answer.
    """
    placement = exam.placement
    case = placement.case
    deadline = exam_deadline(registry, exam)
    coordinator = placement.coordinator
    contact_lines = []
    if coordinator is not None:
        contact_lines.append(f"Samordnare: {coordinator.display_name}")
        if coordinator.contact_email:
            contact_lines.append(f"E-post: {coordinator.contact_email}")
    lines = [
        f"Hej {exam.contact_name},",
        "",
        f"Socialnämnden i {placement.placing_kommun} begär hälsoundersökning av ett barn "
        f"som placerats utanför hemmet (lag 2017:209).",
        "",
        f"Del: {HEALTH_EXAM_PART_LABELS[exam.part]}",
        f"Placeringen började: {placement.start_date:%Y-%m-%d}",
        f"Underlag: {EXAM_LEGAL_BASIS} (samtycke behövs inte)",
        f"Erbjud en tid senast: {deadline:%Y-%m-%d}" if deadline else "",
        f"Ärende: {case.reference}",
        "",
        "Barnets uppgifter finns på din personliga länk. Där registrerar du också erbjuden "
        "tid och genomförd undersökning:",
        exam_link(notifier, exam),
        "",
        "Länken är personlig. Vidarebefordra den inte.",
        *(["", *contact_lines] if contact_lines else []),
        "",
        "Med vänlig hälsning",
        "SIP-stöd",
    ]
    message = OutboxMessage(
        created_at=now,
        case_id=case.id,
        invitation_id=None,
        kind=KIND_EXAM_NOTICE,
        to_address=exam.contact_email,
        to_name=exam.contact_name,
        subject=f"Begäran om hälsoundersökning: {HEALTH_EXAM_PART_LABELS[exam.part]} "
        f"({case.reference})",
        body_text="\n".join(lines),
        ics=None,
        ics_method=None,
        message_id=f"<sip-h{exam.id}-{secrets.token_hex(8)}@{notifier.domain}>",
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
    )
    session.add(message)
    return message


# --- the region's personal link -----------------------------------------------------------


def open_requests_for_region_staff(session: Session, actor: Actor) -> list[HealthExamRequest]:
    """The examination parts requested from the actor's clinic that still await the region:
    what region staff with an account may update (as the personal link would let them)."""
    if actor.role is not Role.DELTAGARE or actor.organisation_id is None:
        return []
    return list(
        session.scalars(
            select(HealthExamRequest)
            .join(Placement, Placement.id == HealthExamRequest.placement_id)
            .where(
                HealthExamRequest.region_organisation_id == actor.organisation_id,
                HealthExamRequest.status.in_(["begard", "tid_erbjuden"]),
                Placement.state != "avslutad",
            )
            .order_by(HealthExamRequest.requested_at, HealthExamRequest.id)
        )
    )


class ExamLinkClosed(ValueError):
    """The part is finished (or the placement closed): the link shows nothing and records
    nothing any more."""


def open_exam_link(session: Session, notifier: Notifier, token: str) -> HealthExamRequest:
    """The examination part a link belongs to; BadLink if it was altered, belongs to no part
    or was replaced; ExamLinkClosed if the part is finished."""
    from sip_engine.notify.links import BadLink

    claims = HealthExamLinks(notifier.links).verify(token)
    exam = session.get(HealthExamRequest, claims.exam_id)
    if (
        exam is None
        or exam.placement_id != claims.placement_id
        or not secrets.compare_digest(exam.link_nonce, claims.nonce)
    ):
        raise BadLink("Länken är ogiltig.")
    if exam.status in EXAM_FINAL_STATES or exam.placement.state == "avslutad":
        raise ExamLinkClosed(
            "Den här begäran är redan avslutad. Kontakta samordnaren om något behöver ändras."
        )
    return exam


def link_actor(exam: HealthExamRequest) -> Actor:
    return Actor(
        label=f"{exam.contact_name} ({exam.region_organisation.name}), personlig länk",
        role=None,
        organisation_id=exam.region_organisation_id,
    )


def local_datetime(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=STOCKHOLM)
