"""Meetings a professional is invited to, and the local mail view of the embedded set-up."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import func, select

from sip_engine.models import (
    Case,
    Invitation,
    Meeting,
    OutboxMessage,
    OutboxStatus,
    Participant,
    Role,
)
from sip_engine.services.access import visible_cases

from .context import actor, db, now, require_role, runtime

bp = Blueprint("mail", __name__)


@bp.route("/mina-moten")
@login_required
def my_meetings() -> ResponseReturnValue:
    me = actor()
    if me.professional_id is None:
        rows: list[tuple[Invitation, Meeting, Case]] = []
    else:
        rows = [
            (i, m, c)
            for i, m, c in db().execute(
                select(Invitation, Meeting, Case)
                .join(Participant, Participant.id == Invitation.participant_id)
                .join(Meeting, Meeting.id == Invitation.meeting_id)
                .join(Case, Case.id == Meeting.case_id)
                .where(
                    Participant.professional_id == me.professional_id,
                    Participant.removed_at.is_(None),
                    Meeting.cancelled_at.is_(None),
                    Meeting.held_at.is_(None),
                    Meeting.ends_at > now(),
                )
                .order_by(Meeting.starts_at)
            )
        ]
    links = runtime().notifier.links
    answer_paths = {
        i.id: url_for(
            "answers.answer",
            token=links.token(i.id, i.meeting_id, i.participant_id, i.link_nonce),
        )
        for i, _m, _c in rows
    }
    return render_template("mail/my_meetings.html", rows=rows, answer_paths=answer_paths)


@bp.route("/post")
@login_required
def local_mail() -> ResponseReturnValue:
    """Without SMTP (the embedded demo) the outbox is the mailbox: show what would be sent.

    Each user sees the messages of the cases in their scope (``visible_cases``), bodies and
    personal answer links included. The admin has no case in scope, so sees no message: only
    how many are waiting, sent and failed, to tell that mail is flowing."""
    if runtime().settings.smtp:
        abort(404)
    require_role(Role.SAMORDNARE, Role.CHEF, Role.ADMIN)
    me = actor()
    in_scope = OutboxMessage.case_id.in_(visible_cases(me).with_only_columns(Case.id))
    messages = db().scalars(
        select(OutboxMessage).where(in_scope).order_by(OutboxMessage.id.desc()).limit(100)
    )
    counts: dict[OutboxStatus, int] | None = None
    if me.role is Role.ADMIN:
        counts = {status: 0 for status in OutboxStatus}
        for status, count in db().execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        ):
            counts[status] = count
    return render_template("mail/local.html", messages=list(messages), counts=counts)
