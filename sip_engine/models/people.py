from __future__ import annotations

from datetime import date

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, str_enum
from .enums import IdentityKind, RelativeKind
from .organisation import Organisation


class Child(Base):
    """The child or young person the SIP is about.

    With ``protected_identity`` (skyddade personuppgifter) the address and the school must
    never be shown in invitations or to participants who do not need them.
    """

    __tablename__ = "child"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    identity_number: Mapped[str | None] = mapped_column(String(12), unique=True)
    identity_kind: Mapped[IdentityKind] = mapped_column(str_enum(IdentityKind))
    birth_date: Mapped[date]
    protected_identity: Mapped[bool] = mapped_column(Boolean, default=False)
    address: Mapped[str | None] = mapped_column(String(200))
    school_id: Mapped[int | None] = mapped_column(ForeignKey("organisation.id"))

    school: Mapped[Organisation | None] = relationship()
    relatives: Mapped[list[Relative]] = relationship(
        back_populates="child", order_by="Relative.id", cascade="all, delete-orphan"
    )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def age_on(self, day: date) -> int:
        years = day.year - self.birth_date.year
        if (day.month, day.day) < (self.birth_date.month, self.birth_date.day):
            years -= 1
        return years

    @property
    def guardians(self) -> list[Relative]:
        return [r for r in self.relatives if r.kind is RelativeKind.VARDNADSHAVARE]


class Relative(Base):
    """A vårdnadshavare, another närstående, a god man or familjehem staff."""

    __tablename__ = "relative"

    id: Mapped[int] = mapped_column(primary_key=True)
    child_id: Mapped[int] = mapped_column(ForeignKey("child.id", ondelete="CASCADE"), index=True)
    kind: Mapped[RelativeKind] = mapped_column(str_enum(RelativeKind))
    name: Mapped[str] = mapped_column(String(160))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))

    child: Mapped[Child] = relationship(back_populates="relatives")


class Professional(Base):
    """A professional at an organisation; may or may not have a user account."""

    __tablename__ = "professional"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(120))
    email: Mapped[str | None] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(40))

    organisation: Mapped[Organisation] = relationship()
