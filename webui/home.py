"""Start page "Mina ärenden": my open cases by step, what needs attention, coming meetings."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from sip_engine.models import Case, Child, Role
from sip_engine.services.outbox import stuck_in_scope
from sip_engine.services.queries import (
    CaseFilter,
    counts_by_state,
    search_cases,
    upcoming_meetings,
)

from .context import actor, audit, case_href_prefix, db, now, runtime

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index() -> ResponseReturnValue:
    me = actor()
    if me.role is Role.ADMIN:
        return redirect(url_for("admin.users"))
    session, moment = db(), now()
    # A samordnare's own cases; a chef's unit; a deltagare's cases they take part in.
    mine_only = me.role is Role.SAMORDNARE
    definition = runtime().registry.latest("sip")
    counts = counts_by_state(session, me, mine_only=mine_only)
    attention = search_cases(
        session,
        me,
        CaseFilter(
            attention=True,
            coordinator_id=me.user_id if mine_only else None,
            sort="updated_desc",
            per_page=15,
        ),
        moment,
    )
    meetings = upcoming_meetings(session, me, moment, mine_only=mine_only)
    # The places are shown through the protection rule, which needs each case's child.
    meeting_cases = {
        c.id: c
        for c in session.scalars(
            select(Case)
            .where(Case.id.in_({m.case_id for m in meetings if m.location}))
            .options(selectinload(Case.child).selectinload(Child.school))
        )
    }
    # The case's unit sees its messages (a deltagare does not: the case page shows them only
    # to the coordinator view); scope is visible_cases, as for everything on this page.
    stuck = stuck_in_scope(session, me, moment) if me.role in (Role.SAMORDNARE, Role.CHEF) else []
    audit("start_page")
    return render_template(
        "home.html",
        definition=definition,
        counts=counts,
        attention=attention,
        meetings=meetings,
        meeting_cases=meeting_cases,
        mine_only=mine_only,
        stuck=stuck,
        case_href=case_href_prefix(),
    )
