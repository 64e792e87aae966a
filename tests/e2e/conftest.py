"""Browser tests: the real app in a real WSGI server, driven by Playwright through chromium.

One browser for the whole session, a fresh browser context (cookies, storage) per test. The
server runs the app on the test's own SQLite copy and on the same ``clock`` object as the
test, so ``clock.set(...)`` in a test moves the server's time too.

Chromium: ``/usr/bin/chromium`` (Debian), or the path in SIP_E2E_CHROMIUM. Without it (or
without the ``playwright`` package) the tests are skipped with a reason locally, and fail under
CI=true: CI must never skip them.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from flask import Flask, got_request_exception
from sqlalchemy import Engine
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from sip_engine.clock import FixedClock
from sip_engine.config import Settings
from sip_engine.runtime import runtime_for
from sip_engine.workflow import WorkflowRegistry
from webui import create_app

from ..world import PASSWORD

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Page,
        Playwright,
        Response,
    )

CHROMIUM_ENV = "SIP_E2E_CHROMIUM"
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# Short waits: every page is local and small; a missing element should fail fast.
TIMEOUT_MS = 5_000
DESKTOP = {"width": 1280, "height": 900}

# WCAG 2.0 and 2.1, levels A and AA, and axe's best practices (headings in order, content in
# landmarks): the pages pass them all, so they stay that way.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


# ---------------------------------------------------------------------------- database


@pytest.fixture
def backend() -> str:
    """Browser tests run on SQLite only: the PostgreSQL variant would double the time and
    exercises nothing the browser sees differently (the service tests cover PostgreSQL)."""
    return "sqlite"


# ---------------------------------------------------------------------------- browser


def _unavailable(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}: the browser tests must run in CI")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the Python package 'playwright' is not installed")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get(CHROMIUM_ENV) or DEFAULT_CHROMIUM
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        _unavailable(f"chromium not found at {path} (set {CHROMIUM_ENV} to its path)")
    return path


@pytest.fixture(scope="session")
def browser(playwright: Playwright, chromium_path: str) -> Iterator[Browser]:
    # A browser that is present but will not start is a real failure, never a skip.
    browser = playwright.chromium.launch(
        executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
    )
    yield browser
    browser.close()


@pytest.fixture
def expect() -> Callable[..., Any]:
    """Playwright's auto-waiting assertions (a fixture, so test modules import nothing from
    playwright at collection time and a missing package skips or fails cleanly)."""
    from playwright.sync_api import expect as playwright_expect

    playwright_expect.set_options(timeout=TIMEOUT_MS)
    return playwright_expect


# ---------------------------------------------------------------------------- live server


@pytest.fixture
def app(db_engine: Engine, clock: FixedClock, registry: WorkflowRegistry, tmp_path: Path) -> Flask:
    """As tests/webui's ``app``, but with non-secure cookies: the live server speaks plain
    http, and the browser would drop a Secure session cookie."""
    runtime = runtime_for(
        Settings(
            database_url=str(db_engine.url),
            instance_dir=tmp_path,
            secret_key="test-secret",
            secure_cookies=False,
        ),
        db_engine,
        clock,
        registry,
    )
    return create_app(runtime=runtime, test_config={"TESTING": True})


class _QuietHandler(WSGIRequestHandler):
    # HTTP/1.0: one request per connection, so no keep-alive thread outlives the test.
    protocol_version = "HTTP/1.0"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@dataclass
class LiveServer:
    url: str
    errors: list[BaseException] = field(default_factory=list)


@pytest.fixture
def live_server(app: Flask) -> Iterator[LiveServer]:
    """The app in werkzeug's threaded WSGI server on 127.0.0.1 and a free port (port 0: the
    OS picks one and the server reports it), stopped and closed after the test. An exception
    in a request fails the test, even if the page looked fine."""
    server: BaseWSGIServer = make_server(
        "127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler
    )
    live = LiveServer(url=f"http://127.0.0.1:{server.port}")

    def record(_sender: Flask, exception: BaseException, **_extra: object) -> None:
        live.errors.append(exception)

    got_request_exception.connect(record, app)
    thread = threading.Thread(
        # A short poll: shutdown() waits for the loop to notice, once per test.
        target=lambda: server.serve_forever(poll_interval=0.02),
        name="e2e-live-server",
        daemon=True,
    )
    thread.start()
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        got_request_exception.disconnect(record, app)
    assert not thread.is_alive(), "the live server did not stop"
    if live.errors:
        pytest.fail(f"the server failed during the test: {live.errors!r}")


# ---------------------------------------------------------------------------- pages


def _watch(page: Page, problems: list[str]) -> None:
    """Collect script errors and console errors (a blocked resource, a Content-Security-Policy
    violation) on ``page``."""
    page.on("pageerror", lambda exc: problems.append(f"page error at {page.url}: {exc}"))

    def on_console(msg: ConsoleMessage) -> None:
        # A 4xx page (a form with errors, a conflict) is logged as "Failed to load resource";
        # statuses are the tests' business, failed subresources are caught below.
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            problems.append(f"console error at {msg.location.get('url') or page.url}: {msg.text}")

    def on_response(response: Response) -> None:
        request = response.request
        # Chromium asks for /favicon.ico by itself; the app has none (not a page's fault).
        if (
            response.status >= 400
            and request.resource_type != "document"
            and not request.url.endswith("/favicon.ico")
        ):
            problems.append(f"{request.resource_type} {request.url}: HTTP {response.status}")

    page.on("response", on_response)
    page.on(
        "requestfailed",
        lambda request: (
            problems.append(f"{request.url} failed: {request.failure}")
            if request.resource_type != "document"
            else None
        ),
    )
    page.on("console", on_console)


@pytest.fixture
def new_page(browser: Browser, live_server: LiveServer) -> Iterator[Callable[[], Page]]:
    """Pages in fresh browser contexts (separate cookies: a second user, a second browser).
    Closed after the test, which fails on any script or console error they saw."""
    contexts: list[BrowserContext] = []
    problems: list[str] = []

    def make() -> Page:
        context = browser.new_context(
            base_url=live_server.url,
            viewport=DESKTOP,
            locale="sv-SE",
            timezone_id="Europe/Stockholm",
        )
        context.set_default_timeout(TIMEOUT_MS)
        context.set_default_navigation_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        _watch(page, problems)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    """The test's page, in its own browser context."""
    return new_page()


