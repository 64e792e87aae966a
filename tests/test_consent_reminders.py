"""The reminders ask the one consent rule: the consent reminder counts from the last day the
consent stays complete (not from any one consent's end), and nobody outside the consent is
reminded about the meeting."""

from __future__ import annotations

from sqlalchemy import select

from sip_engine.clock import stockholm
from sip_engine.models import Consent
from sip_engine.reminders import sync_case_reminders

from .test_reminders import pending
from .world import CaseBuilder


def test_the_consent_reminder_follows_the_guardian_whose_consent_ends_first(
    mail_builder: CaseBuilder,
) -> None:
    w, session = mail_builder.w, mail_builder.session
    case = mail_builder.case_in("kalla")
    maria, jonas = (g.id for g in w.child.guardians)
    (joint,) = session.scalars(select(Consent)).all()
    joint.given_by_relative_ids = [maria]  # Maria's: a year, until 2027-03-02
    mail_builder.give_consent(case, days=100, guardian_ids=[jonas])  # Jonas's: until 2026-06-10
    sync_case_reminders(session, case, mail_builder.now)
    session.commit()
    coordinator = w.coordinator.id
    # Complete until Jonas's consent ends (2026-06-10): reminded 14 days before, at 08:00.
    assert pending(session)[f"samtycke_upphor:coordinator:{coordinator}"] == stockholm(
        2026, 5, 27, 8, 0
    )


def test_a_participant_outside_the_consent_gets_no_reminders(mail_builder: CaseBuilder) -> None:
    w, session = mail_builder.w, mail_builder.session
    case = mail_builder.case_in("kalla")
    omar = next(p.id for p in case.active_participants if p.name.startswith("Omar"))
    assert f"svar_paminnelse_7:unanswered_participants:{omar}" in pending(session)
    # Jonas's consent no longer names BUP: Omar (BUP) is outside the consent.
    (joint,) = session.scalars(select(Consent)).all()
    joint.given_by_relative_ids = [w.child.guardians[0].id]
    mail_builder.give_consent(
        case, orgs=[w.unit.id, w.school.id], guardian_ids=[w.child.guardians[1].id]
    )
    sync_case_reminders(session, case, mail_builder.now)
    session.commit()
    now_pending = pending(session)
    assert not any(key.endswith(f":{omar}") for key in now_pending)
    karin = next(p.id for p in case.active_participants if p.name.startswith("Karin"))
    assert f"svar_paminnelse_7:unanswered_participants:{karin}" in now_pending
    # And no consent reminder: the consent is not complete today.
    assert not any(key.startswith("samtycke_upphor") for key in now_pending)
