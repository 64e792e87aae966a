from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, ForeignKey, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, str_enum
from .enums import ConsentForm
from .organisation import Organisation
from .user import User

consent_organisation = Table(
    "consent_organisation",
    Base.metadata,
    Column("consent_id", ForeignKey("consent.id", ondelete="CASCADE"), primary_key=True),
    Column("organisation_id", ForeignKey("organisation.id"), primary_key=True),
)


class Consent(Base):
    """A samtycke: never general — which organisations, what information, until when.

    Given by each vårdnadshavare (``given_by_relative_ids``) or, from 18, by the young person
    (``given_by_young_person``). Revocation takes effect at once and is never undone: a new
    consent is a new row.
    """

    __tablename__ = "consent"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("sip_case.id"), index=True)
    form: Mapped[ConsentForm] = mapped_column(str_enum(ConsentForm))
    given_by_relative_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    given_by_young_person: Mapped[bool] = mapped_column(default=False)
    child_view: Mapped[str | None] = mapped_column(Text)
    information_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    exclusions: Mapped[str | None] = mapped_column(Text)
    # Organisations the giver explicitly excluded: never covered by this giver's consent,
    # whatever else they named (sip_engine.consent_rules).
    excluded_organisation_ids: Mapped[list[int]] = mapped_column(
        JSON, default=list, server_default="[]"
    )
    valid_from: Mapped[date]
    valid_until: Mapped[date]
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"))
    revoke_reason: Mapped[str | None] = mapped_column(Text)

    organisations: Mapped[list[Organisation]] = relationship(
        secondary=consent_organisation, order_by="Organisation.name"
    )
    recorded_by: Mapped[User | None] = relationship(foreign_keys=[recorded_by_id])

    def covers(self, organisation_id: int) -> bool:
        return any(o.id == organisation_id for o in self.organisations)
