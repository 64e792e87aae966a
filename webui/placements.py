"""Placement pages: the "Placerade barn" dashboard, registering a placement, a placement's page
with its phases and examination parts, and the region contact's personal link.

Every placement is loaded through ``placement_or_404`` (unit scope + read audit), so a
placement of another unit answers exactly like a missing one.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required
from sqlalchemy import select

from sip_engine.clock import local_date
from sip_engine.models import (
    HEALTH_EXAM_PART_LABELS,
    PLACEMENT_BASIS_LABELS,
    PLACEMENT_FORM_LABELS,
    CaseEvent,
    EventKind,
    HealthExamPart,
    HealthExamRequest,
    NosamArea,
    Organisation,
    Party,
    Placement,
    PlacementBasis,
    PlacementForm,
    Role,
)
from sip_engine.notify.links import BadLink
from sip_engine.services import cases as case_service
from sip_engine.services import placements as placement_service
from sip_engine.services.common import ValidationError
from sip_engine.services.placement_dashboard import (
    get_visible_placement,
    placed_children,
    visible_placements,
)
from sip_engine.workflow import CaseConflict, WorkflowError

from .context import actor, audit, db, now, require_role, runtime
from .forms import FormReader

bp = Blueprint("placements", __name__)

EDITORS = (Role.SAMORDNARE, Role.CHEF)


@bp.app_context_processor
def _placement_helpers() -> dict[str, Any]:
    def placements_of_case(case_id: int) -> list[Placement]:
        """The case's placements the signed-in user may see (none for participants)."""
        return list(
            db().scalars(
                visible_placements(actor())
                .where(Placement.case_id == case_id)
                .order_by(Placement.start_date.desc())
            )
        )

    def phase_label(placement: Placement) -> str:
        definition = runtime().registry.get(placement.workflow_name, placement.workflow_version)
        return definition.state_label(placement.state)

    def workflow_state_label(name: str, version: int, state: str) -> str:
        # Events of other workflows (placement, examination) in a case's timeline.
        definition = runtime().registry.get(name, version)
        return definition.state_label(state) if state in definition.states else state

    return {
        "workflow_state_label": workflow_state_label,
        "health_exam_part_label": lambda part: HEALTH_EXAM_PART_LABELS.get(
            HealthExamPart(part), str(part)
        ),
        "placements_of_case": placements_of_case,
        "placement_phase_label": phase_label,
        "placement_form_label": lambda form: PLACEMENT_FORM_LABELS.get(form, str(form)),
    }


def placement_or_404(placement_id: int, action: str) -> Placement:
    placement = get_visible_placement(db(), actor(), placement_id)
    if placement is None:
        abort(404)
    audit(action, placement.case_id)
    return placement


def _labels() -> dict[str, Any]:
    return {
        "form_labels": {f.value: label for f, label in PLACEMENT_FORM_LABELS.items()},
        "basis_labels": {b.value: label for b, label in PLACEMENT_BASIS_LABELS.items()},
        "part_labels": {p.value: label for p, label in HEALTH_EXAM_PART_LABELS.items()},
        "parts": list(HealthExamPart),
    }


@bp.route("/placerade-barn")
@login_required
def dashboard() -> ResponseReturnValue:
    require_role(*EDITORS)
    f = FormReader(request.args)
    area_id = f.integer("area")
    form_value = f.choice("form", {p.value for p in PlacementForm})
    board = placed_children(
        db(),
        runtime().registry,
        actor(),
        local_date(now()),
        area_id=area_id,
        form=PlacementForm(form_value) if form_value else None,
    )
    audit("placement_dashboard")
    areas = list(db().scalars(select(NosamArea).order_by(NosamArea.name)))
    return render_template(
        "placements/dashboard.html",
        board=board,
        areas=areas,
        area_id=area_id,
        form_value=form_value,
        **_labels(),
    )


