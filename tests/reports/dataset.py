"""A generated dataset whose report figures are known exactly (worked out by hand in the
comments and asserted in test_figures). Rows are written directly, not through the workflow:
the report reads only what the services record, and this way each edge case is placed
exactly (period and month boundaries at night, summer time, cancelled and late meetings).

Centrum (world.area), opened 2025 — 30 cases, c[0]..c[29]:
  Jan c0–c9 (10), Feb c10–c15 (6; c10 at 1 Feb 00:30 = 31 Jan in UTC), Mar c16–c23 (8; c16 at
  31 Mar 00:30 summer time = 30 Mar in UTC), Nov c24–c28 (5), Dec c29 (31 Dec 23:30).
  raised_by: socialtjänst c0–c11 (12), skola c12–c20 (9), region c21–c26 (6), familj c27–c29 (3)
  reasons: placering c0–c19 (20); skolfrånvaro c0–c4 + c20–c24 (10); psykisk ohälsa c25–c27
  (3); funktionsnedsättning c28–c29 (2)
  closed 2025-12-10: c20–c24 (samordning_behovs_inte), c25–c26 (familjen_avbojer);
  c27 closed 2026-01-15.
Centrum, opened 2024-05: p0–p7 (socialtjänst, placering); p0 closed 2024-09 (flyttat), p1
  closed 2025-02 (flyttat).
Centrum, opened 2026-01-01 00:30 (31 Dec 23:30 UTC): one case, in 2026 only.
Angered, opened 2025-06-15: a0–a5 (skola, annat); a0 has a SIP meeting 2025-07-01 (16 days,
  child took part).
Placements (both health-examination parts requested on the start day, 28 days to do them):
  Centrum 2025: c0–c4 start 2025-03-03, both parts done 2025-03-20 (c4's oral part marked not
  needed instead): 5 in time. c5–c10 start 2025-05-02, the physical part done 2025-05-20; the
  oral part done 2025-06-20 (c5–c7) or never (c8–c10, long past its deadline): 6 late.
  Centrum 2024: p2, p3 start 2024-06-03, both parts done 2024-06-20: 2 in time.
  Angered 2025: a0 starts 2025-07-01, both parts done 2025-07-15: in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from sip_engine.clock import stockholm
from sip_engine.models import (
    Case,
    HealthExamPart,
    HealthExamRequest,
    Meeting,
    MeetingFormat,
    MeetingKind,
    NosamArea,
    Placement,
    PlacementBasis,
    PlacementForm,
    PlanVersion,
    RaisedBy,
)

from ..world import World

# Days from opening to the first held SIP meeting for c0–c9 (opened 2–11 Jan 2025).
JAN_WAITS = [2, 4, 5, 7, 9, 11, 14, 21, 28, 40]


@dataclass
class Dataset:
    centrum: NosamArea
    angered: NosamArea
    c: list[Case]
    p: list[Case]


class _Maker:
    def __init__(self, session: Session, world: World) -> None:
        self.session, self.w, self.n = session, world, 0

    def case(
        self,
        area: NosamArea,
        opened: datetime,
        raised_by: RaisedBy,
        reasons: list[str],
        *,
        closed: datetime | None = None,
        close_reason: str | None = None,
    ) -> Case:
        self.n += 1
        case = Case(
            reference=f"RAPP-{self.n:04d}",
            child_id=self.w.child.id,
            nosam_area_id=area.id,
            unit_id=self.w.unit.id,
            workflow_name="sip",
            workflow_version=1,
            state="avslutad" if closed else "folj_upp",
            state_entered_at=closed or opened,
            reasons=reasons,
            need_description="Testbehov",
            raised_by=raised_by,
            raised_on=opened.date(),
            involved_organisation_ids=[],
            opened_at=opened,
            updated_at=closed or opened,
            closed_at=closed,
            close_reason=close_reason,
            version=1,
        )
        self.session.add(case)
        self.session.flush()
        return case

    def meeting(
        self,
        case: Case,
        starts: datetime,
        *,
        kind: MeetingKind = MeetingKind.SIP,
        held: bool = True,
        cancelled: bool = False,
        child: bool | None = None,
    ) -> Meeting:
        m = Meeting(
            case_id=case.id,
            kind=kind,
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            format=MeetingFormat.PA_PLATS,
            questions=["Fråga"],
            sequence=0,
            created_at=starts - timedelta(days=10),
            called_at=starts - timedelta(days=9),
            held_at=starts + timedelta(hours=2) if held else None,
            cancelled_at=starts - timedelta(days=1) if cancelled else None,
            child_attended=child,
        )
        self.session.add(m)
        return m

    def placement(
        self, case: Case, start: date, done: date | None, oral_done: date | str | None
    ) -> Placement:
        """Both parts requested at 10:00 on ``start``; the physical part done on ``done``, the
        oral one on ``oral_done`` (or "obehovlig")."""
        requested = _at(start)
        placement = Placement(
            case_id=case.id,
            child_id=case.child_id,
            unit_id=case.unit_id,
            form=PlacementForm.FAMILJEHEM,
            legal_basis=PlacementBasis.SOL,
            start_date=start,
            placing_kommun="Göteborg",
            receiving_kommun="Göteborg",
            receiving_area_id=case.nosam_area_id,
            workflow_name="placement",
            workflow_version=1,
            # Every case here is the same child's: only one placement may be current
            # (ux_placement_current_child), so these are past ones, in their follow-up phase.
            state="efter",
            state_entered_at=requested,
            created_at=requested,
            updated_at=requested,
            version=1,
        )
        self.session.add(placement)
        self.session.flush()
        for part, day in (
            (HealthExamPart.FYSISK_PSYKISK, done),
            (HealthExamPart.MUNHALSA, oral_done),
        ):
            not_needed = day == "obehovlig"
            done_on = day if isinstance(day, date) else None
            self.session.add(
                HealthExamRequest(
                    placement_id=placement.id,
                    part=part,
                    region_organisation_id=self.w.vardcentral.id,
                    contact_name="Vera Vårdcentral",
                    contact_email="vera@vc.example.se",
                    workflow_name="halsoundersokning",
                    workflow_version=1,
                    status="obehovlig" if not_needed else ("genomford" if done_on else "begard"),
                    status_entered_at=requested,
                    created_at=requested,
                    legal_basis=None if not_needed else "OSL 10 kap. 28 §",
                    requested_at=None if not_needed else requested,
                    done_on=done_on,
                    not_needed_reason="Undersökt i en placering i höstas." if not_needed else None,
                    link_nonce=f"n{placement.id}{part.value}",
                    version=1,
                )
            )
        return placement

    def plan(
        self, case: Case, version_no: int, adopted: datetime | None, follow_up: date
    ) -> PlanVersion:
        p = PlanVersion(
            case_id=case.id,
            version_no=version_no,
            needs=[],
            goals=[],
            other_actions=[],
            next_follow_up=follow_up,
            created_at=adopted or stockholm(2025, 1, 1, 9),
            adopted_at=adopted,
        )
        self.session.add(p)
        return p


def _at(day: date, hour: int = 10, minute: int = 0) -> datetime:
    return stockholm(day.year, day.month, day.day, hour, minute)


def build_dataset(session: Session, world: World) -> Dataset:
    make = _Maker(session, world)
    centrum = world.area
    angered = session.scalars(select(NosamArea).where(NosamArea.name == "Angered")).one()

    opened: list[datetime] = []
    opened += [stockholm(2025, 1, 2 + i, 10) for i in range(10)]
    opened += [stockholm(2025, 2, 1, 0, 30)] + [stockholm(2025, 2, 3 + i, 10) for i in range(5)]
    opened += [stockholm(2025, 3, 31, 0, 30)] + [stockholm(2025, 3, 3 + i, 10) for i in range(7)]
    opened += [stockholm(2025, 11, 3 + i, 10) for i in range(5)]
    opened += [stockholm(2025, 12, 31, 23, 30)]
    assert len(opened) == 30

    def raised(i: int) -> RaisedBy:
        if i <= 11:
            return RaisedBy.SOCIALTJANST
        if i <= 20:
            return RaisedBy.SKOLA
        if i <= 26:
            return RaisedBy.REGION
        return RaisedBy.FAMILJ

    def reasons(i: int) -> list[str]:
        r = []
        if i <= 19:
            r.append("placering")
        if i <= 4 or 20 <= i <= 24:
            r.append("skolfranvaro")
        if 25 <= i <= 27:
            r.append("psykisk_ohalsa")
        if i >= 28:
            r.append("funktionsnedsattning")
        return r

    c: list[Case] = []
    for i, at in enumerate(opened):
        closed, why = None, None
        if 20 <= i <= 24:
            closed, why = stockholm(2025, 12, 10, 14), "samordning_behovs_inte"
        elif i in (25, 26):
            closed, why = stockholm(2025, 12, 10, 14), "familjen_avbojer"
        elif i == 27:
            closed, why = stockholm(2026, 1, 15, 14), "annat"
        c.append(make.case(centrum, at, raised(i), reasons(i), closed=closed, close_reason=why))

    p: list[Case] = []
    for i in range(8):
        closed, why = None, None
        if i == 0:
            closed, why = stockholm(2024, 9, 2, 14), "flyttat"
        elif i == 1:
            closed, why = stockholm(2025, 2, 3, 14), "flyttat"
        p.append(
            make.case(
                centrum,
                stockholm(2024, 5, 6, 10),
                RaisedBy.SOCIALTJANST,
                ["placering"],
                closed=closed,
                close_reason=why,
            )
        )
    make.case(centrum, stockholm(2026, 1, 1, 0, 30), RaisedBy.SKOLA, ["annat"])
    a = [
        make.case(angered, stockholm(2025, 6, 15, 10), RaisedBy.SKOLA, ["annat"]) for _ in range(6)
    ]

    # First SIP meetings. c0–c6 child took part, c7–c9 not.
    for i, wait in enumerate(JAN_WAITS):
        day = opened[i].date() + timedelta(days=wait)
        make.meeting(c[i], _at(day), child=i <= 6)
    # c1 has a second held SIP meeting (only the first counts for the wait); child took part.
    make.meeting(c[1], stockholm(2025, 9, 1, 10), child=True)
    # c16: opened 31 Mar 00:30 (30 Mar in UTC), meeting 10 Apr: 10 Swedish calendar days.
    make.meeting(c[16], stockholm(2025, 4, 10, 10), child=False)
    # c11: its only meeting was cancelled; c12: first held meeting in 2026.
    make.meeting(c[11], stockholm(2025, 3, 1, 10), held=False, cancelled=True)
    make.meeting(c[12], stockholm(2026, 1, 20, 10))
    # p5: opened 2024-05-06, first meeting 2025-01-20: 259 days; child did not take part.
    make.meeting(p[5], stockholm(2025, 1, 20, 10), child=False)
    # 2024: p2–p4 meetings, waits 10, 20, 30; child True, True, not recorded.
    for k, (wait, child) in enumerate([(10, True), (20, True), (30, None)]):
        make.meeting(p[2 + k], _at(date(2024, 5, 6) + timedelta(days=wait)), child=child)
    # Angered a0: 16 days, child took part.
    make.meeting(a[0], stockholm(2025, 7, 1, 10), child=True)

    # Plans adopted at the first meetings of c0–c9, follow-up 90 days later.
    for i, wait in enumerate(JAN_WAITS):
        meeting_day = opened[i].date() + timedelta(days=wait)
        due = meeting_day + timedelta(days=90)
        make.plan(c[i], 1, _at(meeting_day, 12), due)
        if i <= 4:  # on time: three days before the date
            make.meeting(c[i], _at(due - timedelta(days=3)), kind=MeetingKind.UPPFOLJNING)
        elif i == 5:  # 00:30 the day after (still the due date in UTC): late
            make.meeting(c[i], _at(due + timedelta(days=1), 0, 30), kind=MeetingKind.UPPFOLJNING)
        elif i == 6:  # cancelled
            make.meeting(
                c[i],
                _at(due - timedelta(days=2)),
                kind=MeetingKind.UPPFOLJNING,
                held=False,
                cancelled=True,
            )
        elif i == 7:  # ten days late
            make.meeting(c[i], _at(due + timedelta(days=10)), kind=MeetingKind.UPPFOLJNING)
    # Not counted: closed before its follow-up date; due after the period; a draft.
    make.plan(c[20], 1, stockholm(2025, 6, 1, 12), date(2025, 12, 20))
    make.plan(c[11], 1, stockholm(2025, 6, 1, 12), date(2026, 4, 1))
    make.plan(c[13], 1, None, date(2025, 6, 1))
    # 2024: p2's follow-up on 2024-11-01, held on time.
    make.plan(p[2], 1, stockholm(2024, 5, 16, 12), date(2024, 11, 1))
    make.meeting(p[2], stockholm(2024, 10, 28, 10), kind=MeetingKind.UPPFOLJNING)
    # Placements and their health examinations (see the module docstring).
    for i in range(5):
        oral: date | str = "obehovlig" if i == 4 else date(2025, 3, 20)
        make.placement(c[i], date(2025, 3, 3), date(2025, 3, 20), oral)
    for i in range(5, 11):
        make.placement(
            c[i], date(2025, 5, 2), date(2025, 5, 20), date(2025, 6, 20) if i <= 7 else None
        )
    for case in (p[2], p[3]):
        make.placement(case, date(2024, 6, 3), date(2024, 6, 20), date(2024, 6, 20))
    make.placement(a[0], date(2025, 7, 1), date(2025, 7, 15), date(2025, 7, 15))
    session.commit()
    return Dataset(centrum, angered, c, p)
