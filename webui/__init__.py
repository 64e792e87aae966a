"""The web UI: a Flask application factory over the sip_engine library.

Nothing is read at import time; ``create_app`` takes a settings mapping (tests) or reads the
SIP_* environment through sip_engine.config.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from flask import Flask, g, request, session
from flask_babel import Babel, get_translations
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from werkzeug.middleware.proxy_fix import ProxyFix

from sip_engine.clock import Clock
from sip_engine.config import Settings, load_settings
from sip_engine.db import reset_writes_ahead, set_writes_ahead
from sip_engine.runtime import Runtime, build_runtime

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()

LANGUAGES = ("sv", "en")


def _select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return "sv"  # Swedish first, whatever the browser says


def _request_translations() -> Any:
    """The request's catalogue, looked up once. flask-babel's own template callables resolve
    the locale and the domain again for every string (about ten context-local lookups each),
    and a page has some fifty strings. flask-babel fixes the locale for the whole request too,
    so keeping its answer on ``g`` changes nothing."""
    translations = g.get("_sip_translations")
    if translations is None:
        translations = g._sip_translations = get_translations()
    return translations


@pass_context
def _template_gettext(context: Context, string: str, /, **variables: Any) -> str:
    # Jinja's newstyle gettext (escaped, always %-formatted) called directly: its own goes
    # through two more indirections (the ``_`` alias, then the callable) for every string.
    text: str = _request_translations().ugettext(string)
    if context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 -- the catalogue's own text, as Jinja does
    return text % variables


@pass_context
def _template_ngettext(
    context: Context, singular: str, plural: str, num: int, /, **variables: Any
) -> str:
    variables.setdefault("num", num)
    text: str = _request_translations().ungettext(singular, plural, num)
    if context.eval_ctx.autoescape:
        text = Markup(text)  # noqa: S704 -- the catalogue's own text, as Jinja does
    return text % variables


def _install_template_gettext(app: Flask) -> None:
    # Over those flask-babel installed (newstyle); the templates use no pgettext.
    app.jinja_env.globals.update(
        _=_template_gettext, gettext=_template_gettext, ngettext=_template_ngettext
    )


def content_security_policy(*, inline_styles: bool = False) -> str:
    """The one Content-Security-Policy of every page. ``inline_styles`` only where a drawing
    library writes <style> (the workflow diagram)."""
    style_src = "'self' 'unsafe-inline'" if inline_styles else "'self'"
    return (
        f"default-src 'self'; img-src 'self' data:; style-src {style_src}; "
        "script-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    runtime: Runtime | None = None,
    test_config: dict[str, Any] | None = None,
) -> Flask:
    app = Flask(__name__, instance_relative_config=False)
    # Every ``<int:...>`` of every blueprint: ASCII digits within the signed 64-bit range, or
    # the route does not match (set before any rule is added: rules bind their converter).
    from webui.forms import IdConverter, TriggerConverter

    app.url_map.converters["int"] = IdConverter
    app.url_map.converters["trigger"] = TriggerConverter
    runtime = runtime or build_runtime(settings or load_settings(), clock)
    app.config.update(
        SECRET_KEY=runtime.secret,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=runtime.settings.secure_cookies,
        SESSION_COOKIE_NAME="sip_session",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        REMEMBER_COOKIE_DURATION=timedelta(hours=8),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session
        BABEL_DEFAULT_LOCALE="sv",
        BABEL_DEFAULT_TIMEZONE="Europe/Stockholm",
        MAX_CONTENT_LENGTH=1 * 1024 * 1024,
    )
    if test_config:
        app.config.update(test_config)
    app.extensions["sip_runtime"] = runtime
    hops = runtime.settings.trusted_proxies
    if hops:
        # Behind that many trusted proxies the client's address and scheme come from their
        # X-Forwarded-For/-Proto headers. Without the setting those headers are ignored.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Logga in för att fortsätta."
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale)
    _install_template_gettext(app)

    from webui import (
        admin,
        answers,
        auth,
        cases,
        documents,
        errors,
        filters,
        home,
        mail,
        placements,
        system,
    )

    for module in (auth, home, cases, documents, admin, system, answers, mail, placements):
        app.register_blueprint(module.bp)
    from webui import reports

    app.register_blueprint(reports.bp)
    errors.register(app)
    filters.register(app)

    @app.before_request
    def _writes_take_the_lock_first() -> None:
        # A form post will write: on SQLite take the write lock when its transaction begins,
        # so it waits for a concurrent writer instead of failing (see db.writes_ahead).
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            g.writes_ahead = set_writes_ahead(True)

    @app.after_request
    def _write_audit(response: Any) -> Any:
        from webui.context import write_audit

        # The page is made: end the request's own transaction first, so the audit's write
        # never waits on a lock this request itself still holds.
        request_db = g.pop("db", None)
        if request_db is not None:
            request_db.close()
        try:
            write_audit()
        except Exception as exc:
            # No read may go unaudited: without its audit row the page is not served.
            logging.getLogger("sip_engine.web").error("audit not written (%s)", type(exc).__name__)
            return app.response_class("Något gick fel. Försök igen.", status=500)
        return response

    @app.teardown_request
    def _reset_writes_ahead(_exc: BaseException | None) -> None:
        token = g.pop("writes_ahead", None)
        if token is not None:
            reset_writes_ahead(token)

    @app.teardown_appcontext
    def _close_db(_exc: BaseException | None) -> None:
        db = g.pop("db", None)
        if db is not None:
            db.close()

    @app.after_request
    def _security_headers(response: Any) -> Any:
        response.headers.setdefault("Content-Security-Policy", content_security_policy())
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if request.endpoint not in ("static",):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app
