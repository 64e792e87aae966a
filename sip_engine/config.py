"""The one loader for SIP_* settings, shared by the web UI, the scheduler, the CLI and Alembic.

Nothing is read at import time: call :func:`load_settings` where a process starts. Every
setting is parsed and checked here, once: a malformed one raises :class:`SettingsError`
naming the variable, so every process (``serve``, ``scheduler``, ``send-mail`` …) refuses to
start instead of starting and failing at each tick. The processes receive parsed values
(``Settings.smtp``, ``Settings.quiet``).
"""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, time
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .clock import STOCKHOLM
from .notify.sender import SmtpConfig


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the variable (never its value when
    it may hold a password)."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class QuietHours:
    """No reminders are sent between ``start`` and ``end`` (Stockholm time); what falls due
    then goes out at ``end``. Reminders only, and only in the sweep that turns them into
    mail: the outbox is delivered at any hour by every process (``scheduler``, ``send-mail``),
    so a kallelse, an update or a cancellation written at 20:30 goes out at once."""

    start: time
    end: time

    @classmethod
    def parse(cls, text: str | None) -> QuietHours | None:
        """``HH:MM-HH:MM`` (default 20:00-07:00), or ``off``/``av``; ValueError otherwise."""
        if text is None:
            return cls(time(20, 0), time(7, 0))
        if text.strip().lower() in ("", "off", "av"):
            return None
        start, dash, end = text.partition("-")
        if not dash:
            raise ValueError(
                f"ska vara HH:MM-HH:MM med vanligt bindestreck (t.ex. 20:00-07:00) eller off, "
                f"inte {text!r}"
            )
        try:
            return cls(_clock_time(start), _clock_time(end))
        except ValueError:
            raise ValueError(
                f"ska vara HH:MM-HH:MM (t.ex. 20:00-07:00) eller off, inte {text!r}"
            ) from None

    def contains(self, moment: datetime) -> bool:
        local = moment.astimezone(STOCKHOLM).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


def _clock_time(text: str) -> time:
    text = text.strip()
    if not (len(text) == 5 and text[2] == ":" and text.replace(":", "", 1).isdecimal()):
        raise ValueError(text)
    return time.fromisoformat(text)


@dataclass(frozen=True)
class Settings:
    database_url: str
    instance_dir: Path
    secret_key: str | None
    timezone: str = "Europe/Stockholm"
    sql_echo: bool = False
    # Secure (HTTPS-only) session cookies; off only for the embedded demo on plain http.
    secure_cookies: bool = True
    # Outgoing mail: smtp://user:password@host:587 (STARTTLS when offered, or ?starttls=require),
    # smtps://… for TLS from the start. None: messages stay in the local mail view.
    smtp_url: str | None = None
    mail_from: str = "SIP-stöd <sip@localhost>"
    # Where participants' answer links point.
    base_url: str = "http://127.0.0.1:8000"
    # No reminders at night: "HH:MM-HH:MM" in Stockholm time, "off" to send around the clock.
    quiet_hours: str | None = None
    scheduler_interval: float = 30.0
    # How many reverse proxies in front of the web processes to believe: their
    # X-Forwarded-For/-Proto/-Host give the client's address (throttling, the access log).
    # 0: none, the headers are ignored (a client could set them to anything).
    trusted_proxies: int = 0
    # Parsed from the above when the settings are made (also when a test builds them): the
    # processes use these, never the text.
    smtp: SmtpConfig | None = field(init=False, repr=False, compare=False)
    quiet: QuietHours | None = field(init=False, compare=False)

    def __post_init__(self) -> None:
        smtp = None
        if self.smtp_url:
            try:
                smtp = SmtpConfig.from_url(self.smtp_url)
            except ValueError as exc:
                # The URL can carry the relay's password: the reason only, not the value.
                raise SettingsError(
                    "SIP_SMTP_URL",
                    "ska vara smtp://[användare:lösenord@]värd[:port][?starttls=auto|require|"
                    f"never&timeout=sekunder] eller smtps://… ({_reason(exc)})",
                ) from None
        object.__setattr__(self, "smtp", smtp)
        try:
            quiet = QuietHours.parse(self.quiet_hours)
        except ValueError as exc:
            raise SettingsError("SIP_QUIET_HOURS", str(exc)) from None
        object.__setattr__(self, "quiet", quiet)
        if not (math.isfinite(self.scheduler_interval) and self.scheduler_interval > 0):
            raise SettingsError(
                "SIP_SCHEDULER_INTERVAL",
                f"ska vara ett antal sekunder större än 0, inte {self.scheduler_interval!r}",
            )
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(
                "SIP_TIMEZONE", f"okänd tidszon {self.timezone!r} (t.ex. Europe/Stockholm)"
            ) from None
        base = urlsplit(self.base_url)
        if base.scheme not in ("http", "https") or not base.netloc:
            raise SettingsError(
                "SIP_BASE_URL",
                f"ska vara en adress som börjar med https:// eller http://, inte {self.base_url!r}",
            )
        _name, address = parseaddr(self.mail_from)
        if "@" not in address:
            raise SettingsError(
                "SIP_MAIL_FROM",
                "ska vara en e-postadress, t.ex. SIP-stöd <sip@kommun.se>, "
                f"inte {self.mail_from!r}",
            )
        try:
            make_url(self.database_url)
        except ArgumentError:
            # The URL can carry the database password.
            raise SettingsError(
                "SIP_DATABASE_URL",
                "ska vara en SQLAlchemy-adress, t.ex. postgresql+psycopg://användare@värd/sip",
            ) from None


