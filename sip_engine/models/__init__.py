"""SQLAlchemy 2 typed models. Import from here so every table is registered on the metadata."""

from .base import Base, UTCDateTime
from .case import Case, MeetingAttendance, Participant
from .consent import Consent, consent_organisation
from .enums import (
    HUVUDMAN_PARTIES,
    PARTY_LABELS,
    ConsentForm,
    EventKind,
    FunctionRole,
    IdentityKind,
    MeetingFormat,
    MeetingKind,
    ParticipantKind,
    Party,
    RaisedBy,
    RelativeKind,
    Role,
)
from .event import CaseEvent, HistoryIsAppendOnly
from .meeting import Meeting
from .notify import (
    Answer,
    Invitation,
    OutboxMessage,
    OutboxStatus,
    Reminder,
    ReminderStatus,
)
from .organisation import NosamArea, Organisation
from .people import Child, Professional, Relative
from .placement import (
    CURRENT_PLACEMENT_STATES,
    HEALTH_EXAM_PART_LABELS,
    PLACEMENT_BASIS_LABELS,
    PLACEMENT_FORM_LABELS,
    HealthExamPart,
    HealthExamRequest,
    Placement,
    PlacementBasis,
    PlacementForm,
)
from .plan import (
    PlanInsats,
    PlanVersion,
    lead_organisation_error,
    samordningsansvarig_error,
    samordningsansvarig_in,
    samordningsansvarig_of,
)
from .security import AccessLog, LoginAttempt
from .user import User

__all__ = [
    "CURRENT_PLACEMENT_STATES",
    "HEALTH_EXAM_PART_LABELS",
    "HUVUDMAN_PARTIES",
    "PARTY_LABELS",
    "PLACEMENT_BASIS_LABELS",
    "PLACEMENT_FORM_LABELS",
    "AccessLog",
    "Answer",
    "Base",
    "Case",
    "CaseEvent",
    "Child",
    "Consent",
    "ConsentForm",
    "EventKind",
    "FunctionRole",
    "HealthExamPart",
    "HealthExamRequest",
    "HistoryIsAppendOnly",
    "IdentityKind",
    "Invitation",
    "LoginAttempt",
    "Meeting",
    "MeetingAttendance",
    "MeetingFormat",
    "MeetingKind",
    "NosamArea",
    "Organisation",
    "OutboxMessage",
    "OutboxStatus",
    "Participant",
    "ParticipantKind",
    "Party",
    "Placement",
    "PlacementBasis",
    "PlacementForm",
    "PlanInsats",
    "PlanVersion",
    "Professional",
    "RaisedBy",
    "Relative",
    "RelativeKind",
    "Reminder",
    "ReminderStatus",
    "Role",
    "UTCDateTime",
    "User",
    "consent_organisation",
    "lead_organisation_error",
    "samordningsansvarig_error",
    "samordningsansvarig_in",
    "samordningsansvarig_of",
]
