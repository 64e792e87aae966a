"""Read-only documents: the SIP document for the family, and workflow diagrams."""

from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import login_required

from sip_engine.clock import local_date
from sip_engine.consent_rules import CasePart
from sip_engine.models import Role
from sip_engine.services import meetings as meeting_service
from sip_engine.services import plans as plan_service
from sip_engine.services.access import visible_parts
from sip_engine.workflow import WorkflowDefinitionError
from sip_engine.workflow.diagram import mermaid

from . import content_security_policy
from .context import actor, case_or_404, db, now, runtime
from .forms import parse_int

bp = Blueprint("documents", __name__)


@bp.route("/arenden/<int:case_id>/sip-dokument")
@login_required
def sip_document(case_id: int) -> ResponseReturnValue:
    case = case_or_404(case_id, "sip_document")
    me = actor()
    sees = visible_parts(db(), case, me, local_date(now()))
    if CasePart.PLAN not in sees:
        abort(404)
    versions = plan_service.plan_versions(db(), case)
    wanted = request.args.get("version", "")
    if wanted:
        number = parse_int(wanted)
        plan = next((v for v in versions if v.version_no == number), None)
        if plan is None:
            abort(404)
    else:
        plan = plan_service.current_plan(db(), case) or plan_service.draft_plan(db(), case)
    participants = {p.id: p for p in case.participants}
    meeting = meeting_service.open_meeting(db(), case)
    return render_template(
        "documents/sip.html",
        case=case,
        plan=plan,
        participants=participants,
        meeting=meeting,
        show_hidden_note=me.role in (Role.SAMORDNARE, Role.CHEF),
        sees=sees,
        definition=runtime().workflow.definition_for(case),
        # A printout leaves the system (it is handed to the family and the participants): it
        # shows a protected child's school and address as to anyone outside the unit.
        viewer=None,
    )


@bp.route("/arbetsfloden/<name>")
@login_required
def workflow(name: str) -> ResponseReturnValue:
    try:
        definition = runtime().registry.latest(name)
    except WorkflowDefinitionError:
        abort(404)
    response = make_response(
        render_template(
            "documents/workflow.html", definition=definition, source=mermaid(definition)
        )
    )
    # Mermaid writes <style> into the SVG it draws; allow inline styles on this page only.
    response.headers["Content-Security-Policy"] = content_security_policy(inline_styles=True)
    return response
