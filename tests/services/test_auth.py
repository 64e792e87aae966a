"""Sign-in at the service layer: the throttle's lock and its end; ending a user's sessions."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock
from sip_engine.services import admin as admin_service
from sip_engine.services.auth import (
    MAX_FAILURES_PER_USERNAME,
    THROTTLE_WINDOW,
    LoginThrottled,
    authenticate,
    end_sessions,
)
from sip_engine.services.common import ValidationError

from ..world import PASSWORD, World

NEW_PASSWORD = "ett-helt-nytt-lösenord"


def test_the_lock_lifts_exactly_when_retry_after_says(
    session: Session, world: World, clock: FixedClock
) -> None:
    for _ in range(MAX_FAILURES_PER_USERNAME):
        assert authenticate(session, "samordnare", "fel", "192.0.2.1", clock.now()) is None
        clock.advance(timedelta(seconds=30))
    with pytest.raises(LoginThrottled) as locked:
        authenticate(session, "samordnare", PASSWORD, "192.0.2.1", clock.now())
    # The first failure was 150 s ago and counts for the window.
    assert locked.value.retry_after == THROTTLE_WINDOW - timedelta(seconds=150)
    assert locked.value.retry_after_seconds == THROTTLE_WINDOW.total_seconds() - 150
    clock.advance(locked.value.retry_after - timedelta(microseconds=1))
    with pytest.raises(LoginThrottled) as still:
        authenticate(session, "samordnare", PASSWORD, "192.0.2.1", clock.now())
    assert still.value.retry_after_seconds == 1  # a part of a second is rounded up
    clock.advance(timedelta(microseconds=1))
    assert authenticate(session, "samordnare", PASSWORD, "192.0.2.1", clock.now()) is not None


def test_end_sessions_raises_the_generation(session: Session, world: World) -> None:
    user = world.coordinator
    end_sessions(session, user.id)
    end_sessions(session, user.id)
    assert user.session_generation == 2
    assert world.manager.session_generation == 0


def test_session_generation_at_the_service_layer(session: Session, world: World) -> None:
    user = world.coordinator
    assert user.session_generation == 0
    admin_service.set_password(session, user, NEW_PASSWORD)
    assert user.session_generation == 1
    admin_service.set_active(session, user, False)
    assert user.session_generation == 2
    admin_service.set_active(session, user, True)  # activation ends nothing: nothing to end
    admin_service.set_active(session, user, True)
    assert user.session_generation == 2
    with pytest.raises(ValidationError) as refused:
        admin_service.set_password(session, user, "kort")
    assert refused.value.errors == {"password": "Lösenordet måste ha minst 12 tecken."}
    assert user.session_generation == 2
