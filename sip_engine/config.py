"""The one loader for SIP_* settings, shared by the web UI, the scheduler, the CLI and Alembic.

Nothing is read at import time: call :func:`load_settings` where a process starts.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


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
        timezone=env.get("SIP_TIMEZONE", "Europe/Stockholm"),
        sql_echo=_flag(env.get("SIP_SQL_ECHO"), default=False),
        secure_cookies=_flag(env.get("SIP_SECURE_COOKIES"), default=True),
        smtp_url=env.get("SIP_SMTP_URL") or None,
        mail_from=env.get("SIP_MAIL_FROM") or "SIP-stöd <sip@localhost>",
        base_url=(env.get("SIP_BASE_URL") or "http://127.0.0.1:8000").rstrip("/"),
        quiet_hours=env.get("SIP_QUIET_HOURS"),
        scheduler_interval=float(env.get("SIP_SCHEDULER_INTERVAL") or 30),
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


def _count(name: str, value: str | None) -> int:
    """A small whole number (0 when unset), or a clear error naming the setting."""
    text = (value or "0").strip()
    if not (text.isascii() and text.isdecimal()) or int(text) > 10:
        raise ValueError(f"{name} ska vara ett heltal 0–10 (antal proxyer), inte {value!r}.")
    return int(text)


def _flag(value: str | None, *, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}
