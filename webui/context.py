"""Per-request plumbing: the database session, the clock, the signed-in actor, read audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from flask import abort, current_app, g, request, url_for
from flask_login import UserMixin, current_user
from sqlalchemy.orm import Session

from sip_engine.models import Case, Role, User
from sip_engine.runtime import Runtime
from sip_engine.services.access import get_visible_case, log_access
from sip_engine.workflow import Actor


def runtime() -> Runtime:
    return cast(Runtime, current_app.extensions["sip_runtime"])


def db() -> Session:
    """The request's session; the view commits once, teardown closes (rolling back the rest)."""
    if "db" not in g:
        g.db = runtime().sessions()
    return cast(Session, g.db)


def now() -> datetime:
    return runtime().clock.now()


@dataclass
class WebUser(UserMixin):
    """What the login session remembers; a plain object, never an ORM row across requests."""

    id: int
    username: str
    display_name: str
    role: Role
    organisation_id: int
    organisation_name: str
    professional_id: int | None
    # The user's session generation at sign-in; a session from an older one is over.
    session_generation: int

    @classmethod
    def from_user(cls, user: User) -> WebUser:
        return cls(
            id=user.id,
            username=user.username,
            display_name=user.display_name,
            role=user.role,
            organisation_id=user.organisation_id,
            organisation_name=user.organisation.name,
            professional_id=user.professional_id,
            session_generation=user.session_generation,
        )

    def get_id(self) -> str:
        """What the session keeps: the user and the generation signed in with (Flask-Login's
        alternative token; the user loader refuses it once the generation has moved on)."""
        return f"{self.id}:{self.session_generation}"

    @property
    def actor(self) -> Actor:
        return Actor(
            label=self.display_name,
            role=self.role,
            user_id=self.id,
            organisation_id=self.organisation_id,
            professional_id=self.professional_id,
        )


def web_user() -> WebUser:
    return cast(WebUser, current_user._get_current_object())


def actor() -> Actor:
    return web_user().actor


def remote_addr() -> str:
    return request.remote_addr or "unknown"


def require_role(*roles: Role) -> None:
    if web_user().role not in roles:
        abort(404)


def audit(action: str, case_id: int | None = None) -> None:
    """Note a read for the audit log; written after the response is made, in a transaction
    of its own (see ``write_audit``)."""
    entries: list[tuple[str, int | None]] = g.setdefault("audit", [])
    if (action, case_id) not in entries:
        entries.append((action, case_id))


def write_audit() -> None:
    """Write the request's audit rows in their own short transaction that starts with the
    write: reads are never turned into writes (on SQLite that fails under concurrent writes),
    and a rolled-back change still leaves its reads audited."""
    entries = g.pop("audit", [])
    if not entries:
        return
    # A personal link's holder has no account: the action names the link instead.
    me = actor() if current_user.is_authenticated else None
    moment, address = now(), remote_addr()
    with runtime().engine.begin() as connection:
        log_access(connection, me, entries, moment, remote_addr=address)


def case_href_prefix() -> str:
    """A case page's path without the id (``/arenden/``, script root included): a list's
    rows append their ids, one ``url_for`` per page instead of one per row."""
    return url_for("cases.show", case_id=0).removesuffix("0")


def case_or_404(case_id: int, action: str) -> Case:
    """Load a case the signed-in user may see, auditing the read; anything else is a 404,
    so a forbidden case looks exactly like a missing one."""
    case = get_visible_case(db(), actor(), case_id)
    if case is None:
        abort(404)
    audit(action, case.id)
    return case
