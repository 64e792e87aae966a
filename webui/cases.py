"""Case pages: the list, a new case, the case page with its forms, and firing triggers.

Handlers are thin: read the form, call a service or the engine, commit once, redirect.
Every case is loaded through ``case_or_404`` (scope + read audit).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import bindparam, select

from sip_engine.clock import local_date
from sip_engine.consent_rules import CasePart
from sip_engine.models import (
    Case,
    CaseEvent,
    Consent,
    ConsentForm,
    EventKind,
    FunctionRole,
    Invitation,
    Meeting,
    MeetingFormat,
    NosamArea,
    Organisation,
    OutboxMessage,
    Participant,
    Party,
    PlanVersion,
    Professional,
    RaisedBy,
    Role,
    User,
    lead_organisation_error,
    samordningsansvarig_error,
    samordningsansvarig_of,
)
from sip_engine.notify import KIND_CANCEL, KIND_UPDATE, MailReport
from sip_engine.services import access
from sip_engine.services import answers as answer_service
from sip_engine.services import cases as case_service
from sip_engine.services import consent as consent_service
from sip_engine.services import meetings as meeting_service
from sip_engine.services import outbox as outbox_service
from sip_engine.services import participants as participant_service
from sip_engine.services import plans as plan_service
from sip_engine.services.common import CaseClosed, ValidationError, mail_of_last_change
from sip_engine.services.queries import CaseFilter, search_cases
from sip_engine.workflow import CaseConflict, NotPermitted, WorkflowError

from .context import (
    actor,
    audit,
    case_href_prefix,
    case_or_404,
    db,
    now,
    require_role,
    runtime,
)
from .forms import MAX_DB_INT, FormReader, local_input, parse_int

bp = Blueprint("cases", __name__, url_prefix="/arenden")

EDITORS = (Role.SAMORDNARE, Role.CHEF)

EVENT_LABELS = {
    EventKind.CASE_OPENED: "Ärendet öppnades",
    EventKind.TRANSITION: "Steg",
    EventKind.TRANSITION_REFUSED: "Nekad åtgärd",
    EventKind.CASE_UPDATED: "Ärendet ändrades",
    EventKind.PARTICIPANT_ADDED: "Deltagare lades till",
    EventKind.PARTICIPANT_UPDATED: "Deltagare ändrades",
    EventKind.PARTICIPANT_REMOVED: "Deltagare togs bort",
    EventKind.CONSENT_RECORDED: "Samtycke registrerades",
    EventKind.CONSENT_REVOKED: "Samtycke återkallades",
    EventKind.MEETING_SCHEDULED: "Möte planerades",
    EventKind.MEETING_UPDATED: "Mötet ändrades",
    EventKind.ATTENDANCE_RECORDED: "Närvaro registrerades",
    EventKind.PLAN_DRAFTED: "Planen sparades",
    EventKind.PLAN_ADOPTED: "Planen antogs",
    EventKind.CHILD_VOICE_RECORDED: "Barnets röst dokumenterades",
    EventKind.INVITATION_ANSWERED: "Svar på kallelse",
    EventKind.SUBSTITUTE_HELD: "Ersättare väntar på godkännande (utanför samtycket)",
    EventKind.SUBSTITUTE_DECIDED: "Beslut om ersättare",
    EventKind.PLACEMENT_REGISTERED: "Placering registrerades",
    EventKind.PLACEMENT_TRANSITION: "Placeringen bytte fas",
    EventKind.HEALTH_EXAM_CHANGED: "Hälsoundersökning",
    EventKind.MESSAGE_RESENT: "Meddelande skickades om",
}


def _organisations(*parties: Party) -> list[Organisation]:
    stmt = select(Organisation).order_by(Organisation.party, Organisation.name)
    if parties:
        stmt = stmt.where(Organisation.party.in_(parties))
    return list(db().scalars(stmt))


# ---------------------------------------------------------------------------- the list


# The filter form's choices, on every list page: statements built once, plain rows (only an
# id and a name each are shown).
_UNIT_COORDINATORS = (
    select(User.id, User.display_name)
    .where(User.organisation_id == bindparam("unit_id"), User.role == Role.SAMORDNARE)
    .order_by(User.display_name)
)
_AREAS = select(NosamArea.id, NosamArea.name).order_by(NosamArea.name)


@bp.route("")
@login_required
def list_cases() -> ResponseReturnValue:
    me = actor()
    if me.role is Role.ADMIN:
        abort(404)
    args = request.args
    definition = runtime().registry.latest("sip")
    # A filter that makes no sense is left out (the list shows what the rest selects).
    f = FormReader(args)
    state = f.choice("state", set(definition.states))
    reason = f.choice("reason", set(case_service.SIP_REASONS))
    flt = CaseFilter(
        state=state,
        nosam_area_id=f.integer("area"),
        coordinator_id=me.user_id if args.get("mine") == "1" else f.integer("coordinator"),
        reason=reason,
        attention=args.get("attention") == "1",
        search=f.text("q")[:100] or None,
        sort=args.get("sort", "opened_desc"),
        # A page beyond any count is no page (and its offset would overflow).
        page=f.integer("page", minimum=1, maximum=MAX_DB_INT // CaseFilter.per_page) or 1,
    )
    session = db()
    page = search_cases(session, me, flt, now())
    connection = session.connection()  # plain rows: no need for the ORM's execution path
    coordinators = connection.execute(_UNIT_COORDINATORS, {"unit_id": me.organisation_id}).all()
    areas = connection.execute(_AREAS).all()
    query = {k: v for k, v in args.items() if k != "page" and v}
    audit("case_list")
    return render_template(
        "cases/list.html",
        page=page,
        flt=flt,
        definition=definition,
        coordinators=coordinators,
        areas=areas,
        reasons=case_service.SIP_REASONS,
        query=query,
        sees=access.parts_by_case(db(), [c.id for c in page.items], me, local_date(now())),
        case_href=case_href_prefix(),
    )


# ---------------------------------------------------------------------------- new case


@bp.route("/nytt", methods=["GET", "POST"])
@login_required
def new_case() -> ResponseReturnValue:
    require_role(*EDITORS)
    me = actor()
    session = db()
    values: dict[str, Any] = {"raised_on": local_date(now()).isoformat()}
    errors: dict[str, str] = {}
    if request.method == "POST":
        values = dict(request.form.to_dict())
        values["reasons"] = request.form.getlist("reasons")
        values["involved"] = request.form.getlist("involved")
        f = FormReader(request.form)
        first = f.text("first_name", required="Ange förnamn.", max_length=80)
        last = f.text("last_name", required="Ange efternamn.", max_length=80)
        identity = f.text("identity_number", max_length=20)
        birth = f.day("birth_date")
        protected = f.flag("protected_identity")
        address = f.text("address", max_length=200)
        school_id = f.integer("school_id")
        guardians = []
        for n in ("1", "2"):
            name = f.text(f"guardian{n}_name", max_length=160)
            if name:
                guardians.append(
                    case_service.GuardianInput(
                        name=name,
                        email=f.text(f"guardian{n}_email", max_length=254) or None,
                        phone=f.text(f"guardian{n}_phone", max_length=40) or None,
                    )
                )
        need = f.text("need_description", required="Beskriv behovet kort.")
        reasons = f.choices("reasons", set(case_service.SIP_REASONS))
        raised_by = f.choice(
            "raised_by", {r.value for r in RaisedBy}, required="Ange vem som väckte behovet."
        )
        raised_org = f.integer("raised_by_organisation_id")
        raised_name = f.text("raised_by_name", max_length=160)
        raised_on = f.day("raised_on", required="Ange datum.")
        area_id = f.integer("nosam_area_id", required="Välj NOSAM-område.")
        involved = f.integers("involved")
        confirm_age = f.flag("confirm_age")
        if not reasons:
            f.errors["reasons"] = "Välj minst ett skäl till SIP."
        if not identity and birth is None:
            f.errors["identity_number"] = "Ange personnummer, eller födelsedatum om det saknas."
        errors = f.errors
        if not errors:
            try:
                child = case_service.register_child(
                    session,
                    first_name=first,
                    last_name=last,
                    identity_number=identity or None,
                    birth_date=birth,
                    today=local_date(now()),
                    protected_identity=protected,
                    address=address or None,
                    school_id=school_id,
                    relatives=guardians,
                )
                assert raised_by is not None and raised_on is not None and area_id is not None
                case = case_service.open_case(
                    session,
                    runtime().registry.latest("sip"),
                    me,
                    now(),
                    case_service.NewCase(
                        child_id=child.id,
                        nosam_area_id=area_id,
                        unit_id=me.organisation_id or 0,
                        need_description=need,
                        raised_by=RaisedBy(raised_by),
                        raised_on=raised_on,
                        reasons=reasons,
                        raised_by_organisation_id=raised_org,
                        raised_by_name=raised_name or None,
                        involved_organisation_ids=involved,
                        confirm_age=confirm_age,
                    ),
                )
            except ValidationError as exc:
                session.rollback()
                errors = exc.errors
            else:
                session.commit()
                flash(f"Ärendet {case.reference} är öppnat.", "success")
                return redirect(url_for("cases.show", case_id=case.id))
    status = 400 if errors else 200
    return (
        render_template(
            "cases/new.html",
            values=values,
            errors=errors,
            reasons=case_service.SIP_REASONS,
            areas=list(session.scalars(select(NosamArea).order_by(NosamArea.name))),
            schools=_organisations(Party.SKOLA),
            organisations=_organisations(),
            raised_by=RaisedBy,
        ),
        status,
    )


# ---------------------------------------------------------------------------- the case page


def _case_context(case: Case) -> dict[str, Any]:
    session, me = db(), actor()
    workflow = runtime().workflow
    definition = workflow.definition_for(case)
    sees = access.visible_parts(session, case, me, local_date(now()))
    participants = case.active_participants
    if CasePart.PARTICIPANTS not in sees:
        # Without a complete consent: their own participation, not who else takes part.
        participants = [p for p in participants if p.professional_id == me.professional_id]
    consents = list(
        session.scalars(select(Consent).where(Consent.case_id == case.id).order_by(Consent.id))
    )
    events = list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id.desc())
        )
    )
    can_edit = me.role in EDITORS and case.closed_at is None
    meeting = meeting_service.open_meeting(session, case)
    invitations = {
        i.participant_id: i
        for i in (runtime().notifier.invitations(session, meeting) if meeting else [])
    }
    messages = list(
        session.scalars(
            select(OutboxMessage)
            .where(OutboxMessage.case_id == case.id)
            .order_by(OutboxMessage.id.desc())
            .limit(100)
        )
    )
    moment = now()
    return {
        "case": case,
        "definition": definition,
        # Only what this role could ever do here; the rest would be noise.
        "options": [
            o
            for o in workflow.options(session, case, me)
            if me.role in definition.triggers[o.id].roles
        ],
        "sees": sees,
        "can_edit": can_edit,
        "participants": participants,
        "consents": consents,
        "meeting": meeting,
        "invitations": invitations,
        "messages": messages,
        # Pending longer than outbox_service.LONG_DELAY: shown as delayed beside the failed.
        "delayed_ids": {m.id for m in messages if outbox_service.is_delayed(m, moment)},
        "long_delay_minutes": int(outbox_service.LONG_DELAY.total_seconds() // 60),
        "current_plan": plan_service.current_plan(session, case),
        "samordningsansvarig": samordningsansvarig_of(session, case.id),
        "draft": plan_service.draft_plan(session, case),
        "versions": plan_service.plan_versions(session, case),
        "events": events,
        "event_labels": EVENT_LABELS,
        "close_trigger_ids": {
            t.id for t in definition.triggers.values() if "mark_closed" in t.actions
        },
        "is_coordinator_view": me.role in EDITORS,
    }


@bp.route("/<int:case_id>")
@login_required
def show(case_id: int) -> ResponseReturnValue:
    case = case_or_404(case_id, "case_page")
    context = _case_context(case)
    return render_template("cases/show.html", **context)


@bp.route("/<int:case_id>/steg/<trigger:trigger>", methods=["POST"])
@login_required
def fire(case_id: int, trigger: str) -> ResponseReturnValue:
    session, me = db(), actor()
    case = case_or_404(case_id, "fire_trigger")
    f = FormReader(request.form)
    version = f.integer("version")
    reason, reason_code = f.text("reason"), f.text("reason_code")
    if f.errors:
        for message in dict.fromkeys(f.errors.values()):
            flash(message, "error")
        return redirect(url_for("cases.show", case_id=case_id)), 303
    try:
        event = runtime().workflow.fire(
            session,
            case,
            trigger,
            me,
            reason=reason or None,
            reason_code=reason_code or None,
            expected_version=version,
        )
    except WorkflowError as error:
        session.rollback()
        case = case_or_404(case_id, "fire_trigger")
        # Every refusal, in a fresh transaction after the rollback (see record_refusal).
        runtime().workflow.record_refusal(session, case, me, error)
        session.commit()
        flash(error.message, "error")
        if len(error.reasons) > 1:
            for reason in error.reasons:
                flash(reason, "error")
        return redirect(url_for("cases.show", case_id=case_id)), 303
    session.commit()
    definition = runtime().workflow.definition_for(case)
    done = f"Klart: ärendet är nu i steget ”{definition.state_label(case.state)}”."
    flash(_with_mail(done, MailReport.from_details(event.details)), "success")
    return redirect(url_for("cases.show", case_id=case_id)), 303


def _with_mail(done: str, mail: MailReport | None) -> str:
    """The flash after a change, with what it sent about the meeting and to how many (and who
    must be told another way); the one place that words it."""
    if mail is None:
        return done
    if mail.kind == KIND_CANCEL:
        what = "Inställelse"
    elif mail.kind == KIND_UPDATE:
        what = "En uppdaterad kallelse"
    else:
        what = "Kallelse"
    if mail.sent:
        text = f"{done} {what} skickas till {mail.sent} deltagare."
    else:
        text = f"{done} {what} skickas inte till någon per e-post."
    if mail.without_email:
        text += (
            f" {mail.without_email} deltagare saknar e-postadress och behöver få beskedet "
            "på annat sätt."
        )
    return text


# ---------------------------------------------------------------------------- edit forms


def _record_refusal(case_id: int, error: WorkflowError) -> None:
    """A refused edit in the history, written and committed after the rollback (the form's
    endpoint names what was refused)."""
    session = db()
    case = case_or_404(case_id, "edit_form")
    runtime().workflow.record_refusal(session, case, actor(), error, action=request.endpoint)
    session.commit()


@bp.route("/<int:case_id>/meddelanden/<int:message_id>/skicka-om", methods=["POST"])
@login_required
def resend_message(case_id: int, message_id: int) -> ResponseReturnValue:
    """Queue a failed message again (the case's unit); outside one's scope: 404."""
    require_role(*EDITORS)
    session = db()
    case = case_or_404(case_id, "resend_message")
    message = session.get(OutboxMessage, message_id)
    if message is None or message.case_id != case.id:
        abort(404)
    try:
        outbox_service.resend(session, actor(), message_id, now())
    except NotPermitted:
        session.rollback()
        abort(404)
    except outbox_service.ResendRefused as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        session.commit()
        flash("Meddelandet skickas om.", "success")
    return redirect(url_for("cases.show", case_id=case_id, _anchor="messages-title")), 303


def _edit(
    case_id: int,
    template: str,
    save: Callable[[Case, FormReader], object],
    extra: Callable[[Case], dict[str, Any]] | None = None,
    defaults: Callable[[Case], dict[str, Any]] | None = None,
    success: str = "Sparat.",
) -> ResponseReturnValue:
    """The shared shape of every edit form: GET shows it; POST validates, saves through a
    service with the version the user saw, commits once. A conflict or an error re-renders
    the form with what the user typed, and nothing is saved."""
    require_role(*EDITORS)
    session = db()
    case = case_or_404(case_id, "edit_form")
    if case.closed_at is not None:
        abort(404)
    errors: dict[str, str] = {}
    conflict: str | None = None
    values: dict[str, Any] = defaults(case) if defaults else {}
    values["version"] = case.version
    status = 200
    if request.method == "POST":
        values = {k: v for k, v in request.form.lists()}
        values = {k: (v if len(v) > 1 else v[0]) for k, v in values.items()}
        f = FormReader(request.form)
        try:
            save(case, f)
            if f.errors:
                raise ValidationError(f.errors)
        except ValidationError as exc:
            session.rollback()
            # The form's own errors first: a service refusing what it got says less.
            errors, status = {**exc.errors, **f.errors}, 400
        except CaseConflict as exc:
            session.rollback()
            conflict, status = exc.message, 409
            _record_refusal(case_id, exc)
        except (CaseClosed, NotPermitted) as exc:
            session.rollback()
            if isinstance(exc, NotPermitted):
                _record_refusal(case_id, exc)
            flash(str(exc), "error")
            return redirect(url_for("cases.show", case_id=case_id)), 303
        else:
            # What the change sent (a called meeting's update, a late participant's kallelse),
            # as its history event records it.
            mail = mail_of_last_change(session, case)
            session.commit()
            flash(_with_mail(success, mail), "success")
            return redirect(url_for("cases.show", case_id=case_id)), 303
        case = case_or_404(case_id, "edit_form")
        session.commit()
    context = {"case": case, "values": values, "errors": errors, "conflict": conflict}
    if conflict:
        context["current_version"] = case.version
    if extra:
        context.update(extra(case))
    return render_template(template, **context), status


def _version(f: FormReader) -> int | None:
    return f.integer("version")


@bp.route("/<int:case_id>/barnets-rost", methods=["GET", "POST"])
@login_required
def child_voice(case_id: int) -> ResponseReturnValue:
    def save(case: Case, f: FormReader) -> object:
        return case_service.record_child_voice(
            db(),
            case,
            actor(),
            now(),
            voice=f.text("child_voice"),
            missing_reason=f.text("child_voice_missing_reason"),
            expected_version=_version(f),
        )

    return _edit(
        case_id,
        "cases/child_voice.html",
        save,
        defaults=lambda c: {
            "child_voice": c.child_voice or "",
            "child_voice_missing_reason": c.child_voice_missing_reason or "",
        },
        success="Barnets röst är sparad.",
    )


@bp.route("/<int:case_id>/deltagare", methods=["GET", "POST"])
@login_required
def participants(case_id: int) -> ResponseReturnValue:
    roles = {r.value for r in FunctionRole}

    def save(case: Case, f: FormReader) -> object:
        chosen = f.text("person")
        chosen_roles = f.choices("roles", roles)
        kind, _, raw_id = chosen.partition(":")
        common: dict[str, Any] = {
            "roles": chosen_roles,
            "expected_version": _version(f),
            "workflow": runtime().workflow,
        }
        person_id = parse_int(raw_id)
        if kind in ("pro", "rel") and person_id is None:
            raise ValidationError({"person": "Ogiltigt val."})
        if kind == "pro" and person_id is not None:
            return participant_service.add_participant(
                db(), case, actor(), now(), professional_id=person_id, **common
            )
        if kind == "rel" and person_id is not None:
            return participant_service.add_participant(
                db(), case, actor(), now(), relative_id=person_id, **common
            )
        organisation_id = f.integer("organisation_id")
        name = f.text("name", max_length=160)
        email = f.text("email", max_length=254) or None
        phone = f.text("phone", max_length=40) or None
        if f.errors:
            raise ValidationError(f.errors)
        return participant_service.add_participant(
            db(),
            case,
            actor(),
            now(),
            organisation_id=organisation_id,
            name=name,
            email=email,
            phone=phone,
            **common,
        )

    def extra(case: Case) -> dict[str, Any]:
        session = db()
        professionals = list(
            session.scalars(
                select(Professional)
                .join(Professional.organisation)
                .order_by(Organisation.party, Organisation.name, Professional.name)
            )
        )
        return {
            "participants": case.active_participants,
            "professionals": professionals,
            "relatives": case.child.relatives,
            "organisations": _organisations(),
            "function_roles": [r.value for r in FunctionRole],
        }

    return _edit(case_id, "cases/participants.html", save, extra, success="Deltagaren är tillagd.")


@bp.route("/<int:case_id>/deltagare/<int:participant_id>/ta-bort", methods=["POST"])
@login_required
def remove_participant(case_id: int, participant_id: int) -> ResponseReturnValue:
    def save(case: Case, f: FormReader) -> object:
        participant = db().get(Participant, participant_id)
        if participant is None or participant.case_id != case.id:
            raise ValidationError({"participant": "Deltagaren finns inte i ärendet."})
        participant_service.remove_participant(
            db(),
            case,
            actor(),
            now(),
            participant,
            expected_version=_version(f),
            notifier=runtime().notifier,
        )
        return participant

    return _edit(case_id, "cases/participants.html", save, success="Deltagaren är borttagen.")


@bp.route("/<int:case_id>/samtycke", methods=["GET", "POST"])
@login_required
def consent(case_id: int) -> ResponseReturnValue:
    def save(case: Case, f: FormReader) -> object:
        form = f.choice("form", {c.value for c in ConsentForm}, required="Ange form.")
        valid_from = f.day("valid_from", required="Ange från vilket datum.")
        valid_until = f.day("valid_until", required="Ange till vilket datum.")
        data = consent_service.ConsentInput(
            form=ConsentForm(form or "muntlig"),
            organisation_ids=f.integers("organisation_ids"),
            valid_from=valid_from or local_date(now()),
            valid_until=valid_until or local_date(now()),
            information_categories=f.choices(
                "information_categories", set(consent_service.information_categories())
            ),
            given_by_relative_ids=f.integers("given_by"),
            given_by_young_person=f.flag("given_by_young_person"),
            child_view=f.text("child_view"),
            exclusions=f.text("exclusions"),
            excluded_organisation_ids=f.integers("excluded_organisation_ids"),
        )
        if f.errors:
            raise ValidationError(f.errors)
        return consent_service.record_consent(
            db(), case, actor(), now(), data, expected_version=_version(f)
        )

    def defaults(case: Case) -> dict[str, Any]:
        today = local_date(now())
        org_ids = {case.unit_id} | {
            p.organisation_id for p in case.active_participants if p.organisation_id
        }
        return {
            "valid_from": today.isoformat(),
            "valid_until": (today + timedelta(days=365)).isoformat(),
            "organisation_ids": [str(i) for i in org_ids],
            "information_categories": list(consent_service.information_categories()),
            "form": "skriftlig",
        }

    def extra(case: Case) -> dict[str, Any]:
        return {
            "organisations": _organisations(),
            "relatives": case.child.guardians,
            "categories": consent_service.information_categories(),
        }

    return _edit(case_id, "cases/consent.html", save, extra, defaults, "Samtycket är registrerat.")


@bp.route("/<int:case_id>/samtycke/<int:consent_id>/aterkalla", methods=["POST"])
@login_required
def revoke_consent(case_id: int, consent_id: int) -> ResponseReturnValue:
    def save(case: Case, f: FormReader) -> object:
        row = db().get(Consent, consent_id)
        if row is None or row.case_id != case.id:
            raise ValidationError({"consent": "Samtycket finns inte i ärendet."})
        return consent_service.revoke_consent(
            db(), case, actor(), now(), row, reason=f.text("reason"), expected_version=_version(f)
        )

    return _edit(
        case_id,
        "cases/consent.html",
        save,
        lambda c: {
            "organisations": _organisations(),
            "relatives": c.child.guardians,
            "categories": consent_service.information_categories(),
        },
        success="Samtycket är återkallat. Uppgifter delas inte längre.",
    )


@bp.route("/<int:case_id>/ersattare/<int:invitation_id>", methods=["GET", "POST"])
@login_required
def substitute(case_id: int, invitation_id: int) -> ResponseReturnValue:
    """A substitute held because the consent does not cover their organisation."""

    def held(case: Case) -> Invitation:
        invitation = db().get(Invitation, invitation_id)
        meeting = db().get(Meeting, invitation.meeting_id) if invitation else None
        if invitation is None or meeting is None or meeting.case_id != case.id:
            abort(404)
        return invitation

    def save(case: Case, f: FormReader) -> object:
        decision = f.choice("decision", {"godkann", "avsla"}, required="Välj ett beslut.")
        if decision is None:
            raise ValidationError(f.errors)
        answer_service.decide_substitute(
            db(),
            runtime().notifier,
            case,
            actor(),
            now(),
            held(case),
            approve=decision == "godkann",
            expected_version=_version(f),
        )
        return None

    def extra(case: Case) -> dict[str, Any]:
        invitation = held(case)
        request_ = invitation.substitute_request or {}
        organisation_id = request_.get("organisation_id")
        verdict = access.organisation_verdict(db(), case, organisation_id, local_date(now()))
        return {
            "invitation": invitation,
            "substitute_organisation": db().get(Organisation, organisation_id)
            if organisation_id
            else None,
            "consent_reasons": verdict.reasons if verdict else (),
        }

    return _edit(
        case_id, "cases/substitute.html", save, extra, success="Beslutet om ersättaren är sparat."
    )


@bp.route("/<int:case_id>/mote", methods=["GET", "POST"])
@login_required
def meeting(case_id: int) -> ResponseReturnValue:
    def save(case: Case, f: FormReader) -> object:
        starts = f.local_datetime("starts_at", required="Ange när mötet börjar.")
        longest = meeting_service.MAX_MEETING_LENGTH // timedelta(minutes=1)
        minutes = f.integer(
            "duration",
            required="Ange mötets längd.",
            minimum=1,
            maximum=longest,
            message=f"Ange längden i hela minuter, från 1 till {longest}.",
        )
        fmt = f.choice("format", {m.value for m in MeetingFormat}, required="Välj mötesform.")
        if f.errors:
            raise ValidationError(f.errors)
        assert starts is not None and fmt is not None and minutes is not None
        return meeting_service.schedule_meeting(
            db(),
            case,
            actor(),
            now(),
            meeting_service.MeetingInput(
                starts_at=starts,
                ends_at=starts + timedelta(minutes=minutes),
                format=MeetingFormat(fmt),
                questions=f.lines("questions"),
                location=f.text("location", max_length=200),
                video_link=f.text("video_link", max_length=500),
                leader_participant_id=f.integer("leader"),
                recorder_participant_id=f.integer("recorder"),
            ),
            workflow=runtime().workflow,
            expected_version=_version(f),
        )

    def defaults(case: Case) -> dict[str, Any]:
        m = meeting_service.open_meeting(db(), case)
        if m is None:
            return {"format": "pa_plats", "duration": "90"}
        return {
            "starts_at": local_input(m.starts_at),
            "duration": str(int((m.ends_at - m.starts_at).total_seconds() // 60)),
            "format": m.format.value,
            "location": m.location or "",
            "video_link": m.video_link or "",
            "questions": "\n".join(m.questions),
            "leader": str(m.leader_participant_id or ""),
            "recorder": str(m.recorder_participant_id or ""),
        }

    def extra(case: Case) -> dict[str, Any]:
        m = meeting_service.open_meeting(db(), case)
        return {
            "participants": case.active_participants,
            "called": m is not None and m.called_at is not None,
        }

    return _edit(case_id, "cases/meeting.html", save, extra, defaults, "Mötet är sparat.")


@bp.route("/<int:case_id>/narvaro", methods=["GET", "POST"])
@login_required
def attendance(case_id: int) -> ResponseReturnValue:
    def save(case: Case, f: FormReader) -> object:
        present = set(f.integers("present"))
        return meeting_service.record_attendance(
            db(),
            case,
            actor(),
            now(),
            {p.id: p.id in present for p in case.active_participants},
            child_attended={"ja": True, "nej": False}.get(f.text("child_attended") or ""),
            expected_version=_version(f),
        )

    def defaults(case: Case) -> dict[str, Any]:
        m = meeting_service.open_meeting(db(), case)
        present = [str(a.participant_id) for a in m.attendance if a.attended] if m else []
        child = m.child_attended if m else None
        answer = "" if child is None else ("ja" if child else "nej")
        return {"present": present, "child_attended": answer}

    return _edit(
        case_id,
        "cases/attendance.html",
        save,
        lambda c: {"participants": c.active_participants},
        defaults,
        "Närvaron är registrerad.",
    )


INSATS_ROWS = 6


@bp.route("/<int:case_id>/plan", methods=["GET", "POST"])
@login_required
def plan(case_id: int) -> ResponseReturnValue:
    def save(case: Case, f: FormReader) -> object:
        insatser = []
        for i in range(INSATS_ROWS):
            description = f.text(f"insats{i}_description")
            org_id = f.integer(f"insats{i}_organisation")
            if description or org_id:
                if not description:
                    f.errors[f"insats{i}_description"] = "Beskriv insatsen."
                if not org_id:
                    f.errors[f"insats{i}_organisation"] = "Välj ansvarig verksamhet."
                insatser.append(
                    plan_service.InsatsInput(
                        description, org_id or 0, f.text(f"insats{i}_contact") or None
                    )
                )
        goals = [{"goal": g, "delmal": []} for g in f.lines("goals")]
        actions = [{"who": "", "what": a} for a in f.lines("other_actions")]
        data = plan_service.PlanInput(
            child_voice=f.text("child_voice"),
            guardians_view=f.text("guardians_view"),
            needs=f.lines("needs"),
            goals=goals,
            other_actions=actions,
            insatser=insatser,
            lead_organisation_id=f.integer("lead_organisation_id"),
            samordningsansvarig_participant_id=f.integer("samordningsansvarig"),
            next_follow_up=f.day("next_follow_up"),
            note_hidden_from_guardians=f.text("note_hidden_from_guardians"),
        )
        if f.errors:
            raise ValidationError(f.errors)
        return plan_service.save_plan_draft(
            db(), case, actor(), now(), data, expected_version=_version(f)
        )

    def defaults(case: Case) -> dict[str, Any]:
        source: PlanVersion | None = plan_service.draft_plan(db(), case) or (
            plan_service.current_plan(db(), case)
        )
        if source is None:
            return {"child_voice": case.child_voice or ""}
        values: dict[str, Any] = {
            "child_voice": source.child_voice or "",
            "guardians_view": source.guardians_view or "",
            "needs": "\n".join(source.needs),
            "goals": "\n".join(g.get("goal", "") for g in source.goals),
            "other_actions": "\n".join(a.get("what", "") for a in source.other_actions),
            "lead_organisation_id": str(source.lead_organisation_id or ""),
            "samordningsansvarig": str(source.samordningsansvarig_participant_id or ""),
            "next_follow_up": source.next_follow_up.isoformat() if source.next_follow_up else "",
            "note_hidden_from_guardians": source.note_hidden_from_guardians or "",
        }
        for i, insats in enumerate(source.insatser[:INSATS_ROWS]):
            values[f"insats{i}_description"] = insats.description
            values[f"insats{i}_organisation"] = str(insats.organisation_id)
            values[f"insats{i}_contact"] = insats.contact_person or ""
        return values

    return _edit(
        case_id,
        "cases/plan.html",
        save,
        lambda c: {
            "organisations": _organisations(),
            # Who may hold the plan's roles, by the rule the plan service checks.
            "lead_organisations": [
                o for o in _organisations() if lead_organisation_error(o) is None
            ],
            "samordningsansvarig_choices": [
                p for p in c.active_participants if samordningsansvarig_error(p) is None
            ],
            "insats_rows": range(INSATS_ROWS),
        },
        defaults,
        "Planen är sparad.",
    )
