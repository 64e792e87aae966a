"""Placements outside the home and the two statutory health-examination requests (domain.md §5).

A placement runs on the ``placement`` workflow (phases före → under → inför avslut → efter →
avslutad); each health-examination part runs on the ``halsoundersokning`` workflow. Both
store the workflow name and version they run on, like a case. Their history is written to
the linked SIP case's append-only event log.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, str_enum
from .case import Case
from .organisation import NosamArea, Organisation
from .people import Child
from .user import User


class PlacementForm(enum.StrEnum):
    FAMILJEHEM = "familjehem"
    JOURHEM = "jourhem"
    HVB = "hvb"
    STODBOENDE = "stodboende"
    SIS = "sis"
    SKYDDAT_BOENDE = "skyddat_boende"


PLACEMENT_FORM_LABELS = {
    PlacementForm.FAMILJEHEM: "Familjehem",
    PlacementForm.JOURHEM: "Jourhem",
    PlacementForm.HVB: "HVB",
    PlacementForm.STODBOENDE: "Stödboende",
    PlacementForm.SIS: "SiS-institution",
    PlacementForm.SKYDDAT_BOENDE: "Skyddat boende",
}


class PlacementBasis(enum.StrEnum):
    SOL = "sol"
    LVU = "lvu"


PLACEMENT_BASIS_LABELS = {PlacementBasis.SOL: "SoL", PlacementBasis.LVU: "LVU"}


class HealthExamPart(enum.StrEnum):
    """The two parts, requested separately: they go to different clinics."""

    FYSISK_PSYKISK = "fysisk_psykisk"
    MUNHALSA = "munhalsa"


HEALTH_EXAM_PART_LABELS = {
    HealthExamPart.FYSISK_PSYKISK: "Fysisk och psykisk hälsa (vårdcentral)",
    HealthExamPart.MUNHALSA: "Munhälsa (Folktandvården)",
}


# The phases in which a placement is current (not yet ended): före, under, inför avslut. A child
# has at most one current placement, whichever unit registered it (the partial unique index
# below holds it in the database too; services.placements checks it first for a clear message).
CURRENT_PLACEMENT_STATES = ("fore", "under", "infor_avslut")
_CURRENT = text("state IN (" + ", ".join(f"'{s}'" for s in CURRENT_PLACEMENT_STATES) + ")")


class Placement(Base):
    __tablename__ = "placement"
    __table_args__ = (
        Index("ix_placement_unit_state", "unit_id", "state"),
        Index("ix_placement_area_form", "receiving_area_id", "form"),
        Index(
            "ux_placement_current_child",
            "child_id",
            unique=True,
            sqlite_where=_CURRENT,
            postgresql_where=_CURRENT,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("sip_case.id"), index=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id"), index=True)
    # The socialtjänst unit responsible: the same scope as the linked case.
    unit_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    form: Mapped[PlacementForm] = mapped_column(str_enum(PlacementForm))
    legal_basis: Mapped[PlacementBasis] = mapped_column(str_enum(PlacementBasis))
    start_date: Mapped[date] = mapped_column(Date)
    planned_end: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    placing_kommun: Mapped[str] = mapped_column(String(80))
    receiving_kommun: Mapped[str] = mapped_column(String(80))
    receiving_area_id: Mapped[int] = mapped_column(ForeignKey("nosam_area.id"))

    workflow_name: Mapped[str] = mapped_column(String(40))
    workflow_version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(40))
    state_entered_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012

    case: Mapped[Case] = relationship()
    child: Mapped[Child] = relationship()
    unit: Mapped[Organisation] = relationship()
    coordinator: Mapped[User | None] = relationship()
    receiving_area: Mapped[NosamArea] = relationship()
    health_exams: Mapped[list[HealthExamRequest]] = relationship(
        back_populates="placement", order_by="HealthExamRequest.id"
    )


class HealthExamRequest(Base):
    """One part of the health examination: request, offered time, exam, statement."""

    __tablename__ = "health_exam_request"
    __table_args__ = (UniqueConstraint("placement_id", "part"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    placement_id: Mapped[int] = mapped_column(ForeignKey("placement.id"), index=True)
    part: Mapped[HealthExamPart] = mapped_column(str_enum(HealthExamPart))
    region_organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    contact_name: Mapped[str] = mapped_column(String(160))
    contact_email: Mapped[str] = mapped_column(String(254))

    workflow_name: Mapped[str] = mapped_column(String(40))
    workflow_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(40), index=True)
    status_entered_at: Mapped[datetime]
    created_at: Mapped[datetime]
    # Recorded when the request is sent: the notice needs no consent under this provision.
    legal_basis: Mapped[str | None] = mapped_column(String(60))
    requested_at: Mapped[datetime | None]
    offered_time: Mapped[datetime | None]  # the appointment the region offered
    offered_recorded_at: Mapped[datetime | None]
    done_on: Mapped[date | None] = mapped_column(Date)
    statement_received_on: Mapped[date | None] = mapped_column(Date)
    not_needed_reason: Mapped[str | None] = mapped_column(Text)
    # A random value in the region's personal link, replaced to revoke the link.
    link_nonce: Mapped[str] = mapped_column(String(32))

    version: Mapped[int] = mapped_column(Integer, nullable=False)
    __mapper_args__: dict[str, Any] = {"version_id_col": version}  # noqa: RUF012

    placement: Mapped[Placement] = relationship(back_populates="health_exams")
    region_organisation: Mapped[Organisation] = relationship()
