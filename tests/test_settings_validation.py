"""Every setting is parsed and checked once, at start: a malformed one stops every process at
once with a message naming the variable, instead of a process that starts and fails each tick."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest

from sip_engine.config import QuietHours, SettingsError, load_settings

from .smtp import free_port

SECRET = "hemligt-losen-123"

BAD = [
    ("SIP_QUIET_HOURS", "20:00–07:00"),  # an en dash, as a word processor writes it
    ("SIP_QUIET_HOURS", "20-07"),
    ("SIP_SMTP_URL", f"smtpx://relay:{SECRET}@mail.example.se:587"),
    ("SIP_SMTP_URL", f"smtp://relay:{SECRET}@mail.example.se:587?starttls=maybe"),
    ("SIP_SMTP_URL", f"smtp://relay:{SECRET}@mail.example.se:port"),
    ("SIP_SCHEDULER_INTERVAL", "30s"),
    ("SIP_SCHEDULER_INTERVAL", "0"),
    ("SIP_SECURE_COOKIES", "flase"),
    ("SIP_TIMEZONE", "Europe/Stokholm"),
    ("SIP_BASE_URL", "sip.example.se"),
    ("SIP_MAIL_FROM", "SIP-stöd"),
    ("SIP_TRUSTED_PROXIES", "two"),
]


@pytest.mark.parametrize(("variable", "value"), BAD)
def test_a_malformed_setting_is_refused_naming_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({variable: value})
    assert caught.value.variable == variable
    assert str(caught.value).startswith(f"{variable}: ")
    assert SECRET not in str(caught.value)  # the relay's password is never repeated


def test_settings_are_parsed_once_for_the_processes() -> None:
    settings = load_settings(
        {
            "SIP_QUIET_HOURS": " 21:30 - 06:45 ",
            "SIP_SMTP_URL": "smtps://relay:pw@mail.example.se?timeout=5",
            "SIP_SCHEDULER_INTERVAL": "12.5",
            "SIP_SECURE_COOKIES": "0",
        }
    )
    assert settings.quiet == QuietHours(time(21, 30), time(6, 45))
    assert settings.smtp is not None
    assert (settings.smtp.host, settings.smtp.port, settings.smtp.tls) == (
        "mail.example.se",
        465,
        "ssl",
    )
    assert settings.smtp.timeout == 5.0 and settings.smtp.password == "pw"
    assert settings.scheduler_interval == 12.5 and settings.secure_cookies is False
    defaults = load_settings({})
    assert defaults.quiet == QuietHours(time(20, 0), time(7, 0)) and defaults.smtp is None
    assert load_settings({"SIP_QUIET_HOURS": "off"}).quiet is None


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIP_")}
    env.update(
        SIP_DATABASE_URL=f"sqlite:///{tmp_path / 'sip.sqlite3'}",
        SIP_INSTANCE_DIR=str(tmp_path / "instance"),
        SIP_SECRET_KEY="test-secret",
        SIP_SMTP_URL=f"smtp://127.0.0.1:{free_port()}?starttls=never&timeout=1",
        SIP_QUIET_HOURS="off",
    )
    env.update(settings)
    return env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``sip-engine ARGS`` in its own process (the real entry point)."""
    script = Path(sys.executable).with_name("sip-engine")
    assert script.exists(), f"{script} missing: is the project installed in the venv?"
    return subprocess.run(
        [str(script), *args], env=env, capture_output=True, text=True, timeout=60, check=False
    )


COMMANDS = [
    ("scheduler", "--once"),
    ("scheduler",),  # the long-running scheduler: it must not start at all
    ("send-mail", "--once"),
    ("send-mail",),
    ("serve", "--no-scheduler", "--port", "0"),
    ("status",),
]


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("SIP_QUIET_HOURS", "20:00–07:00"),
        ("SIP_SMTP_URL", f"smtpx://relay:{SECRET}@127.0.0.1:25"),
        ("SIP_SCHEDULER_INTERVAL", "en halvminut"),
    ],
)
def test_every_process_exits_at_once_on_a_malformed_setting(
    tmp_path: Path, variable: str, value: str
) -> None:
    env = _env(tmp_path, **{variable: value})
    for command in COMMANDS:
        result = _run(env, *command)
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        assert f"Fel i inställningarna: {variable}: " in result.stderr, (command, result.stderr)
        assert "Traceback" not in result.stderr
        assert SECRET not in result.stderr + result.stdout
        assert "Schemaläggaren körs" not in result.stdout and "körs på" not in result.stdout
    # Nothing was started against the database: not even its schema was made.
    assert not (tmp_path / "sip.sqlite3").exists()


def test_a_well_formed_setting_starts(tmp_path: Path) -> None:
    env = _env(tmp_path, SIP_QUIET_HOURS="20:00-07:00", SIP_SCHEDULER_INTERVAL="30")
    assert _run(env, "init").returncode == 0
    result = _run(env, "scheduler", "--once", "--now", "2026-03-02T12:00")
    assert result.returncode == 0, result.stderr
    assert "påminnelser: 0" in result.stdout