def default_instance_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("SIP_INSTANCE_DIR") or Path.cwd() / "instance")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (default: the process environment).

    ``SIP_DATABASE_URL`` picks the database; without it an SQLite file in the instance
    folder is used, which is the embedded default for a single machine.
    """
    env = os.environ if env is None else env
    instance_dir = default_instance_dir(env)
    url = env.get("SIP_DATABASE_URL") or f"sqlite:///{instance_dir / 'sip.sqlite3'}"
    return Settings(
        database_url=url,
        instance_dir=instance_dir,
        secret_key=env.get("SIP_SECRET_KEY") or None,
        timezone=env.get("SIP_TIMEZONE") or "Europe/Stockholm",
        sql_echo=_flag("SIP_SQL_ECHO", env.get("SIP_SQL_ECHO"), default=False),
        secure_cookies=_flag("SIP_SECURE_COOKIES", env.get("SIP_SECURE_COOKIES"), default=True),
        smtp_url=env.get("SIP_SMTP_URL") or None,
        mail_from=env.get("SIP_MAIL_FROM") or "SIP-stöd <sip@localhost>",
        base_url=(env.get("SIP_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
        quiet_hours=env.get("SIP_QUIET_HOURS"),
        scheduler_interval=_seconds("SIP_SCHEDULER_INTERVAL", env.get("SIP_SCHEDULER_INTERVAL")),
        trusted_proxies=_count("SIP_TRUSTED_PROXIES", env.get("SIP_TRUSTED_PROXIES")),
    )


def load_or_create_secret(settings: Settings) -> str:
    """The configured secret, or one kept in the instance folder so that signed links and
    sessions survive a restart of the embedded set-up."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.instance_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    settings.instance_dir.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_hex(32)
    path.touch(mode=0o600)
    path.write_text(secret, encoding="utf-8")
    return secret


def _reason(exc: ValueError) -> str:
    return str(exc).removeprefix("SIP_SMTP_URL ") or type(exc).__name__


def _count(name: str, value: str | None) -> int:
    """A small whole number (0 when unset), or a clear error naming the setting."""
    text = (value or "0").strip()
    if not (text.isascii() and text.isdecimal()) or int(text) > 10:
        raise SettingsError(name, f"ska vara ett heltal 0–10 (antal proxyer), inte {value!r}.")
    return int(text)


def _seconds(name: str, value: str | None, default: float = 30.0) -> float:
    """A number of seconds (the default when unset), or a clear error naming the setting."""
    if value is None or not value.strip():
        return default
    try:
        seconds = float(value.strip())
    except ValueError:
        raise SettingsError(
            name, f"ska vara ett antal sekunder, t.ex. 30, inte {value!r}"
        ) from None
    return seconds


_TRUE = {"1", "true", "yes", "on", "ja"}
_FALSE = {"0", "false", "no", "off", "nej"}


def _flag(name: str, value: str | None, *, default: bool) -> bool:
    """On or off; anything else is refused rather than read as off (a typo in
    SIP_SECURE_COOKIES must not turn HTTPS-only cookies off)."""
    if value is None or not value.strip():
        return default
    word = value.strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise SettingsError(name, f"ska vara 1 eller 0 (på eller av), inte {value!r}")
