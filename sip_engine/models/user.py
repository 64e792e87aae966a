from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, str_enum
from .enums import Role
from .organisation import Organisation
from .people import Professional


class User(Base):
    """A person who signs in. The organisation is the user's unit (for scope)."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(160))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    professional_id: Mapped[int | None] = mapped_column(ForeignKey("professional.id"))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Where reminders and escalations for this user go (falls back to the professional's).
    email: Mapped[str | None] = mapped_column(String(254))
    # Kept in the sign-in session and compared on every request: raising it ends every session
    # the user has (sign-out, deactivation, a new password; services.auth.end_sessions).
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    organisation: Mapped[Organisation] = relationship()
    professional: Mapped[Professional | None] = relationship()

    @property
    def contact_email(self) -> str | None:
        return self.email or (self.professional.email if self.professional else None)
