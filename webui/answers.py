"""A participant's personal link: GET shows the meeting and a form, only POST records.

Mail scanners (Safe Links and the like) open every link in a message, so opening the link
must never count as an answer. No account is needed: the signed link is the credential.
"""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from sip_engine import consent_rules
from sip_engine.clock import local_date
from sip_engine.models import Answer, Organisation
from sip_engine.notify.links import BadLink
from sip_engine.services.access import organisation_verdict
from sip_engine.services.answers import (
    AnswerInput,
    LinkExpired,
    OpenInvitation,
    open_invitation,
    record_answer,
)
from sip_engine.services.common import ValidationError

from .context import db, now, runtime
from .forms import FormReader

bp = Blueprint("answers", __name__)


def _open(token: str) -> OpenInvitation | ResponseReturnValue:
    try:
        return open_invitation(db(), runtime().notifier, token, now())
    except BadLink:
        return render_template(
            "answers/invalid.html",
            title="Länken fungerar inte",
            message="Länken är ogiltig eller har ändrats. Använd länken i det senaste "
            "meddelandet, eller kontakta den som kallade dig.",
        ), 404
    except LinkExpired as exc:
        return render_template(
            "answers/invalid.html", title="Länken har gått ut", message=str(exc)
        ), 410


@bp.route("/svar/<token>", methods=["GET", "POST"])
def answer(token: str) -> ResponseReturnValue:
    opened = _open(token)
    if not isinstance(opened, OpenInvitation):
        return opened
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    saved = False
    if request.method == "POST":
        values = request.form.to_dict()
        f = FormReader(request.form)
        choice = f.choice("answer", {a.value for a in Answer}, required="Välj ett svar.")
        reason = f.text("reason", max_length=1000)
        substitute_name = f.text("substitute_name", max_length=160)
        substitute_email = f.text("substitute_email", max_length=254)
        substitute_organisation_id = f.integer("substitute_organisation_id")
        try:
            if f.errors or choice is None:
                raise ValidationError(f.errors)
            record_answer(
                db(),
                runtime().notifier,
                opened,
                AnswerInput(
                    answer=Answer(choice),
                    reason=reason,
                    substitute_name=substitute_name,
                    substitute_email=substitute_email,
                    substitute_organisation_id=substitute_organisation_id,
                ),
                now(),
            )
        except ValidationError as exc:
            db().rollback()
            errors = exc.errors
            opened = _open(token)  # reload after the rollback
        else:
            db().commit()
            saved = True
    organisations = list(
        db().scalars(select(Organisation).order_by(Organisation.party, Organisation.name))
    )
    assert isinstance(opened, OpenInvitation)
    sees = consent_rules.visible_parts(
        organisation_verdict(
            db(), opened.case, opened.participant.organisation_id, local_date(now())
        )
    )
    return render_template(
        "answers/answer.html",
        opened=opened,
        sees=sees,
        errors=errors,
        values=values,
        saved=saved,
        organisations=organisations,
        token=token,
        # The link is a credential anyone holding the mail has: never the unit's view.
        viewer=None,
    ), (400 if errors else 200)
