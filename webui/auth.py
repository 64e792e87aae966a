"""Sign-in and sign-out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user
from sqlalchemy import bindparam, select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from sip_engine.models import Organisation, User
from sip_engine.services.auth import LoginThrottled, authenticate, end_sessions

from . import login_manager
from .context import WebUser, db, now, remote_addr, web_user
from .forms import TextForm, parse_int

bp = Blueprint("auth", __name__)


class LoginForm(TextForm):
    username = StringField("Användarnamn", validators=[DataRequired(), Length(max=80)])
    password = PasswordField("Lösenord", validators=[DataRequired(), Length(max=200)])


# Run on every request: built once, the unit's name comes with the user (one statement),
# and only the values WebUser keeps are read (no ORM objects to build and track).
_USER_WITH_UNIT = (
    select(
        User.id,
        User.username,
        User.display_name,
        User.role,
        User.organisation_id,
        Organisation.name,
        User.professional_id,
        User.is_active,
        User.session_generation,
    )
    .join(Organisation, Organisation.id == User.organisation_id)
    .where(User.id == bindparam("user_id"))
)


@login_manager.user_loader
def _load_user(session_id: str) -> WebUser | None:
    """The signed-in user of a session id ``"<user id>:<generation>"`` (WebUser.get_id), or
    None when the session is over: the user is inactive, or signed out, was deactivated or got
    a new password after this session began (each raises the generation, end_sessions)."""
    raw_user_id, _, raw_generation = session_id.partition(":")
    user_id, generation = parse_int(raw_user_id), parse_int(raw_generation)
    if user_id is None or generation is None:
        return None
    # On the session's connection: plain values, no need for the ORM's execution path.
    row = db().connection().execute(_USER_WITH_UNIT, {"user_id": user_id}).first()
    if row is None or not row.is_active or row.session_generation != generation:
        return None
    return WebUser(
        id=row.id,
        username=row.username,
        display_name=row.display_name,
        role=row.role,
        organisation_id=row.organisation_id,
        organisation_name=row.name,
        professional_id=row.professional_id,
        session_generation=row.session_generation,
    )


def _safe_next(target: str | None) -> str:
    """Only same-site paths: an open redirect would make phishing links look genuine."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("home.index")


@bp.route("/logga-in", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    form = LoginForm()
    error: str | None = None
    status = 200
    retry_after: int | None = None
    if form.validate_on_submit():
        try:
            user = authenticate(
                db(), form.username.data or "", form.password.data or "", remote_addr(), now()
            )
        except LoginThrottled as exc:
            error, status = str(exc), 429
            retry_after = exc.retry_after_seconds
        else:
            db().commit()  # the attempt is recorded whether or not it succeeded
            if user is None:
                error, status = _("Fel användarnamn eller lösenord."), 401
            else:
                session.clear()  # a fresh session at sign-in: no fixation
                login_user(WebUser.from_user(user), remember=False)
                return redirect(_safe_next(request.args.get("next")))
    elif request.method == "POST":
        status = 400
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
    return render_template("login.html", form=form, error=error), status, headers


@bp.route("/logga-ut", methods=["POST"])
@login_required
def logout() -> ResponseReturnValue:
    # Server-side: a copy of this session's cookie is refused from now on.
    end_sessions(db(), web_user().id)
    db().commit()
    logout_user()
    session.clear()
    flash(_("Du är utloggad."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/sprak", methods=["POST"])
def language() -> ResponseReturnValue:
    lang = request.form.get("lang", "sv")
    session["lang"] = lang if lang in ("sv", "en") else "sv"
    return redirect(_safe_next(request.form.get("next")))
