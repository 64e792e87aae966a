"""Administration of users and organisations (role admin only; others get 404)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from sqlalchemy import select

from sip_engine.models import NosamArea, Organisation, Party, Professional, Role, User
from sip_engine.services import admin as admin_service
from sip_engine.services import outbox as outbox_service
from sip_engine.services.common import ValidationError
from sip_engine.workflow import NotPermitted

from .context import actor, db, now, require_role
from .forms import FormReader

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _lists() -> dict[str, Any]:
    session = db()
    return {
        "users": list(session.scalars(select(User).order_by(User.username))),
        "organisations": list(
            session.scalars(select(Organisation).order_by(Organisation.party, Organisation.name))
        ),
        "professionals": list(session.scalars(select(Professional).order_by(Professional.name))),
        "areas": list(session.scalars(select(NosamArea).order_by(NosamArea.name))),
        "roles": list(Role),
        "parties": list(Party),
    }


@bp.route("/anvandare", methods=["GET", "POST"])
@login_required
def users() -> ResponseReturnValue:
    require_role(Role.ADMIN)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        values.pop("password", None)  # never echo a password back into the page
        f = FormReader(request.form)
        role = f.choice("role", {r.value for r in Role}, required="Välj roll.")
        organisation_id = f.integer("organisation_id", required="Välj verksamhet.")
        username = f.text("username", max_length=80)
        display_name = f.text("display_name", max_length=160)
        professional_id = f.integer("professional_id")
        try:
            if f.errors:
                raise ValidationError(f.errors)
            assert role is not None and organisation_id is not None
            user = admin_service.create_user(
                db(),
                username=username,
                display_name=display_name,
                role=Role(role),
                organisation_id=organisation_id,
                password=request.form.get("password", ""),  # as typed: never stripped
                professional_id=professional_id,
            )
        except ValidationError as exc:
            db().rollback()
            errors = exc.errors
        else:
            db().commit()
            flash(f"Användaren {user.username} är skapad.", "success")
            return redirect(url_for("admin.users")), 303
    return render_template("admin/users.html", values=values, errors=errors, **_lists()), (
        400 if errors else 200
    )


@bp.route("/anvandare/<int:user_id>/aktiv", methods=["POST"])
@login_required
def toggle_user(user_id: int) -> ResponseReturnValue:
    require_role(Role.ADMIN)
    user = db().get(User, user_id)
    if user is None:
        return redirect(url_for("admin.users")), 303
    admin_service.set_active(db(), user, request.form.get("active") == "1")
    db().commit()
    flash(f"{user.username}: {'aktiv' if user.is_active else 'inaktiverad'}.", "success")
    return redirect(url_for("admin.users")), 303


@bp.route("/anvandare/<int:user_id>/losenord", methods=["GET", "POST"])
@login_required
def reset_password(user_id: int) -> ResponseReturnValue:
    """A new password for a user; every session the user has ends with the old one."""
    require_role(Role.ADMIN)
    user = db().get(User, user_id)
    if user is None:
        abort(404)
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            admin_service.set_password(db(), user, request.form.get("password", ""))
        except ValidationError as exc:
            db().rollback()
            errors = exc.errors
        else:
            db().commit()
            flash(f"{user.username}: nytt lösenord. Användaren är utloggad överallt.", "success")
            return redirect(url_for("admin.users")), 303
    return render_template("admin/password.html", user=user, errors=errors), (
        400 if errors else 200
    )


@bp.route("/verksamheter", methods=["GET", "POST"])
@login_required
def organisations() -> ResponseReturnValue:
    require_role(Role.ADMIN)
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    if request.method == "POST":
        values = request.form.to_dict()
        f = FormReader(request.form)
        party = f.choice("party", {p.value for p in Party}, required="Välj part.")
        name = f.text("name", max_length=160)
        kind = f.text("kind", max_length=60)
        huvudman = f.text("huvudman", max_length=120)
        kommun = f.text("kommun", max_length=80)
        nosam_area_id = f.integer("nosam_area_id")
        try:
            if f.errors:
                raise ValidationError(f.errors)
            assert party is not None
            org = admin_service.create_organisation(
                db(),
                name=name,
                party=Party(party),
                kind=kind,
                huvudman=huvudman,
                kommun=kommun,
                nosam_area_id=nosam_area_id,
            )
        except ValidationError as exc:
            db().rollback()
            errors = exc.errors
        else:
            db().commit()
            flash(f"Verksamheten {org.name} är skapad.", "success")
            return redirect(url_for("admin.organisations")), 303
    return render_template("admin/organisations.html", values=values, errors=errors, **_lists()), (
        400 if errors else 200
    )


@bp.route("/meddelanden")
@login_required
def messages() -> ResponseReturnValue:
    """Failed messages by id, case reference, kind, age and error type: the admin has no case
    scope, so no recipient, subject or body."""
    require_role(Role.ADMIN)
    rows = outbox_service.failed_overview(db())
    return render_template("admin/messages.html", rows=rows)


@bp.route("/meddelanden/skicka-om", methods=["POST"])
@login_required
def resend_messages() -> ResponseReturnValue:
    """Resend one failed message (``message_id``) or all of them (no id)."""
    require_role(Role.ADMIN)
    session, me, moment = db(), actor(), now()
    message_id = FormReader(request.form).integer("message_id")
    try:
        if message_id is None:
            count = outbox_service.resend_all_failed(session, me, moment)
        else:
            outbox_service.resend(session, me, message_id, moment)
            count = 1
    except NotPermitted:
        session.rollback()
        abort(404)
    except outbox_service.ResendRefused as exc:
        session.rollback()
        flash(str(exc), "error")
    else:
        session.commit()
        flash(f"{count} meddelanden skickas om.", "success")
    return redirect(url_for("admin.messages")), 303
