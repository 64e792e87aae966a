"""A small, explicit world for tests: one unit, a school, region clinics, users, a family,
and a builder that takes a case to any step through the real services and engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock, local_date
from sip_engine.models import (
    Case,
    Child,
    ConsentForm,
    FunctionRole,
    MeetingFormat,
    NosamArea,
    Organisation,
    Participant,
    Party,
    Professional,
    RaisedBy,
    Role,
    User,
)
from sip_engine.passwords import hash_password
from sip_engine.services import cases, consent, meetings, participants, plans
from sip_engine.workflow import Actor, WorkflowEngine

STATES_IN_ORDER = ["upptack", "forbered", "kalla", "mote", "folj_upp", "avslutad"]

# Every test user has this password; hashed once, since argon2 is slow on purpose.
PASSWORD = "rätt-lösenord-123"
PASSWORD_HASH = hash_password(PASSWORD)


@dataclass
class World:
    area: NosamArea
    unit: Organisation  # socialtjänst unit owning the cases
    other_unit: Organisation
    school: Organisation
    vardcentral: Organisation
    bup: Organisation
    forsakringskassan: Organisation
    coordinator: User
    manager: User
    other_coordinator: User
    bup_user: User
    other_deltagare: User
    admin: User
    teacher: Professional
    bup_doctor: Professional
    social_worker: Professional
    nurse: Professional
    child: Child

    @property
    def actor(self) -> Actor:
        return Actor.for_user(self.coordinator)


def build_world(session: Session, clock: FixedClock) -> World:
    area = NosamArea(name="Centrum", kommun="Göteborg")
    other_area = NosamArea(name="Angered", kommun="Göteborg")
    session.add_all([area, other_area])
    session.flush()

    def org(name: str, party: Party, kind: str, huvudman: str) -> Organisation:
        o = Organisation(
            name=name,
            party=party,
            kind=kind,
            huvudman=huvudman,
            kommun="Göteborg",
            nosam_area_id=area.id,
        )
        session.add(o)
        return o

    unit = org(
        "Socialtjänst Centrum, barn och unga", Party.KOMMUN, "socialtjänst", "Göteborgs Stad"
    )
    other_unit = org(
        "Socialtjänst Angered, barn och unga", Party.KOMMUN, "socialtjänst", "Göteborgs Stad"
    )
    school = org("Johannebergsskolan", Party.SKOLA, "grundskola", "Göteborgs Stad")
    vardcentral = org(
        "Vårdcentralen Centrum", Party.REGION, "vårdcentral", "Västra Götalandsregionen"
    )
    bup = org("BUP Centrum", Party.REGION, "BUP", "Västra Götalandsregionen")
    fk = org("Försäkringskassan Göteborg", Party.ANNAN, "försäkringskassa", "Staten")
    session.flush()

    def pro(name: str, o: Organisation, title: str) -> Professional:
        p = Professional(
            name=name,
            organisation_id=o.id,
            title=title,
            email=f"{name.split()[0].lower()}@example.se",
        )
        session.add(p)
        return p

    teacher = pro("Karin Lärare", school, "Mentor")
    bup_doctor = pro("Omar Läkare", bup, "Läkare")
    social_worker = pro("Sara Socionom", unit, "Socialsekreterare")
    nurse = pro("Eva Sköterska", vardcentral, "Distriktssköterska")
    other_pro = pro("Nils Annan", vardcentral, "Kurator")
    session.flush()

    def user(username: str, role: Role, o: Organisation, p: Professional | None = None) -> User:
        u = User(
            username=username,
            display_name=username.title(),
            password_hash=PASSWORD_HASH,
            role=role,
            organisation_id=o.id,
            professional_id=p.id if p else None,
        )
        session.add(u)
        return u

    coordinator = user("samordnare", Role.SAMORDNARE, unit, social_worker)
    manager = user("chef", Role.CHEF, unit)
    other_coordinator = user("annan.samordnare", Role.SAMORDNARE, other_unit)
    bup_user = user("bup", Role.DELTAGARE, bup, bup_doctor)
    other_deltagare = user("kurator", Role.DELTAGARE, vardcentral, other_pro)
    admin = user("admin", Role.ADMIN, unit)
    session.flush()

    child = cases.register_child(
        session,
        first_name="Alva",
        last_name="Testsson",
        identity_number="20150315-2389",
        today=local_date(clock.now()),
        school_id=school.id,
        relatives=[
            cases.GuardianInput("Maria Testsson", "maria@example.se"),
            cases.GuardianInput("Jonas Testsson", "jonas@example.se"),
        ],
    )
    return World(
        area,
        unit,
        other_unit,
        school,
        vardcentral,
        bup,
        fk,
        coordinator,
        manager,
        other_coordinator,
        bup_user,
        other_deltagare,
        admin,
        teacher,
        bup_doctor,
        social_worker,
        nurse,
        child,
    )


class CaseBuilder:
    """Takes a case step by step through the real services and engine (committing each step,
    as the entry points do)."""

    def __init__(
        self, session: Session, world: World, engine: WorkflowEngine, clock: FixedClock
    ) -> None:
        self.session, self.w, self.engine, self.clock = session, world, engine, clock

    @property
    def now(self):
        return self.clock.now()

    def open(self) -> Case:
        w = self.w
        case = cases.open_case(
            self.session,
            self.engine.registry.latest("sip"),
            w.actor,
            self.now,
            cases.NewCase(
                child_id=w.child.id,
                nosam_area_id=w.area.id,
                unit_id=w.unit.id,
                need_description="Hög skolfrånvaro och oro för måendet.",
                raised_by=RaisedBy.SKOLA,
                raised_on=local_date(self.now),
                reasons=["skolfranvaro", "psykisk_ohalsa"],
                raised_by_organisation_id=w.school.id,
                involved_organisation_ids=[w.school.id, w.bup.id],
            ),
        )
        self.session.commit()
        return case

    def fire(self, case: Case, trigger: str, **kwargs: object) -> None:
        self.engine.fire(self.session, case, trigger, self.w.actor, **kwargs)  # type: ignore[arg-type]
        self.session.commit()

    def add_participants(self, case: Case) -> dict[str, Participant]:
        w, s, now = self.w, self.session, self.now
        result = {
            "socialtjanst": participants.add_participant(
                s,
                case,
                w.actor,
                now,
                professional_id=w.social_worker.id,
                roles=[FunctionRole.SAMMANKALLANDE.value, FunctionRole.MOTESLEDARE.value],
            ),
            "skola": participants.add_participant(
                s,
                case,
                w.actor,
                now,
                professional_id=w.teacher.id,
                roles=[FunctionRole.DOKUMENTANSVARIG.value],
            ),
            "bup": participants.add_participant(
                s,
                case,
                w.actor,
                now,
                professional_id=w.bup_doctor.id,
                roles=[FunctionRole.KONTAKTPERSON.value],
            ),
        }
        s.commit()
        return result

    def give_consent(
        self,
        case: Case,
        *,
        days: int = 365,
        orgs: list[int] | None = None,
        categories: list[str] | None = None,
        guardian_ids: list[int] | None = None,
    ) -> None:
        w, today = self.w, local_date(self.now)
        consent.record_consent(
            self.session,
            case,
            w.actor,
            self.now,
            consent.ConsentInput(
                form=ConsentForm.SKRIFTLIG,
                organisation_ids=orgs or [w.unit.id, w.school.id, w.bup.id],
                valid_from=today,
                valid_until=today + timedelta(days=days),
                information_categories=(
                    list(consent.information_categories()) if categories is None else categories
                ),
                given_by_relative_ids=(
                    [g.id for g in w.child.guardians] if guardian_ids is None else guardian_ids
                ),
                child_view="Alva vill att skolan och BUP pratar med varandra.",
            ),
        )
        self.session.commit()

    def plan_meeting(self, case: Case, *, in_days: int = 14) -> None:
        start = self.now + timedelta(days=in_days)
        meetings.schedule_meeting(
            self.session,
            case,
            self.w.actor,
            self.now,
            meetings.MeetingInput(
                starts_at=start,
                ends_at=start + timedelta(hours=1, minutes=30),
                format=MeetingFormat.PA_PLATS,
                location="Stadsdelshuset, rum 3",
                questions=["Hur får Alva en fungerande skolgång?"],
            ),
            workflow=self.engine,
        )
        self.session.commit()

    def prepare(self, case: Case) -> dict[str, Participant]:
        people = self.add_participants(case)
        self.give_consent(case)
        cases.record_child_voice(
            self.session,
            case,
            self.w.actor,
            self.now,
            voice="Att jag får vara med mina kompisar i skolan.",
        )
        self.session.commit()
        self.plan_meeting(case)
        return people

    def hold_meeting(self, case: Case) -> None:
        meeting = meetings.open_meeting(self.session, case)
        assert meeting is not None
        self.clock.set(meeting.starts_at)
        self.fire(case, "hall_mote")

    def write_plan(
        self,
        case: Case,
        people: dict[str, Participant],
        *,
        follow_up: date | None = None,
        samordningsansvarig: str = "socialtjanst",
    ) -> None:
        w = self.w
        meetings.record_attendance(
            self.session, case, w.actor, self.now, {p.id: True for p in case.active_participants}
        )
        plans.save_plan_draft(
            self.session,
            case,
            w.actor,
            self.now,
            plans.PlanInput(
                needs=["Stöd i skolan", "Utredning av måendet"],
                goals=[{"goal": "Gå i skolan varje dag", "delmal": ["Tre dagar i veckan"]}],
                insatser=[
                    plans.InsatsInput("Anpassad studiegång", w.school.id, "Karin Lärare"),
                    plans.InsatsInput("Samtalskontakt", w.bup.id, "Omar Läkare"),
                ],
                lead_organisation_id=w.unit.id,
                samordningsansvarig_participant_id=people[samordningsansvarig].id,
                next_follow_up=follow_up or local_date(self.now) + timedelta(days=90),
            ),
        )
        self.session.commit()

    def following_up(self, *, samordningsansvarig: str = "socialtjanst") -> Case:
        """A case in folj_upp whose plan in force names ``samordningsansvarig`` (a key of
        :meth:`add_participants`)."""
        case = self.open()
        self.fire(case, "forbered")
        people = self.prepare(case)
        self.fire(case, "kalla")
        self.hold_meeting(case)
        self.write_plan(case, people, samordningsansvarig=samordningsansvarig)
        self.fire(case, "anta_plan")
        return case

    def case_in(self, state: str) -> Case:
        """A fresh case standing in ``state``, with everything the earlier steps need."""
        case = self.open()
        if state == "upptack":
            return case
        if state == "avslutad":
            self.fire(
                case, "avboj", reason="Behovet kan mötas inom skolan.", reason_code="behov_saknas"
            )
            return case
        self.fire(case, "forbered")
        if state == "forbered":
            return case
        people = self.prepare(case)
        self.fire(case, "kalla")
        if state == "kalla":
            return case
        self.hold_meeting(case)
        if state == "mote":
            return case
        self.write_plan(case, people)
        self.fire(case, "anta_plan")
        assert state == "folj_upp", state
        return case
