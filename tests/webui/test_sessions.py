"""Sessions end on the server; the client's address behind a trusted proxy; Retry-After; CSP."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock
from sip_engine.config import Settings, load_settings
from sip_engine.models import AccessLog, LoginAttempt, User
from sip_engine.runtime import runtime_for
from sip_engine.services.auth import MAX_FAILURES_PER_ADDRESS, THROTTLE_WINDOW
from sip_engine.workflow import WorkflowRegistry
from webui import create_app

from ..world import PASSWORD, World
from .conftest import csrf_token, login

NEW_PASSWORD = "ett-helt-nytt-lösenord"


def _browser(app: Flask) -> FlaskClient:
    """A client that keeps no request context between requests: with several clients in one
    test, a kept context (``with app.test_client()``) would lend its signed-in user to the
    next client's request."""
    return app.test_client()


def _copy_of_session(app: Flask, client: FlaskClient) -> FlaskClient:
    """A second browser holding a copy of ``client``'s session cookie."""
    cookie = client.get_cookie("sip_session")
    assert cookie is not None
    thief = _browser(app)
    thief.set_cookie("sip_session", cookie.value)
    return thief


def _is_signed_out(client: FlaskClient) -> bool:
    response = client.get("/arenden")
    return response.status_code == 302 and response.headers["Location"].startswith("/logga-in")


def _sign_out(client: FlaskClient) -> None:
    response = client.post("/logga-ut", data={"csrf_token": csrf_token(client, "/")})
    assert response.status_code == 302


# --- Sessions end on the server ---------------------------------------------------------------


def test_a_copied_cookie_works_until_sign_out_then_never(app: Flask, world: World) -> None:
    client = _browser(app)
    login(client, "samordnare")
    copy = _copy_of_session(app, client)
    assert copy.get("/arenden").status_code == 200  # the copy is a working session …
    _sign_out(client)
    assert _is_signed_out(copy)  # … until "Logga ut"
    # Signing in again starts a new session; the old copy stays dead.
    login(client, "samordnare")
    assert client.get("/arenden").status_code == 200
    assert _is_signed_out(copy)


def test_deactivation_ends_the_user_s_sessions_and_reactivation_does_not_revive_them(
    app: Flask, world: World, session: Session
) -> None:
    client = _browser(app)
    login(client, "samordnare")
    copy = _copy_of_session(app, client)
    admin = _browser(app)
    login(admin, "admin")
    token = csrf_token(admin, "/admin/anvandare")
    user_id = world.coordinator.id
    assert (
        admin.post(
            f"/admin/anvandare/{user_id}/aktiv", data={"active": "0", "csrf_token": token}
        ).status_code
        == 303
    )
    assert _is_signed_out(client) and _is_signed_out(copy)
    admin.post(f"/admin/anvandare/{user_id}/aktiv", data={"active": "1", "csrf_token": token})
    assert _is_signed_out(copy)
    login(client, "samordnare")  # active again: a new sign-in works
    assert client.get("/arenden").status_code == 200


