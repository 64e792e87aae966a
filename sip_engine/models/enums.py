"""Closed vocabularies of the domain. Identifiers are ASCII; Swedish labels are for the UI."""

from __future__ import annotations

import enum


class Party(enum.StrEnum):
    """The huvudman side an organisation belongs to. Skola is a party of its own in VG."""

    KOMMUN = "kommun"
    SKOLA = "skola"
    REGION = "region"
    ANNAN = "annan"


PARTY_LABELS = {
    Party.KOMMUN: "Kommun/socialtjänst",
    Party.SKOLA: "Skola",
    Party.REGION: "Region",
    Party.ANNAN: "Annan aktör",
}

# The parties whose involvement makes a SIP: the need must span at least two of them.
HUVUDMAN_PARTIES = frozenset({Party.KOMMUN, Party.SKOLA, Party.REGION})


class Role(enum.StrEnum):
    SAMORDNARE = "samordnare"
    CHEF = "chef"
    DELTAGARE = "deltagare"
    ADMIN = "admin"


class IdentityKind(enum.StrEnum):
    PERSONNUMMER = "personnummer"
    SAMORDNINGSNUMMER = "samordningsnummer"
    RESERVNUMMER = "reservnummer"


class RelativeKind(enum.StrEnum):
    VARDNADSHAVARE = "vardnadshavare"
    NARSTAENDE = "narstaende"
    GOD_MAN = "god_man"
    FAMILJEHEM = "familjehem"


class ParticipantKind(enum.StrEnum):
    """A huvudman is *kallad* (called); other actors are *inbjuden* (invited)."""

    KALLAD = "kallad"
    INBJUDEN = "inbjuden"
    FAMILJ = "familj"


class FunctionRole(enum.StrEnum):
    """The function tags a participant carries on a case. Samordningsansvarig is not one of
    them: the plan in force names that person (``PlanVersion.samordningsansvarig_participant_id``,
    read through ``samordningsansvarig_of``), the one source of truth."""

    INITIATIVTAGARE = "initiativtagare"
    SAMMANKALLANDE = "sammankallande"
    MOTESLEDARE = "motesledare"
    DOKUMENTANSVARIG = "dokumentansvarig"
    KONTAKTPERSON = "kontaktperson"


class ConsentForm(enum.StrEnum):
    MUNTLIG = "muntlig"
    SKRIFTLIG = "skriftlig"


class MeetingFormat(enum.StrEnum):
    PA_PLATS = "pa_plats"
    VIDEO = "video"


class MeetingKind(enum.StrEnum):
    SIP = "sip"
    UPPFOLJNING = "uppfoljning"


class RaisedBy(enum.StrEnum):
    """Who raised the need in step 1."""

    SOCIALTJANST = "socialtjanst"
    SKOLA = "skola"
    REGION = "region"
    FAMILJ = "familj"
    ANNAN = "annan"


class EventKind(enum.StrEnum):
    CASE_OPENED = "case_opened"
    TRANSITION = "transition"
    TRANSITION_REFUSED = "transition_refused"
    CASE_UPDATED = "case_updated"
    PARTICIPANT_ADDED = "participant_added"
    PARTICIPANT_UPDATED = "participant_updated"
    PARTICIPANT_REMOVED = "participant_removed"
    CONSENT_RECORDED = "consent_recorded"
    CONSENT_REVOKED = "consent_revoked"
    MEETING_SCHEDULED = "meeting_scheduled"
    MEETING_UPDATED = "meeting_updated"
    ATTENDANCE_RECORDED = "attendance_recorded"
    PLAN_DRAFTED = "plan_drafted"
    PLAN_ADOPTED = "plan_adopted"
    CHILD_VOICE_RECORDED = "child_voice_recorded"
    INVITATION_ANSWERED = "invitation_answered"
    SUBSTITUTE_HELD = "substitute_held"
    SUBSTITUTE_DECIDED = "substitute_decided"
    PLACEMENT_REGISTERED = "placement_registered"
    PLACEMENT_TRANSITION = "placement_transition"
    HEALTH_EXAM_CHANGED = "health_exam_changed"
    MESSAGE_RESENT = "message_resent"
