"""Administration: users and organisations. Only an admin reaches these (checked by the caller)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sip_engine.models import NosamArea, Organisation, Party, Professional, Role, User
from sip_engine.passwords import hash_password

from .auth import end_sessions
from .common import ValidationError

MIN_PASSWORD_LENGTH = 12


def create_user(
    session: Session,
    *,
    username: str,
    display_name: str,
    role: Role,
    organisation_id: int,
    password: str,
    professional_id: int | None = None,
) -> User:
    errors: dict[str, str] = {}
    username = username.strip().lower()
    if not username or not username.replace(".", "").replace("-", "").isalnum():
        errors["username"] = (
            "Användarnamnet får bara innehålla bokstäver, siffror, punkt och bindestreck."
        )
    elif session.scalar(select(func.count()).where(func.lower(User.username) == username)):
        errors["username"] = "Användarnamnet är upptaget."
    if not display_name.strip():
        errors["display_name"] = "Ange namn."
    if password_error := _password_error(password):
        errors["password"] = password_error
    if session.get(Organisation, organisation_id) is None:
        errors["organisation_id"] = "Välj verksamhet."
    if professional_id is not None and session.get(Professional, professional_id) is None:
        errors["professional_id"] = "Personen finns inte."
    if role is Role.DELTAGARE and professional_id is None:
        errors["professional_id"] = "En deltagare kopplas till sin person i verksamheten."
    if errors:
        raise ValidationError(errors)
    user = User(
        username=username,
        display_name=display_name.strip(),
        role=role,
        organisation_id=organisation_id,
        professional_id=professional_id,
        password_hash=hash_password(password),
        is_active=True,
    )
    session.add(user)
    session.flush()
    return user


def _password_error(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"Lösenordet måste ha minst {MIN_PASSWORD_LENGTH} tecken."
    return None


def set_active(session: Session, user: User, active: bool) -> None:
    """Activate or deactivate a user; deactivation ends every session they have, so
    activating them again does not bring an old session back."""
    if user.is_active and not active:
        end_sessions(session, user.id)
    user.is_active = active
    session.flush()


def set_password(session: Session, user: User, password: str) -> None:
    """Give the user a new password (an admin's reset); every session they have ends."""
    error = _password_error(password)
    if error:
        raise ValidationError({"password": error})
    user.password_hash = hash_password(password)
    end_sessions(session, user.id)


def create_organisation(
    session: Session,
    *,
    name: str,
    party: Party,
    kind: str,
    huvudman: str,
    kommun: str | None,
    nosam_area_id: int | None,
) -> Organisation:
    errors: dict[str, str] = {}
    if not name.strip():
        errors["name"] = "Ange namn."
    elif session.scalar(select(func.count()).where(Organisation.name == name.strip())):
        errors["name"] = "Det finns redan en verksamhet med det namnet."
    if not kind.strip():
        errors["kind"] = "Ange slag av verksamhet."
    if not huvudman.strip():
        errors["huvudman"] = "Ange huvudman."
    if nosam_area_id is not None and session.get(NosamArea, nosam_area_id) is None:
        errors["nosam_area_id"] = "Välj NOSAM-område."
    if errors:
        raise ValidationError(errors)
    organisation = Organisation(
        name=name.strip(),
        party=party,
        kind=kind.strip(),
        huvudman=huvudman.strip(),
        kommun=(kommun or "").strip() or None,
        nosam_area_id=nosam_area_id,
    )
    session.add(organisation)
    session.flush()
    return organisation