@bp.route("/placeringar/ny", methods=["GET", "POST"])
@login_required
def new_placement() -> ResponseReturnValue:
    require_role(*EDITORS)
    session, me = db(), actor()
    today = local_date(now())
    values: dict[str, Any] = {"start_date": today.isoformat(), "placing_kommun": "Göteborg"}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        f = FormReader(request.form)
        first = f.text("first_name", required="Ange förnamn.", max_length=80)
        last = f.text("last_name", required="Ange efternamn.", max_length=80)
        identity = f.text("identity_number", max_length=20)
        birth = f.day("birth_date")
        form_value = f.choice(
            "form", {p.value for p in PlacementForm}, required="Välj placeringsform."
        )
        basis = f.choice("legal_basis", {b.value for b in PlacementBasis}, required="Välj lagrum.")
        start = f.day("start_date", required="Ange startdatum.")
        planned_end = f.day("planned_end")
        placing = f.text("placing_kommun", required="Ange placerande kommun.", max_length=80)
        receiving = f.text("receiving_kommun", required="Ange mottagande kommun.", max_length=80)
        area_id = f.integer("receiving_area_id", required="Välj NOSAM-område.")
        contacts = {
            prefix: placement_service.ExamContactInput(
                organisation_id=f.integer(f"{prefix}_organisation_id"),
                contact_name=f.text(f"{prefix}_contact_name", max_length=160),
                contact_email=f.text(f"{prefix}_contact_email", max_length=254),
            )
            for prefix in ("vardcentral", "tandvard")
        }
        if not identity and birth is None:
            f.errors["identity_number"] = "Ange personnummer, eller födelsedatum om det saknas."
        errors = f.errors
        if not errors:
            assert form_value and basis and start and area_id is not None
            try:
                child = case_service.register_child(
                    session,
                    first_name=first,
                    last_name=last,
                    identity_number=identity or None,
                    birth_date=birth,
                    today=today,
                )
                placement = placement_service.register_placement(
                    session,
                    runtime().registry,
                    runtime().notifier,
                    me,
                    now(),
                    placement_service.NewPlacement(
                        child_id=child.id,
                        form=PlacementForm(form_value),
                        legal_basis=PlacementBasis(basis),
                        start_date=start,
                        planned_end=planned_end,
                        placing_kommun=placing,
                        receiving_kommun=receiving,
                        receiving_area_id=area_id,
                        vardcentral=contacts["vardcentral"],
                        tandvard=contacts["tandvard"],
                    ),
                )
            except ValidationError as exc:
                session.rollback()
                errors = dict(exc.errors)
                if "child_id" in errors:  # shown at the child's personnummer
                    errors["identity_number"] = errors.pop("child_id")
                if isinstance(exc, placement_service.PlacementExists):
                    # The refusal goes to the current placement's history (and, from another
                    # unit, to its coordinator) in a transaction of its own.
                    placement_service.record_refused_registration(
                        session, runtime().registry, runtime().notifier, exc, me, now()
                    )
                    session.commit()
            else:
                session.commit()
                flash(_("Placeringen är registrerad."), "success")
                return redirect(url_for("placements.show", placement_id=placement.id)), 303
    regions = list(
        session.scalars(
            select(Organisation)
            .where(Organisation.party == Party.REGION)
            .order_by(Organisation.name)
        )
    )
    areas = list(session.scalars(select(NosamArea).order_by(NosamArea.name)))
    return render_template(
        "placements/new.html",
        values=values,
        errors=errors,
        region_options=[(o.id, o.name) for o in regions],
        area_options=[(a.id, a.name) for a in areas],
        **_labels(),
    ), (400 if errors else 200)


@bp.route("/placeringar/<int:placement_id>")
@login_required
def show(placement_id: int) -> ResponseReturnValue:
    require_role(*EDITORS)
    session = db()
    placement = placement_or_404(placement_id, "placement_page")
    registry = runtime().registry
    definition = registry.get(placement.workflow_name, placement.workflow_version)
    exam_definition = registry.latest(placement_service.EXAM_WORKFLOW)
    today = local_date(now())
    history = [
        e
        for e in session.scalars(
            select(CaseEvent)
            .where(
                CaseEvent.case_id == placement.case_id,
                CaseEvent.kind.in_(
                    [
                        EventKind.PLACEMENT_REGISTERED,
                        EventKind.PLACEMENT_TRANSITION,
                        EventKind.HEALTH_EXAM_CHANGED,
                    ]
                ),
            )
            .order_by(CaseEvent.at.desc(), CaseEvent.id.desc())
        )
        if e.details.get("placement_id") == placement.id
    ]
    exams = [
        {
            "exam": exam,
            "label": exam_definition.state_label(exam.status),
            "deadline": placement_service.exam_deadline(registry, exam),
            "overdue": placement_service.exam_overdue(registry, exam, today),
            "triggers": registry.get(exam.workflow_name, exam.workflow_version).triggers_from(
                exam.status
            ),
        }
        for exam in placement.health_exams
    ]
    return render_template(
        "placements/show.html",
        placement=placement,
        definition=definition,
        exam_definition=exam_definition,
        phases=placement_service.placement_phases(session, registry, placement),
        triggers=definition.triggers_from(placement.state),
        exams=exams,
        history=history,
        **_labels(),
    )


