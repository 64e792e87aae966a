from __future__ import annotations

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, str_enum
from .enums import Party


class NosamArea(Base):
    """A local NOSAM area: Göteborg's ten plus Partille, Härryda, Mölndal and Öckerö."""

    __tablename__ = "nosam_area"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kommun: Mapped[str] = mapped_column(String(80))


class Organisation(Base):
    """A verksamhet (e.g. "BUP Centrum") belonging to one party (huvudman side)."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    party: Mapped[Party] = mapped_column(str_enum(Party), index=True)
    kind: Mapped[str] = mapped_column(String(60))
    huvudman: Mapped[str] = mapped_column(String(120))
    kommun: Mapped[str | None] = mapped_column(String(80))
    nosam_area_id: Mapped[int | None] = mapped_column(ForeignKey("nosam_area.id"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))

    nosam_area: Mapped[NosamArea | None] = relationship()

    def __repr__(self) -> str:
        return f"Organisation({self.id}, {self.name!r}, {self.party})"
