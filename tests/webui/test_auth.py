"""Sign-in: argon2 passwords, CSRF, throttling kept in the database, safe redirects."""

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock
from sip_engine.models import LoginAttempt

from ..world import World
from .conftest import csrf_token, login


def test_pages_need_sign_in(client: FlaskClient, world: World) -> None:
    for path in [
        "/",
        "/arenden",
        "/arenden/nytt",
        "/arenden/1",
        "/admin/anvandare",
        "/arbetsfloden/sip",
    ]:
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/logga-in")


def test_sign_in_and_out(client: FlaskClient, world: World) -> None:
    login(client, "samordnare")
    page = client.get("/").get_data(as_text=True)
    assert "Mina ärenden" in page and "Samordnare" in page
    token = csrf_token(client, "/")
    response = client.post("/logga-ut", data={"csrf_token": token})
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_wrong_password_is_refused_and_recorded(
    client: FlaskClient, world: World, session: Session
) -> None:
    token = csrf_token(client)
    response = client.post(
        "/logga-in", data={"username": "samordnare", "password": "fel", "csrf_token": token}
    )
    assert response.status_code == 401
    assert "Fel användarnamn eller lösenord." in response.get_data(as_text=True)
    session.expire_all()
    attempts = session.scalars(select(LoginAttempt)).all()
    assert [(a.username, a.succeeded) for a in attempts] == [("samordnare", False)]


def test_sign_in_without_csrf_token_is_refused(client: FlaskClient, world: World) -> None:
    response = client.post("/logga-in", data={"username": "samordnare", "password": "x"})
    assert response.status_code == 400
    assert "Formuläret har gått ut" in response.get_data(as_text=True)


def test_failed_logins_are_throttled_then_released(
    client: FlaskClient, world: World, clock: FixedClock, session: Session
) -> None:
    token = csrf_token(client)
    for _ in range(5):
        r = client.post(
            "/logga-in", data={"username": "samordnare", "password": "fel", "csrf_token": token}
        )
        assert r.status_code == 401
    # Even the right password is refused while throttled, and no attempt is recorded for it.
    blocked = client.post(
        "/logga-in",
        data={"username": "samordnare", "password": "rätt-lösenord-123", "csrf_token": token},
    )
    assert blocked.status_code == 429
    assert "För många misslyckade inloggningar" in blocked.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 5
    clock.advance(timedelta(minutes=16))
    login(client, "samordnare")


def test_no_remember_cookie_and_hardened_session_cookie(client: FlaskClient, world: World) -> None:
    token = csrf_token(client)
    response = client.post(
        "/logga-in",
        data={"username": "samordnare", "password": "rätt-lösenord-123", "csrf_token": token},
    )
    cookies = response.headers.getlist("Set-Cookie")
    assert not any(c.startswith("remember_token") for c in cookies)
    session_cookie = next(c for c in cookies if c.startswith("sip_session="))
    assert "HttpOnly" in session_cookie and "SameSite=Lax" in session_cookie
    assert "Secure" in session_cookie  # the default; the embedded demo turns it off


def test_redirect_after_login_stays_on_site(client: FlaskClient, world: World) -> None:
    token = csrf_token(client)
    response = client.post(
        "/logga-in?next=https://evil.example/",
        data={"username": "samordnare", "password": "rätt-lösenord-123", "csrf_token": token},
    )
    assert response.headers["Location"] == "/"


def test_security_headers(client: FlaskClient, world: World) -> None:
    response = client.get("/logga-in")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_healthz_reports_the_database(client: FlaskClient, world: World) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["database"] == "ok"


def test_an_unexpected_error_is_logged_without_personal_data(
    app,
    client: FlaskClient,
    world: World,
    caplog,
) -> None:
    from sqlalchemy import text

    from webui.context import db

    @app.route("/boom")
    def boom() -> str:
        db().execute(
            text(
                "INSERT INTO child (first_name, last_name, identity_number, identity_kind, "
                "birth_date, protected_identity) VALUES ('Hemlig', 'Person', :n, "
                "'personnummer', '2015-03-15', false)"
            ),
            {"n": world.child.identity_number},
        )
        return "unreachable"

    caplog.set_level("DEBUG")
    response = client.get("/boom?q=20150315-2389")
    assert response.status_code == 500
    assert "Något gick fel" in response.get_data(as_text=True)
    assert "IntegrityError" in caplog.text
    for secret in ("201503152389", "20150315-2389", "Hemlig"):
        assert secret not in caplog.text


def test_english_can_be_chosen(client: FlaskClient, world: World) -> None:
    assert "Logga in" in client.get("/logga-in").get_data(as_text=True)
    token = csrf_token(client)
    client.post("/sprak", data={"lang": "en", "csrf_token": token, "next": "/logga-in"})
    page = client.get("/logga-in").get_data(as_text=True)
    assert '<html lang="en">' in page and "Log in" in page
