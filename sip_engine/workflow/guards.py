"""Named guards. Each returns the reasons, in plain Swedish, why a trigger may not fire now.

An empty list means the guard passes. Definitions in ``workflows/`` refer to these by name.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import bindparam, select

from sip_engine import consent_rules
from sip_engine.clock import STOCKHOLM, local_date
from sip_engine.models import (
    HUVUDMAN_PARTIES,
    PARTY_LABELS,
    Organisation,
    Participant,
    ParticipantKind,
    Party,
    Role,
    lead_organisation_error,
    samordningsansvarig_error,
)

from .context import TransitionContext

Guard = Callable[[TransitionContext], list[str]]

GUARDS: dict[str, Guard] = {}

# Guards that judge what the user submits with the trigger (not the case): listing the
# options skips them, firing runs them.
INPUT_GUARDS = frozenset({"close_reason_given"})

# What several guards need, said in one text each (evaluate_guards lists a text once).
NO_MEETING = "Inget möte är planerat."
NO_OPEN_MEETING = "Inget möte pågår."
NO_PLAN = "Ingen plan är påbörjad för mötet."

# A meeting may be opened in the system this long before its booked start.
MEETING_EARLY_START = timedelta(hours=1)


def guard(func: Guard) -> Guard:
    GUARDS[func.__name__] = func
    return func


def _party_names(parties: set[Party]) -> str:
    return ", ".join(sorted(PARTY_LABELS[p] for p in parties)) or "ingen"


def _fmt_time(ctx: TransitionContext) -> str:
    meeting = ctx.open_meeting
    assert meeting is not None
    return meeting.starts_at.astimezone(STOCKHOLM).strftime("%Y-%m-%d kl. %H:%M")


_ORGANISATIONS = select(Organisation).where(
    Organisation.id.in_(bindparam("ids", expanding=True))
)  # built once: building it per fire cost about as much as running it


@guard
def need_spans_two_parties(ctx: TransitionContext) -> list[str]:
    """Step 1 → 2: the need involves at least two of kommun/socialtjänst, skola and region."""
    org_ids = set(ctx.case.involved_organisation_ids or [])
    org_ids.add(ctx.case.unit_id)
    if ctx.case.raised_by_organisation_id:
        org_ids.add(ctx.case.raised_by_organisation_id)
    orgs = {p.organisation.id: p.organisation for p in ctx.participants if p.organisation}
    # The case's own organisations that no participant brought: one query, not one each.
    if missing := org_ids - orgs.keys():
        orgs.update(
            (org.id, org) for org in ctx.session.scalars(_ORGANISATIONS, {"ids": list(missing)})
        )
    parties = {org.party for org in orgs.values()} & HUVUDMAN_PARTIES
    if len(parties) >= 2:
        return []
    return [
        "Behovet måste beröra minst två av parterna kommun/socialtjänst, skola och region "
        f"(nu: {_party_names(parties)})."
    ]


@guard
def child_voice_recorded(ctx: TransitionContext) -> list[str]:
    if (ctx.case.child_voice or "").strip() or (ctx.case.child_voice_missing_reason or "").strip():
        return []
    return [
        "Barnets röst (”Vad är viktigt för dig?”) är inte dokumenterad, "
        "och inte heller skälet till att den saknas."
    ]


@guard
def has_question(ctx: TransitionContext) -> list[str]:
    meeting = ctx.open_meeting
    if meeting is None:
        return [NO_MEETING]
    if not any(q.strip() for q in meeting.questions or []):
        return ["Mötet behöver minst en frågeställning."]
    return []


@guard
def meeting_in_future(ctx: TransitionContext) -> list[str]:
    meeting = ctx.open_meeting
    if meeting is None:
        return [NO_MEETING]
    if meeting.starts_at <= ctx.now:
        return [f"Mötestiden ({_fmt_time(ctx)}) har redan passerat; välj en ny tid."]
    return []


@guard
def meeting_time_reached(ctx: TransitionContext) -> list[str]:
    meeting = ctx.open_meeting
    if meeting is None:
        return [NO_MEETING]
    if ctx.now < meeting.starts_at - MEETING_EARLY_START:
        return [f"Mötet börjar {_fmt_time(ctx)}; det kan startas tidigast en timme före."]
    return []


def _called_parties(participants: list[Participant]) -> set[Party]:
    return {
        p.organisation.party
        for p in participants
        if p.organisation is not None and p.kind is not ParticipantKind.FAMILJ
    } & HUVUDMAN_PARTIES


@guard
def participants_from_two_parties(ctx: TransitionContext) -> list[str]:
    parties = _called_parties(ctx.participants)
    if len(parties) >= 2:
        return []
    return [
        "Deltagare behövs från minst två av parterna kommun/socialtjänst, skola och region "
        f"(nu: {_party_names(parties)})."
    ]


def _consent_reasons(ctx: TransitionContext, day: date) -> list[str]:
    """Why consent is not complete on ``day`` for every organisation taking part."""
    organisations = {
        p.organisation.id: p.organisation.name
        for p in ctx.participants
        if p.organisation is not None and p.kind is not ParticipantKind.FAMILJ
    }
    return consent_rules.reasons(ctx.consents, ctx.child, organisations.items(), day)


@guard
def consent_covers_participants(ctx: TransitionContext) -> list[str]:
    """Valid consent, from the right people, covering every organisation, today and at the
    meeting (consent valid now but expiring before the meeting is not enough)."""
    reasons = _consent_reasons(ctx, ctx.today)
    meeting = ctx.open_meeting
    if not reasons and meeting is not None:
        meeting_day = local_date(meeting.starts_at)
        reasons = [
            f"Vid mötet {meeting_day.isoformat()}: {r}" for r in _consent_reasons(ctx, meeting_day)
        ]
    return reasons


@guard
def consent_valid_at_meeting(ctx: TransitionContext) -> list[str]:
    return _consent_reasons(ctx, ctx.today)


@guard
def consent_revoked_or_expired(ctx: TransitionContext) -> list[str]:
    if _consent_lapsed(ctx):
        return []
    if not ctx.consents:
        return ["Inget samtycke har registrerats ännu; det första registreras under Samtycke."]
    if _consent_reasons(ctx, ctx.today):
        return ["Inget samtycke har återkallats eller gått ut; komplettera samtycket i stället."]
    return ["Det finns ett giltigt samtycke; ett nytt behöver inte sökas."]


@guard
def attendance_recorded(ctx: TransitionContext) -> list[str]:
    meeting = ctx.open_meeting
    if meeting is None:
        return [NO_OPEN_MEETING]
    recorded = {a.participant_id for a in meeting.attendance}
    missing = [p.name for p in ctx.participants if p.id not in recorded]
    if not meeting.attendance:
        return ["Närvaron vid mötet är inte registrerad."]
    if missing:
        return [f"Närvaro är inte registrerad för: {', '.join(missing)}."]
    return []


@guard
def plan_has_insats(ctx: TransitionContext) -> list[str]:
    plan = ctx.draft_plan
    if plan is None:
        return [NO_PLAN]
    if not plan.insatser:
        return ["Planen saknar insatser."]
    return []


@guard
def plan_has_lead_and_samordningsansvarig(ctx: TransitionContext) -> list[str]:
    plan = ctx.draft_plan
    if plan is None:
        return [NO_PLAN]
    named = None
    if plan.samordningsansvarig_participant_id is not None:
        named = ctx.session.get(Participant, plan.samordningsansvarig_participant_id)
    problems = (
        lead_organisation_error(plan.lead_organisation),
        samordningsansvarig_error(named),
    )
    return [problem for problem in problems if problem is not None]


@guard
def follow_up_in_future(ctx: TransitionContext) -> list[str]:
    plan = ctx.draft_plan
    if plan is None:
        return [NO_PLAN]
    if plan.next_follow_up is None:
        return ["Planen saknar datum för nästa uppföljning."]
    if plan.next_follow_up <= ctx.today:
        return ["Datumet för nästa uppföljning måste ligga i framtiden."]
    return []


@guard
def actor_may_close(ctx: TransitionContext) -> list[str]:
    """Only the case's coordinator or its samordningsansvarig (the person the plan in force
    names) closes a case (practice), besides the unit's chef."""
    actor = ctx.actor
    if actor.is_system:
        return []
    if actor.user_id is not None and actor.user_id == ctx.case.coordinator_id:
        return []
    named = ctx.samordningsansvarig if actor.professional_id is not None else None
    if named is not None and named.professional_id == actor.professional_id:
        return []
    if actor.role is Role.CHEF and actor.organisation_id == ctx.case.unit_id:
        return []
    return ["Bara ärendets samordnare, den samordningsansvariga eller enhetens chef kan avsluta."]


@guard
def close_reason_given(ctx: TransitionContext) -> list[str]:
    if ctx.reason_code not in ctx.definition.close_reasons:
        return ["Välj ett skäl till att SIP:en avslutas."]
    return []


# --- while no valid consent exists (the workflow rule samtycke_saknas in sip.yaml) ----------

CONSENT_LAPSED_WAYS_ON = (
    "Utan giltigt samtycke kan ärendet bara gå vidare på två sätt: sök nytt samtycke "
    "eller avsluta SIP:en."
)


def _consent_lapsed(ctx: TransitionContext) -> list[str]:
    """Why a consent given on the case no longer holds (sip_engine.consent_rules.lapsed); []
    while it holds or before one was ever given (preparing a first consent is step 2)."""
    return consent_rules.lapsed(ctx.consents, ctx.child, ctx.today)


@guard
def consent_in_force(ctx: TransitionContext) -> list[str]:
    """The workflow rule: after revocation (or expiry) only its ways on remain open."""
    lapsed = _consent_lapsed(ctx)
    return [*lapsed, CONSENT_LAPSED_WAYS_ON] if lapsed else []
