"""Template helpers: Swedish labels and Stockholm times."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask
from flask_babel import get_locale
from flask_login import current_user

from sip_engine import protection
from sip_engine.clock import STOCKHOLM
from sip_engine.models import PARTY_LABELS, Party, Role
from sip_engine.reminders import KIND_WORDS
from sip_engine.services.cases import SIP_REASONS
from sip_engine.services.consent import information_categories
from sip_engine.services.queries import ATTENTION_LABELS

from .context import actor

ROLE_LABELS = {
    Role.SAMORDNARE: "samordnare",
    Role.CHEF: "chef",
    Role.DELTAGARE: "deltagare",
    Role.ADMIN: "administratör",
}

FUNCTION_ROLE_LABELS = {
    "initiativtagare": "Initiativtagare",
    "sammankallande": "Sammankallande",
    "motesledare": "Mötesledare",
    "dokumentansvarig": "Dokumentansvarig",
    "kontaktperson": "Kontaktperson",
}

RAISED_BY_LABELS = {
    "socialtjanst": "Socialtjänst",
    "skola": "Skola",
    "region": "Region",
    "familj": "Familjen",
    "annan": "Annan",
}

# What an outbox message is, named without its content (start page, admin page).
MESSAGE_KIND_LABELS = {
    "kallelse": "Kallelse",
    "inbjudan": "Inbjudan",
    "uppdatering": "Mötesuppdatering",
    "installt": "Inställt möte",
    "sip_avslutad": "SIP avslutad",
    "halsoundersokning": "Hälsoundersökning",
    "placering_nekad": "Placering",
}


def message_kind_label(kind: str) -> str:
    """A message kind in words; reminders (``reminder:rule``) by their sort."""
    head = kind.split(":", 1)[0]
    return MESSAGE_KIND_LABELS.get(kind) or KIND_WORDS.get(head) or kind


PARTICIPANT_KIND_LABELS = {"kallad": "Kallad", "inbjuden": "Inbjuden", "familj": "Familj"}


def fmt_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return value.astimezone(STOCKHOLM).strftime("%Y-%m-%d %H:%M")


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(STOCKHOLM).date()
    return value.isoformat()


def fmt_identity(value: str | None) -> str:
    if not value:
        return "Reservnummer saknas"
    return f"{value[:8]}-{value[8:]}"


def register(app: Flask) -> None:
    app.add_template_filter(fmt_datetime, "datetime")
    app.add_template_filter(fmt_date, "date")
    app.add_template_filter(fmt_identity, "identity")

    @app.context_processor
    def _protection() -> dict[str, Any]:
        """Skyddade personuppgifter: every template names an organisation, the child's
        address or school, and free text about the case through these (one rule:
        :mod:`sip_engine.protection`). ``viewer`` is the signed-in user; a page that leaves
        the system (a printout, an answer link) passes ``viewer=None`` to render_template."""
        return {
            "viewer": actor() if current_user.is_authenticated else None,
            "org_label": protection.organisation_label,
            "protected": protection.protected_text,
            "child_address": protection.child_address,
            "child_school": protection.child_school,
        }

    @app.context_processor
    def _helpers() -> dict[str, Any]:
        return {
            "current_lang": lambda: str(get_locale() or "sv"),
            "role_label": lambda role: ROLE_LABELS.get(role, str(role)),
            "party_label": lambda party: PARTY_LABELS.get(Party(party), str(party)),
            "reason_label": lambda code: SIP_REASONS.get(code, code),
            "category_label": lambda code: information_categories().get(code, code),
            "function_role_label": lambda code: FUNCTION_ROLE_LABELS.get(code, code),
            "raised_by_label": lambda code: RAISED_BY_LABELS.get(str(code), str(code)),
            "participant_kind_label": lambda code: PARTICIPANT_KIND_LABELS.get(
                str(code), str(code)
            ),
            "attention_label": lambda key: ATTENTION_LABELS.get(key, key),
            "message_kind_label": message_kind_label,
            "local_mail_enabled": lambda: not app.extensions["sip_runtime"].settings.smtp,
        }
