"""The demo data: every step of the process, consistent histories, accounts, idempotent load."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from sqlalchemy import func, select, table
from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock, local_date
from sip_engine.demo import DEMO_PASSWORDS, DemoSummary, load_demo
from sip_engine.identity import parse_identity_number
from sip_engine.models import (
    Base,
    Case,
    CaseEvent,
    EventKind,
    NosamArea,
    Organisation,
    Participant,
    Party,
    RelativeKind,
    Role,
    User,
)
from sip_engine.passwords import verify_password
from sip_engine.services import meetings, plans
from sip_engine.workflow import WorkflowEngine

STATES = ["upptack", "forbered", "kalla", "mote", "folj_upp", "avslutad"]
NOSAM_AREAS = {
    "Angered",
    "Askim-Frölunda-Högsbo",
    "Centrum",
    "Lundby",
    "Majorna-Linné",
    "Norra Hisingen",
    "Västra Göteborg",
    "Västra Hisingen",
    "Örgryte-Härlanda",
    "Östra Göteborg",
    "Partille",
    "Härryda",
    "Mölndal",
    "Öckerö",
}


def load(session: Session, engine_api: WorkflowEngine, clock: FixedClock) -> DemoSummary:
    summary = load_demo(session, engine_api, clock.now())
    session.commit()
    return summary


def all_cases(session: Session) -> list[Case]:
    return list(session.scalars(select(Case).order_by(Case.id)))


def table_counts(session: Session) -> dict[str, int]:
    return {
        t.name: session.scalar(select(func.count()).select_from(table(t.name))) or 0
        for t in Base.metadata.sorted_tables
    }


def test_demo_covers_every_step_area_and_party(
    session: Session, engine_api: WorkflowEngine, clock: FixedClock
) -> None:
    summary = load(session, engine_api, clock)
    cases = all_cases(session)
    assert summary.created
    assert summary.cases == len(cases) >= 40

    per_state = Counter(c.state for c in cases)
    assert set(per_state) == set(STATES)
    assert all(per_state[state] >= 3 for state in STATES), per_state

    areas = {a.name: a.kommun for a in session.scalars(select(NosamArea))}
    assert set(areas) == NOSAM_AREAS
    assert areas["Partille"] == "Partille" and areas["Centrum"] == "Göteborg"
    assert {c.nosam_area.name for c in cases} == NOSAM_AREAS

    organisations = list(session.scalars(select(Organisation)))
    assert summary.organisations == len(organisations)
    assert {o.party for o in organisations} == set(Party)
    by_name = {o.name: o for o in organisations}
    assert by_name["Socialtjänst Angered, barn och unga"].party is Party.KOMMUN
    assert by_name["BUP Centrum"].huvudman == "Västra Götalandsregionen"
    assert by_name["Försäkringskassan"].party is Party.ANNAN
    kinds = {o.kind for o in organisations}
    assert {"förskola", "grundskola", "gymnasium", "elevhälsa", "vårdcentral", "BUP"} <= kinds
    assert {"habilitering", "barn- och ungdomsmedicin", "folktandvård", "ungdomsmottagning"} <= (
        kinds
    )

    # Cases past step 2 have participants from skola or region beside socialtjänst.
    parties = Counter(p.party for c in cases for p in c.active_participants if p.party is not None)
    assert parties[Party.KOMMUN] and parties[Party.SKOLA] and parties[Party.REGION]

    today = local_date(clock.now())
    for case in cases:
        child = case.child
        parsed = parse_identity_number(child.identity_number or "", today=today)
        assert parsed.birth_date == child.birth_date
        assert 0 <= child.age_on(today) <= 20
        if child.age_on(local_date(case.opened_at)) < 18:
            assert 1 <= len(child.guardians) <= 2
        assert set(case.reasons) <= {
            "placering",
            "skolfranvaro",
            "psykisk_ohalsa",
            "funktionsnedsattning",
            "missbruk",
            "overgang_vuxen",
            "vald_i_nara_relation",
            "somatisk_sjukdom",
            "annat",
        }
    assert sum(c.child.protected_identity for c in cases) >= 2
    assert all(
        r.kind is not RelativeKind.VARDNADSHAVARE
        for c in cases
        if c.child.age_on(local_date(c.opened_at)) >= 18
        for r in c.child.relatives
    )


def test_demo_looks_alive_relative_to_now(
    session: Session, engine_api: WorkflowEngine, clock: FixedClock
) -> None:
    load(session, engine_api, clock)
    now, today = clock.now(), local_date(clock.now())
    close_reasons = engine_api.registry.latest("sip").close_reasons
    used_close_reasons = set()
    for case in all_cases(session):
        assert case.opened_at <= now
        assert (now - case.opened_at) <= timedelta(days=300)
        meeting = meetings.open_meeting(session, case)
        if case.state == "kalla":
            assert meeting is not None and meeting.starts_at > now
            assert meeting.called_at is not None
        if case.state == "mote":
            assert meeting is not None
            assert now - timedelta(hours=1) <= meeting.starts_at <= now
        if case.state == "folj_upp":
            plan = plans.current_plan(session, case)
            assert plan is not None and plan.next_follow_up is not None
            assert plan.next_follow_up > today
        if case.state == "avslutad":
            assert case.closed_at is not None and case.closed_at <= now
            assert case.close_reason in close_reasons
            used_close_reasons.add(case.close_reason)
        else:
            assert case.closed_at is None
    assert len(used_close_reasons) >= 5


def test_every_history_chains_and_plans_are_versioned(
    session: Session, engine_api: WorkflowEngine, clock: FixedClock
) -> None:
    load(session, engine_api, clock)
    now = clock.now()
    versions = Counter[int]()
    for case in all_cases(session):
        events = list(
            session.scalars(
                select(CaseEvent).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id)
            )
        )
        assert events[0].kind is EventKind.CASE_OPENED
        assert events[0].to_state == "upptack"
        times = [e.at for e in events]
        assert times == sorted(times) and times[-1] <= now
        state = "upptack"
        for event in (e for e in events if e.kind is EventKind.TRANSITION):
            assert event.from_state == state, (case.reference, event.trigger)
            assert event.workflow_name == "sip" and event.workflow_version == 1
            state = event.to_state or ""
        assert state == case.state, case.reference
        assert case.state_entered_at <= now

        if case.state == "folj_upp":
            adopted = plans.current_plan(session, case)
            assert adopted is not None and adopted.adopted_at is not None
            assert adopted.insatser and adopted.lead_organisation_id is not None
            assert adopted.samordningsansvarig_participant_id is not None
        all_versions = plans.plan_versions(session, case)
        versions[len([p for p in all_versions if p.adopted_at is not None])] += 1
    assert versions[2] >= 1, versions


def test_one_account_per_role_and_passwords_verify(
    session: Session, engine_api: WorkflowEngine, clock: FixedClock
) -> None:
    load(session, engine_api, clock)
    demo_users = {
        u.username: u
        for u in session.scalars(select(User).where(User.username.in_(list(DEMO_PASSWORDS))))
    }
    assert set(demo_users) == set(DEMO_PASSWORDS)
    assert {u.role for u in demo_users.values()} == set(Role)
    for username, password in DEMO_PASSWORDS.items():
        assert verify_password(demo_users[username].password_hash, password), username
        assert not verify_password(demo_users[username].password_hash, password + "x")

    samordnare, chef = demo_users["samordnare"], demo_users["chef"]
    assert samordnare.organisation_id == chef.organisation_id
    own_cases = [c for c in all_cases(session) if c.unit_id == samordnare.organisation_id]
    assert {c.state for c in own_cases} == set(STATES)

    deltagare = demo_users["deltagare"]
    assert deltagare.professional_id is not None
    cases_with_deltagare = session.scalar(
        select(func.count(func.distinct(Participant.case_id))).where(
            Participant.professional_id == deltagare.professional_id
        )
    )
    assert (cases_with_deltagare or 0) >= 3


def test_loading_twice_adds_nothing(
    session: Session, engine_api: WorkflowEngine, clock: FixedClock
) -> None:
    first = load(session, engine_api, clock)
    counts = table_counts(session)
    clock.advance(timedelta(days=3))
    second = load(session, engine_api, clock)
    assert first.created and not second.created
    assert table_counts(session) == counts
    assert (second.organisations, second.users, second.cases) == (
        first.organisations,
        first.users,
        first.cases,
    )


def test_the_demo_has_placements_some_overdue_for_the_dashboard(
    session: Session, engine_api: WorkflowEngine, clock: FixedClock
) -> None:
    from sip_engine.clock import local_date
    from sip_engine.services.placement_dashboard import placed_children
    from sip_engine.workflow import Actor

    load(session, engine_api, clock)
    samordnare = session.scalars(select(User).where(User.username == "samordnare")).one()
    board = placed_children(
        session, engine_api.registry, Actor.for_user(samordnare), local_date(clock.now())
    )
    assert len(board.rows) >= 3
    assert board.rows[0].overdue  # overdue first
    assert any(not r.overdue for r in board.rows)
    assert {r.placement.state for r in board.rows} >= {"fore", "under"}
    assert board.decided >= 2 and 0 < board.done_in_time < board.decided