@pytest.fixture
def sign_in(page: Page) -> Callable[..., Page]:
    """Sign in as ``username`` (every test user has PASSWORD) on the test's page, or on
    ``on``: the login form posted from the page's own cookie jar, without drawing it (the
    journey and keyboard tests sign in through the drawn form). The page is not navigated."""

    def do(username: str, on: Page | None = None) -> Page:
        target = on or page
        form = target.request.get("/logga-in")
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.text())
        assert token, "no CSRF token on the login page"
        response = target.request.post(
            "/logga-in",
            form={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
            max_redirects=0,
        )
        assert response.status == 302, f"sign-in as {username} failed: {response.status}"
        return target

    return do


# ---------------------------------------------------------------------------- checks


@pytest.fixture(scope="session")
def axe() -> Any:
    try:
        from axe_playwright_python.sync_playwright import Axe
    except ImportError:
        _unavailable("the Python package 'axe-playwright-python' is not installed")

    return Axe()


@pytest.fixture
def axe_report(axe: Any) -> Callable[[Page], str | None]:
    """axe-core on the current page (AXE_TAGS): None when there are no violations, else the
    readable report (rule, impact, offending HTML)."""

    def check(page: Page) -> str | None:
        page.wait_for_load_state()  # colour contrast needs the stylesheet
        results = axe.run(
            page,
            options={
                "runOnly": {"type": "tag", "values": AXE_TAGS},
                "resultTypes": ["violations"],
            },
        )
        if results.violations_count == 0:
            return None
        return f"{page.url}\n{results.generate_report()}"

    return check


@pytest.fixture
def assert_accessible(axe_report: Callable[[Page], str | None]) -> Callable[[Page], None]:
    def check(page: Page) -> None:
        report = axe_report(page)
        assert report is None, report

    return check


def _reflow_report(page: Page, width: int = 320) -> str | None:
    """Whether the page reflows to ``width`` CSS pixels (WCAG 1.4.10): None when the document
    is no wider than the viewport, else which elements stick out. The viewport is restored."""
    page.wait_for_load_state()
    before = page.viewport_size
    page.set_viewport_size({"width": width, "height": 640})
    try:
        return _overflow(page, width)
    finally:
        if before:
            page.set_viewport_size(before)


def _overflow(page: Page, width: int) -> str | None:
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    if scroll_width <= width + 1:
        return None
    # What sticks out past the viewport, leaving out what a scroll box (such as a wide
    # table's .table-scroll) clips, unless it is positioned and so may escape the box.
    culprits = page.evaluate(
        """(width) => {
            const out = el => el.getBoundingClientRect().right > width + 1;
            const clipped = el => {
                if (['absolute', 'fixed'].includes(getComputedStyle(el).position)) return false;
                for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
                    if (getComputedStyle(a).overflowX !== 'visible' && !out(a)) return true;
                }
                return false;
            };
            return [...document.querySelectorAll('body *')]
                .filter(el => out(el) && !clipped(el))
                .filter(el => ![...el.children].some(c => out(c) && !clipped(c)))
                .slice(0, 10)
                .map(el => el.outerHTML.slice(0, 200) + ' → right='
                     + Math.round(el.getBoundingClientRect().right));
        }""",
        width,
    )
    return f"{page.url} scrolls sideways at {width} px (scrollWidth {scroll_width}):\n" + (
        "\n".join(culprits)
    )


@pytest.fixture
def reflow_report() -> Callable[..., str | None]:
    return _reflow_report
