"""The "Placerade barn" dashboard: every placed child in the actor's scope with the status of
both health-examination parts, overdue ones first, and the share done within the deadline.

Scope is the same as for cases: the query starts from :func:`visible_placements`, so a
placement outside the actor's unit is never loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session, selectinload

from sip_engine.models import HealthExamPart, HealthExamRequest, Placement, PlacementForm, Role
from sip_engine.workflow import Actor, WorkflowRegistry

from .placements import exam_deadline, exam_overdue, exams_outcome


def visible_placements(actor: Actor) -> Select[Placement]:
    """Placements a samordnare or chef may see: those of their unit. Nobody else sees any."""
    stmt = select(Placement)
    if actor.role in (Role.SAMORDNARE, Role.CHEF) and actor.organisation_id is not None:
        return stmt.where(Placement.unit_id == actor.organisation_id)
    return stmt.where(false())


def get_visible_placement(session: Session, actor: Actor, placement_id: int) -> Placement | None:
    return session.scalars(visible_placements(actor).where(Placement.id == placement_id)).first()


@dataclass(frozen=True)
class ExamStatus:
    exam: HealthExamRequest
    label: str
    deadline: date | None
    overdue: bool


@dataclass(frozen=True)
class DashboardRow:
    placement: Placement
    phase_label: str
    exams: dict[HealthExamPart, ExamStatus]

    @property
    def overdue(self) -> bool:
        return any(e.overdue for e in self.exams.values())

    @property
    def earliest_open_deadline(self) -> date:
        open_deadlines = [
            e.deadline
            for e in self.exams.values()
            if e.deadline is not None and e.exam.status in ("begard", "tid_erbjuden")
        ]
        return min(open_deadlines, default=date.max)


@dataclass(frozen=True)
class Dashboard:
    rows: list[DashboardRow]
    done_in_time: int
    decided: int

    @property
    def share_percent(self) -> int | None:
        return round(100 * self.done_in_time / self.decided) if self.decided else None


def placed_children(
    session: Session,
    registry: WorkflowRegistry,
    actor: Actor,
    today: date,
    *,
    area_id: int | None = None,
    form: PlacementForm | None = None,
    include_closed: bool = False,
) -> Dashboard:
    stmt = visible_placements(actor).options(
        selectinload(Placement.health_exams).selectinload(HealthExamRequest.region_organisation),
        selectinload(Placement.child),
        selectinload(Placement.receiving_area),
        selectinload(Placement.case),
    )
    if area_id is not None:
        stmt = stmt.where(Placement.receiving_area_id == area_id)
    if form is not None:
        stmt = stmt.where(Placement.form == form)
    if not include_closed:
        stmt = stmt.where(Placement.state != "avslutad")
    rows: list[DashboardRow] = []
    done_in_time = decided = 0
    for placement in session.scalars(stmt):
        definition = registry.get(placement.workflow_name, placement.workflow_version)
        exams: dict[HealthExamPart, ExamStatus] = {}
        for exam in placement.health_exams:
            exam_definition = registry.get(exam.workflow_name, exam.workflow_version)
            exams[exam.part] = ExamStatus(
                exam=exam,
                label=exam_definition.state_label(exam.status),
                deadline=exam_deadline(registry, exam),
                overdue=exam_overdue(registry, exam, today),
            )
        rows.append(DashboardRow(placement, definition.state_label(placement.state), exams))
        outcome = exams_outcome(registry, placement.health_exams, today)
        if outcome is not None:
            decided += 1
            done_in_time += outcome
    rows.sort(
        key=lambda r: (
            not r.overdue,
            r.earliest_open_deadline,
            r.placement.start_date,
            r.placement.id,
        )
    )
    return Dashboard(rows=rows, done_in_time=done_in_time, decided=decided)