def _refused(placement_id: int, error: WorkflowError | ValidationError) -> ResponseReturnValue:
    db().rollback()
    if isinstance(error, ValidationError):
        for message in error.errors.values():
            flash(message, "error")
    else:
        flash(error.message, "error")
    return redirect(url_for("placements.show", placement_id=placement_id)), 303


@bp.route("/placeringar/<int:placement_id>/fas/<trigger:trigger>", methods=["POST"])
@login_required
def fire(placement_id: int, trigger: str) -> ResponseReturnValue:
    require_role(*EDITORS)
    placement = placement_or_404(placement_id, "placement_fire")
    f = FormReader(request.form)
    try:
        placement_service.fire_placement(
            db(),
            runtime().registry,
            runtime().notifier,
            placement,
            trigger,
            actor(),
            now(),
            reason=f.text("reason", max_length=2000) or None,
            ended_on=f.day("ended_on"),
            expected_version=f.integer("version"),
        )
        if f.errors:
            raise ValidationError(f.errors)
    except (WorkflowError, ValidationError) as error:
        return _refused(placement_id, error)
    db().commit()
    label = runtime().registry.get(placement.workflow_name, placement.workflow_version)
    flash(
        _("Klart: placeringen är nu ”%(phase)s”.", phase=label.state_label(placement.state)),
        "success",
    )
    return redirect(url_for("placements.show", placement_id=placement_id)), 303


@bp.route("/placeringar/<int:placement_id>/halsa/<int:exam_id>/<trigger:trigger>", methods=["POST"])
@login_required
def fire_exam(placement_id: int, exam_id: int, trigger: str) -> ResponseReturnValue:
    require_role(*EDITORS)
    placement = placement_or_404(placement_id, "health_exam_fire")
    exam = next((e for e in placement.health_exams if e.id == exam_id), None)
    if exam is None:
        abort(404)
    f = FormReader(request.form)
    try:
        offered = f.local_datetime("offered_time")
        done_on = f.day("done_on")
        statement_on = f.day("statement_on")
        if f.errors:
            raise ValidationError(f.errors)
        placement_service.fire_exam(
            db(),
            runtime().registry,
            runtime().notifier,
            exam,
            trigger,
            actor(),
            now(),
            reason=f.text("reason", max_length=2000) or None,
            offered_time=offered,
            done_on=done_on,
            statement_on=statement_on,
            expected_version=f.integer("version"),
        )
    except (WorkflowError, ValidationError) as error:
        return _refused(placement_id, error)
    db().commit()
    flash(_("Hälsoundersökningen är uppdaterad."), "success")
    return redirect(url_for("placements.show", placement_id=placement_id)), 303


# --- the region contact's personal link ---------------------------------------------------


def _open_link(token: str) -> HealthExamRequest | ResponseReturnValue:
    try:
        return placement_service.open_exam_link(db(), runtime().notifier, token)
    except BadLink:
        return render_template(
            "answers/invalid.html",
            title=_("Länken fungerar inte"),
            message=_(
                "Länken är ogiltig eller har ändrats. Använd länken i det senaste meddelandet, "
                "eller kontakta samordnaren."
            ),
        ), 404
    except placement_service.ExamLinkClosed as exc:
        return render_template(
            "answers/invalid.html", title=_("Länken har gått ut"), message=str(exc)
        ), 410


