"""Web fixtures: the Flask app on the test database and fixed clock, and signed-in clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine

from sip_engine.clock import FixedClock
from sip_engine.config import Settings
from sip_engine.runtime import runtime_for
from sip_engine.workflow import WorkflowRegistry
from webui import create_app

from ..world import PASSWORD, World


@pytest.fixture
def app(db_engine: Engine, clock: FixedClock, registry: WorkflowRegistry, tmp_path) -> Flask:
    runtime = runtime_for(
        Settings(database_url=str(db_engine.url), instance_dir=tmp_path, secret_key="test-secret"),
        db_engine,
        clock,
        registry,
    )
    return create_app(runtime=runtime, test_config={"TESTING": True})


@pytest.fixture
def client(app: Flask) -> Iterator[FlaskClient]:
    with app.test_client() as c:
        yield c


def csrf_token(client: FlaskClient, path: str = "/logga-in") -> str:
    import re

    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'id="csrf_token" name="csrf_token" type="hidden" value="([^"]+)"', page
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> None:
    token = csrf_token(client)
    response = client.post(
        "/logga-in", data={"username": username, "password": password, "csrf_token": token}
    )
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.fixture
def coordinator_client(client: FlaskClient, world: World) -> FlaskClient:
    login(client, world.coordinator.username)
    return client
