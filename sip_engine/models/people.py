from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, event
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, str_enum
from .enums import IdentityKind, RelativeKind
from .organisation import Organisation


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on ``day`` (one born on 29 February has the birthday on 1 March)."""
    years = day.year - birth_date.year
    if (day.month, day.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def birthday(birth_date: date, age: int) -> date:
    """The day one born on ``birth_date`` turns ``age``: the first day :func:`age_on` gives it
    (one born on 29 February turns it on 1 March in a common year)."""
    year = birth_date.year + age
    try:
        return birth_date.replace(year=year)
    except ValueError:
        return date(year, 3, 1)


def fold_for_search(text: str) -> str:
    """Text as the case search compares it: lower case, Å, Ä and Ö included. (SQLite's own
    lower() and LIKE fold ASCII only, so "öberg" would never find "Öberg".)"""
    return text.lower()


def _search_name(first_name: str, last_name: str) -> str:
    return fold_for_search(f"{first_name} {last_name}")


def _search_name_default(context: Any) -> str:
    # A context-sensitive default: filled in for ORM and Core inserts alike, bulk ones too.
    row = context.get_current_parameters()
    return _search_name(row["first_name"], row["last_name"])


class Child(Base):
    """The child or young person the SIP is about.

    With ``protected_identity`` (skyddade personuppgifter) the address and the school must
    never be shown in invitations or to participants who do not need them.
    """

    __tablename__ = "child"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(80))
    last_name: Mapped[str] = mapped_column(String(80))
    # The full name folded for the case search, stored so that the search is a plain LIKE
    # the database evaluates itself (a function call per child made it ~10 times slower).
    search_name: Mapped[str] = mapped_column(String(161), default=_search_name_default, index=True)
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
        return age_on(self.birth_date, day)

    @property
    def guardians(self) -> list[Relative]:
        return [r for r in self.relatives if r.kind is RelativeKind.VARDNADSHAVARE]


@event.listens_for(Child, "before_update")
def _refold_search_name(_mapper: Any, _connection: Any, child: Child) -> None:
    child.search_name = _search_name(child.first_name, child.last_name)


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