@bp.route("/halsoundersokning/<token>", methods=["GET", "POST"])
def region_link(token: str) -> ResponseReturnValue:
    """GET shows the request and a form; only POST records (mail scanners open every link).
    The link is the credential and only ever reaches the part it was issued for."""
    opened = _open_link(token)
    if not isinstance(opened, HealthExamRequest):
        return opened
    exam = opened
    errors: dict[str, str] = {}
    saved = False
    if request.method == "POST":
        f = FormReader(request.form)
        trigger = f.choice(
            "trigger", {"erbjud_tid", "genomford"}, required="Välj vad du vill registrera."
        )
        offered = f.local_datetime("offered_time")
        done_on = f.day("done_on")
        try:
            if f.errors or trigger is None:
                raise ValidationError(f.errors)
            placement_service.fire_exam(
                db(),
                runtime().registry,
                runtime().notifier,
                exam,
                trigger,
                placement_service.link_actor(exam),
                now(),
                offered_time=offered,
                done_on=done_on,
                via_link=True,
            )
        except (ValidationError, WorkflowError) as error:
            db().rollback()
            errors = (
                error.errors if isinstance(error, ValidationError) else {"trigger": error.message}
            )
            if isinstance(error, CaseConflict):
                errors = {"trigger": error.message}
            reopened = _open_link(token)
            if not isinstance(reopened, HealthExamRequest):
                return reopened
            exam = reopened
        else:
            db().commit()
            saved = True
    # The page shows the child's name and personnummer: every opening of the link is a read.
    audit(f"health_exam_link:{exam.id}", exam.placement.case_id)
    definition = runtime().registry.get(exam.workflow_name, exam.workflow_version)
    return render_template(
        "placements/region.html",
        exam=exam,
        placement=exam.placement,
        child=exam.placement.child,
        status_label=definition.state_label(exam.status),
        deadline=placement_service.exam_deadline(runtime().registry, exam),
        link_triggers=[t for t in definition.triggers_from(exam.status) if t.link],
        errors=errors,
        values=request.form.to_dict() if errors else {},
        saved=saved,
        token=token,
        **_labels(),
    ), (400 if errors else 200)


# --- region staff with an account ---------------------------------------------------------


@bp.route("/halsoundersokningar")
@login_required
def region_requests() -> ResponseReturnValue:
    """Region staff signed in: the parts requested from their clinic that await a time or the
    examination, with the same two things the personal link allows."""
    require_role(Role.DELTAGARE)
    requests = placement_service.open_requests_for_region_staff(db(), actor())
    for exam in requests:
        audit("health_exam_request", exam.placement.case_id)
    registry = runtime().registry
    rows = [
        {
            "exam": exam,
            "status_label": registry.get(exam.workflow_name, exam.workflow_version).state_label(
                exam.status
            ),
            "deadline": placement_service.exam_deadline(registry, exam),
            "triggers": [
                t
                for t in registry.get(exam.workflow_name, exam.workflow_version).triggers_from(
                    exam.status
                )
                if t.link
            ],
        }
        for exam in requests
    ]
    return render_template("placements/region_list.html", rows=rows, **_labels())


@bp.route("/halsoundersokningar/<int:exam_id>/<trigger:trigger>", methods=["POST"])
@login_required
def region_update(exam_id: int, trigger: str) -> ResponseReturnValue:
    require_role(Role.DELTAGARE)
    me = actor()
    exam = next(
        (e for e in placement_service.open_requests_for_region_staff(db(), me) if e.id == exam_id),
        None,
    )
    if exam is None:
        abort(404)  # not requested from this clinic, or no longer open: as if missing
    f = FormReader(request.form)
    try:
        offered = f.local_datetime("offered_time")
        done_on = f.day("done_on")
        if f.errors:
            raise ValidationError(f.errors)
        placement_service.fire_exam(
            db(),
            runtime().registry,
            runtime().notifier,
            exam,
            trigger,
            me,
            now(),
            offered_time=offered,
            done_on=done_on,
            via_account=True,
            expected_version=f.integer("version"),
        )
    except (WorkflowError, ValidationError) as error:
        db().rollback()
        messages = (
            list(error.errors.values()) if isinstance(error, ValidationError) else [error.message]
        )
        for message in messages:
            flash(message, "error")
        return redirect(url_for("placements.region_requests")), 303
    db().commit()
    flash(_("Det är registrerat."), "success")
    return redirect(url_for("placements.region_requests")), 303