def test_a_new_password_ends_the_user_s_sessions(app: Flask, world: World) -> None:
    client = _browser(app)
    login(client, "samordnare")
    copy = _copy_of_session(app, client)
    admin = _browser(app)
    login(admin, "admin")
    page = admin.get(f"/admin/anvandare/{world.coordinator.id}/losenord")
    assert page.status_code == 200 and "Nytt lösenord för samordnare" in page.get_data(as_text=True)
    token = csrf_token(admin, f"/admin/anvandare/{world.coordinator.id}/losenord")
    response = admin.post(
        f"/admin/anvandare/{world.coordinator.id}/losenord",
        data={"password": NEW_PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 303
    assert admin.get("/admin/anvandare").status_code == 200  # the admin's own goes on
    assert _is_signed_out(client) and _is_signed_out(copy)
    bad = client.post(
        "/logga-in",
        data={"username": "samordnare", "password": PASSWORD, "csrf_token": csrf_token(client)},
    )
    assert bad.status_code == 401
    login(client, "samordnare", NEW_PASSWORD)


def test_a_too_short_new_password_is_refused_and_changes_nothing(
    app: Flask, world: World, session: Session
) -> None:
    client = _browser(app)
    login(client, "samordnare")
    copy = _copy_of_session(app, client)
    admin = _browser(app)
    login(admin, "admin")
    path = f"/admin/anvandare/{world.coordinator.id}/losenord"
    response = admin.post(path, data={"password": "kort", "csrf_token": csrf_token(admin, path)})
    assert response.status_code == 400
    assert "Lösenordet måste ha minst 12 tecken." in response.get_data(as_text=True)
    assert copy.get("/arenden").status_code == 200  # still signed in: nothing changed
    session.expire_all()
    user = session.get(User, world.coordinator.id)
    assert user is not None and user.session_generation == 0


def test_only_the_admin_sets_passwords(client: FlaskClient, world: World) -> None:
    login(client, "chef")
    assert client.get(f"/admin/anvandare/{world.coordinator.id}/losenord").status_code == 404
    login(client, "admin")
    assert client.get("/admin/anvandare/999999/losenord").status_code == 404


@pytest.mark.parametrize("forged", ["1", "1:x", "x:0", "1:²", "1:0:0", "99999999999999999999:0"])
def test_a_forged_or_old_style_session_id_is_no_session(
    app: Flask, world: World, forged: str
) -> None:
    with app.test_request_context():
        from webui.auth import _load_user

        assert _load_user(forged) is None
        assert _load_user(f"{world.coordinator.id}:0") is not None
        assert _load_user(f"{world.coordinator.id}:1") is None


# --- The client's address behind a trusted proxy ---------------------------------------------


@pytest.fixture
def proxied_app(
    db_engine: Engine, clock: FixedClock, registry: WorkflowRegistry, tmp_path: Path
) -> Flask:
    runtime = runtime_for(
        Settings(
            database_url=str(db_engine.url),
            instance_dir=tmp_path,
            secret_key="test-secret",
            trusted_proxies=1,
        ),
        db_engine,
        clock,
        registry,
    )
    return create_app(runtime=runtime, test_config={"TESTING": True})


def _fail_login(client: FlaskClient, username: str, forwarded_for: str, proxy: str) -> int:
    return client.post(
        "/logga-in",
        data={"username": username, "password": "fel", "csrf_token": csrf_token(client)},
        headers={"X-Forwarded-For": forwarded_for},
        environ_base={"REMOTE_ADDR": proxy},
    ).status_code


def test_behind_a_trusted_proxy_the_client_address_counts(
    proxied_app: Flask, world: World, session: Session
) -> None:
    with proxied_app.test_client() as client:
        # The proxy appends the address it saw: a client's own forged entry is not believed.
        assert _fail_login(client, "ingen", "6.6.6.6, 203.0.113.7", "10.0.0.1") == 401
        # Another client signs in and reads the case list (the access log notes the read).
        client.environ_base.update(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.8")
        login(client, "samordnare")
        assert client.get("/arenden").status_code == 200
    attempts = session.scalars(select(LoginAttempt.remote_addr).order_by(LoginAttempt.id)).all()
    assert attempts == ["203.0.113.7", "203.0.113.8"]
    assert "203.0.113.8" in session.scalars(select(AccessLog.remote_addr)).all()


def test_the_proxy_s_clients_are_throttled_one_by_one(proxied_app: Flask, world: World) -> None:
    with proxied_app.test_client() as client:
        for n in range(MAX_FAILURES_PER_ADDRESS):
            assert _fail_login(client, f"namn{n}", "203.0.113.7", "10.0.0.1") == 401
        assert _fail_login(client, "namn-x", "203.0.113.7", "10.0.0.1") == 429
        # Another client behind the same proxy is not locked out with the first.
        assert _fail_login(client, "namn-y", "203.0.113.9", "10.0.0.1") == 401


def test_without_the_setting_x_forwarded_for_is_ignored(
    client: FlaskClient, world: World, session: Session
) -> None:
    for n in range(MAX_FAILURES_PER_ADDRESS):
        # A different made-up address every time cannot dodge the per-address limit.
        assert _fail_login(client, f"namn{n}", f"198.51.100.{n}", "192.0.2.1") == 401
    assert _fail_login(client, "namn-x", "198.51.100.200", "192.0.2.1") == 429
    assert set(session.scalars(select(LoginAttempt.remote_addr))) == {"192.0.2.1"}


@pytest.mark.parametrize(
    ("value", "expected"), [(None, 0), ("", 0), ("0", 0), ("1", 1), (" 2 ", 2)]
)
def test_trusted_proxies_setting(value: str | None, expected: int) -> None:
    env = {} if value is None else {"SIP_TRUSTED_PROXIES": value}
    assert load_settings(env).trusted_proxies == expected


@pytest.mark.parametrize("value", ["-1", "ja", "1.5", "²", "11", "99999999999999999999999"])
def test_a_bad_trusted_proxies_setting_is_a_clear_error(value: str) -> None:
    with pytest.raises(ValueError, match="SIP_TRUSTED_PROXIES"):
        load_settings({"SIP_TRUSTED_PROXIES": value})


# --- Retry-After and the CSP -------------------------------------------------------------------


def test_a_throttled_sign_in_says_when_to_retry(
    client: FlaskClient, world: World, clock: FixedClock
) -> None:
    token = csrf_token(client)
    for _ in range(5):
        client.post(
            "/logga-in", data={"username": "samordnare", "password": "fel", "csrf_token": token}
        )
        clock.advance(timedelta(minutes=1))
    # The first failure was 5 minutes ago: the lock lifts when it leaves the 15-minute window.
    blocked = client.post(
        "/logga-in", data={"username": "samordnare", "password": PASSWORD, "csrf_token": token}
    )
    assert blocked.status_code == 429
    expected = THROTTLE_WINDOW - timedelta(minutes=5)
    assert blocked.headers["Retry-After"] == str(int(expected.total_seconds()))
    clock.advance(timedelta(seconds=int(blocked.headers["Retry-After"]) - 1))
    again = client.post(
        "/logga-in", data={"username": "samordnare", "password": PASSWORD, "csrf_token": token}
    )
    assert again.status_code == 429 and again.headers["Retry-After"] == "1"
    clock.advance(timedelta(seconds=1))
    login(client, "samordnare")


def test_other_answers_carry_no_retry_after(client: FlaskClient, world: World) -> None:
    token = csrf_token(client)
    wrong = client.post(
        "/logga-in", data={"username": "samordnare", "password": "fel", "csrf_token": token}
    )
    assert wrong.status_code == 401 and "Retry-After" not in wrong.headers


def test_every_page_forbids_a_base_element(client: FlaskClient, world: World) -> None:
    assert "base-uri 'none'" in client.get("/logga-in").headers["Content-Security-Policy"]
    login(client, "samordnare")
    for path in ("/", "/arenden", "/arbetsfloden/sip"):
        policy = client.get(path).headers["Content-Security-Policy"]
        assert "base-uri 'none'" in policy and "frame-ancestors 'none'" in policy, path
    # The diagram page alone allows inline styles (its drawing library writes <style>).
    assert "'unsafe-inline'" in client.get("/arbetsfloden/sip").headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in client.get("/arenden").headers["Content-Security-Policy"]
