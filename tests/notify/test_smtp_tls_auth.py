"""STARTTLS and login against a real aiosmtpd server with a certificate made for the test."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import Engine

from sip_engine.clock import FixedClock
from sip_engine.db import make_session_factory
from sip_engine.models import OutboxStatus
from sip_engine.notify.sender import OutboxSender, SmtpConfig

from ..smtp import RecordingHandler, free_port
from ..world import CaseBuilder


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return key, cert


class Authenticator:
    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(
        self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and auth_data.password == b"hemligt":
            self.logins.append(auth_data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@pytest.fixture
def tls_server(
    certificate: tuple[Path, Path],
) -> Iterator[tuple[Controller, RecordingHandler, Authenticator, int]]:
    key, cert = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    handler, auth, port = RecordingHandler(), Authenticator(), free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=context,
        require_starttls=True,
        authenticator=auth,
        auth_required=True,
        auth_require_tls=True,
    )
    controller.start()
    yield controller, handler, auth, port
    controller.stop()


def test_delivery_uses_starttls_and_login(
    mail_builder: CaseBuilder,
    db_engine: Engine,
    clock: FixedClock,
    certificate: tuple[Path, Path],
    tls_server: tuple[Controller, RecordingHandler, Authenticator, int],
) -> None:
    _controller, handler, auth, port = tls_server
    mail_builder.case_in("kalla")
    cert = certificate[1]
    wrong = SmtpConfig.from_url(f"smtp://sip:fel@127.0.0.1:{port}?cafile={cert}&timeout=5")
    report = OutboxSender(
        make_session_factory(db_engine), wrong, clock, "sip@sip.test"
    ).deliver_due()
    assert report.sent == 0 and report.retried == 3 and handler.messages == []

    clock.advance(timedelta(minutes=2))  # past the back-off after the failed login
    config = SmtpConfig.from_url(
        f"smtp://sip:hemligt@127.0.0.1:{port}?starttls=require&cafile={cert}&timeout=5"
    )
    assert (config.username, config.password, config.tls) == ("sip", "hemligt", "require")
    report = OutboxSender(
        make_session_factory(db_engine), config, clock, "sip@sip.test"
    ).deliver_all_due()
    assert report.sent == 3 and len(handler.messages) == 3
    assert auth.logins == ["sip"]


def test_smtp_urls_are_parsed() -> None:
    plain = SmtpConfig.from_url("smtp://relay.kommun.se")
    assert (plain.host, plain.port, plain.tls, plain.username) == (
        "relay.kommun.se",
        25,
        "starttls",
        None,
    )
    implicit = SmtpConfig.from_url("smtps://u%40x:p%2Fw@mail.example:465")
    assert (implicit.tls, implicit.username, implicit.password) == ("ssl", "u@x", "p/w")
    with pytest.raises(ValueError):
        SmtpConfig.from_url("http://mail.example")
    assert OutboxStatus.SENT.value == "sent"
