"""Sign-in with throttling kept in the database (so it holds across web processes)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from sip_engine.models import LoginAttempt, User
from sip_engine.passwords import hash_password, needs_rehash, verify_password

THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USERNAME = 5
MAX_FAILURES_PER_ADDRESS = 20

# Verified against when the username does not exist, so both paths cost one argon2 check
# and response time does not reveal which usernames exist.
_DUMMY_HASH = hash_password("not-a-real-password")


class LoginThrottled(Exception):
    def __init__(self, retry_after: timedelta) -> None:
        minutes = max(1, int(retry_after.total_seconds() // 60) + 1)
        super().__init__(f"För många misslyckade inloggningar. Försök igen om {minutes} minuter.")
        self.retry_after = retry_after

    @property
    def retry_after_seconds(self) -> int:
        """Whole seconds until the lock lifts (at least 1), for an HTTP Retry-After header."""
        return max(1, math.ceil(self.retry_after.total_seconds()))


def _recent_failures(
    session: Session, column: InstrumentedAttribute[str], value: str, since: datetime
) -> list[datetime]:
    return list(
        session.scalars(
            select(LoginAttempt.at)
            # Strictly after: a failure counts for THROTTLE_WINDOW and not a moment longer,
            # so the lock lifts exactly when LoginThrottled.retry_after says.
            .where(column == value, LoginAttempt.at > since, LoginAttempt.succeeded.is_(False))
            .order_by(LoginAttempt.at)
        )
    )


def check_throttle(session: Session, username: str, remote_addr: str, now: datetime) -> None:
    """Raise LoginThrottled while too many recent attempts failed for the name or address."""
    since = now - THROTTLE_WINDOW
    for column, value, limit in (
        (LoginAttempt.username, username.lower(), MAX_FAILURES_PER_USERNAME),
        (LoginAttempt.remote_addr, remote_addr, MAX_FAILURES_PER_ADDRESS),
    ):
        failures = _recent_failures(session, column, value, since)
        if len(failures) >= limit:
            # Locked until the oldest counted failure leaves the window.
            raise LoginThrottled(failures[-limit] + THROTTLE_WINDOW - now)


def authenticate(
    session: Session, username: str, password: str, remote_addr: str, now: datetime
) -> User | None:
    """The user if the credentials are right; None otherwise. Every attempt is recorded.

    Raises LoginThrottled without checking the password when the limit is reached.
    """
    username = username.strip().lower()
    check_throttle(session, username, remote_addr, now)
    user = session.scalars(
        select(User).where(func.lower(User.username) == username, User.is_active.is_(True))
    ).first()
    ok = verify_password(user.password_hash if user else _DUMMY_HASH, password)
    ok = ok and user is not None
    session.add(LoginAttempt(username=username, remote_addr=remote_addr, at=now, succeeded=ok))
    if ok and user is not None and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    session.flush()
    return user if ok else None


def end_sessions(session: Session, user_id: int) -> None:
    """End every sign-in session of the user: the generation the sessions carry no longer
    matches (checked on every request by the web UI's user loader). Used by sign-out,
    deactivation and a new password."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(session_generation=User.session_generation + 1)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
