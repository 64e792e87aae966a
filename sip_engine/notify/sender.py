"""Delivering the outbox over SMTP: claim with a lease, send, mark sent exactly once.

Several senders may run against one database. A claim is one UPDATE that takes only rows
nobody holds (PostgreSQL skips rows another claim has locked; SQLite serialises writers), and
carries a lease: the rows of a sender that died are claimed again when the lease runs out.
A row is marked sent only by the sender holding it. A failed delivery is retried with growing
back-off and, after the last try, kept as failed, visible on the case.
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from sip_engine.claims import claim_due_rows
from sip_engine.clock import Clock
from sip_engine.models import OutboxMessage, OutboxStatus

log = logging.getLogger("sip_engine.mail")

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 10
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(hours=6)


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, 8 … minutes after each failed try, at most six hours."""
    delay: timedelta = FIRST_RETRY * (2 ** max(0, attempts - 1))
    return min(delay, LONGEST_RETRY)


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    # "starttls" upgrades when the server offers it; "require" refuses to send without it;
    # "ssl" is TLS from the first byte (smtps); "none" never encrypts (loopback tests only).
    tls: str = "starttls"
    timeout: float = 30.0
    # A private CA for an internal relay (?cafile=/path/ca.pem); system CAs otherwise.
    cafile: str | None = None

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("SIP_SMTP_URL must start with smtp:// or smtps://")
        query = parse_qs(parts.query)
        if parts.scheme == "smtps":
            tls = "ssl"
        else:
            tls = (query.get("starttls") or ["auto"])[0]
            tls = {"auto": "starttls", "require": "require", "never": "none"}.get(tls, "")
            if not tls:
                raise ValueError("starttls must be auto, require or never")
        return cls(
            host=parts.hostname or "localhost",
            port=parts.port or (465 if parts.scheme == "smtps" else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            timeout=float((query.get("timeout") or ["30"])[0]),
            cafile=query["cafile"][0] if query.get("cafile") else None,
        )

    def connect(self) -> smtplib.SMTP:
        context = ssl.create_default_context(cafile=self.cafile)
        smtp: smtplib.SMTP
        if self.tls == "ssl":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.tls != "ssl":
                smtp.ehlo()
                if self.tls == "require" or (self.tls == "starttls" and smtp.has_extn("starttls")):
                    smtp.starttls(context=context)
                    smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()  # a refused TLS or login must not leave the connection open
            raise
        return smtp


def build_email(row: OutboxMessage, mail_from: str) -> EmailMessage:
    """Plain text plus, for meetings, the calendar part as text/calendar; method=… inside
    multipart/alternative (the form Outlook recognises as an invitation)."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = formataddr((row.to_name or "", row.to_address))
    message["Subject"] = row.subject
    message["Message-ID"] = row.message_id
    message["Date"] = format_datetime(row.created_at)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(row.body_text)
    if row.ics:
        message.add_alternative(
            row.ics, subtype="calendar", params={"method": row.ics_method or "REQUEST"}
        )
    return message


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


class OutboxSender:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        smtp: SmtpConfig,
        clock: Clock,
        mail_from: str,
        *,
        batch_size: int = 50,
        worker_id: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.smtp = smtp
        self.clock = clock
        self.mail_from = mail_from
        self.batch_size = batch_size
        self.worker_id = worker_id or secrets.token_hex(8)

    def claim(self) -> list[int]:
        """Take up to ``batch_size`` due rows nobody holds; one statement, one transaction."""
        now = self.clock.now()
        return claim_due_rows(
            self.sessions,
            OutboxMessage,
            (OutboxMessage.status == OutboxStatus.PENDING, OutboxMessage.next_attempt_at <= now),
            # The order of ix_outbox_message_due, so the due rows are an index range: ordered
            # by id alone, PostgreSQL walked the primary key past every sent row.
            (OutboxMessage.next_attempt_at, OutboxMessage.id),
            now=now,
            batch_size=self.batch_size,
            worker_id=self.worker_id,
            lease=LEASE,
            name="due_mail",
        )

    def deliver_due(self) -> DeliveryReport:
        report = DeliveryReport()
        ids = self.claim()
        if not ids:
            return report
        try:
            smtp = self.smtp.connect()
        except (OSError, smtplib.SMTPException) as exc:
            for message_id in ids:
                self._failed(message_id, exc, report)
            return report
        try:
            for message_id in ids:
                self._deliver_one(smtp, message_id, report)
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return report

    def deliver_all_due(self, max_batches: int = 1000) -> DeliveryReport:
        total = DeliveryReport()
        for _ in range(max_batches):
            report = self.deliver_due()
            total.sent += report.sent
            total.retried += report.retried
            total.failed += report.failed
            total.errors += report.errors
            if report.sent + report.retried + report.failed == 0:
                break
        return total

    def _deliver_one(self, smtp: smtplib.SMTP, message_id: int, report: DeliveryReport) -> None:
        # Renew the lease just before this message (a long batch must not outlive it, or
        # another sender could take the row over while it is being sent); skip the row if it
        # is no longer ours.
        now = self.clock.now()
        with self.sessions.begin() as session:
            still_ours = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.claimed_by == self.worker_id,
                    OutboxMessage.status == OutboxStatus.PENDING,
                )
                .values(claimed_until=now + LEASE)
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)
            ).scalar_one_or_none()
        if still_ours is None:
            return
        with self.sessions() as session:
            row = session.get(OutboxMessage, message_id)
            if (
                row is None
                or row.claimed_by != self.worker_id
                or row.status is not (OutboxStatus.PENDING)
            ):
                return
            to_address = row.to_address
            try:
                email = build_email(row, self.mail_from)
            except ValueError as exc:  # e.g. a line break in an address: it never will build
                unbuildable: ValueError | None = exc
            else:
                unbuildable = None
        if unbuildable is not None:
            # Give up at once, or every sweep would stop at this row and send nothing after it.
            self._failed(message_id, unbuildable, report, permanent=True)
            return
        try:
            smtp.send_message(email, to_addrs=[to_address])
        except (OSError, smtplib.SMTPException) as exc:
            self._failed(message_id, exc, report)
            return
        now = self.clock.now()
        with self.sessions.begin() as session:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == self.worker_id)
                .values(
                    status=OutboxStatus.SENT,
                    sent_at=now,
                    attempts=OutboxMessage.attempts + 1,
                    claimed_by=None,
                    claimed_until=None,
                    last_error=None,
                )
                .execution_options(synchronize_session=False)
            )
        report.sent += 1

    def _failed(
        self,
        message_id: int,
        exc: BaseException,
        report: DeliveryReport,
        *,
        permanent: bool = False,
    ) -> None:
        # The error's type and SMTP code only: server replies can quote the recipient.
        code = getattr(exc, "smtp_code", None)
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            code = min((c for c, _msg in exc.recipients.values()), default=None)
        if (
            isinstance(exc, smtplib.SMTPDataError | smtplib.SMTPRecipientsRefused)
            and isinstance(code, int)
            and 500 <= code < 600
        ):
            # The server refuses this message for good. A failed login or connection is the
            # set-up's fault, not the message's, and is retried until it is put right.
            permanent = True
        error = f"{type(exc).__name__}{f' {code}' if code else ''}"
        now = self.clock.now()
        with self.sessions.begin() as session:
            # Write first, read nothing before: on SQLite a transaction that has read and then
            # writes fails at once with "database is locked" when another sender wrote in
            # between; one that starts with a write waits for the lock (busy_timeout).
            attempts = session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.claimed_by == self.worker_id)
                .values(
                    attempts=OutboxMessage.attempts + 1,
                    last_error=error,
                    claimed_by=None,
                    claimed_until=None,
                )
                .returning(OutboxMessage.attempts)
                .execution_options(synchronize_session=False)
            ).scalar_one_or_none()
            if attempts is None:
                return
            outcome: dict[str, object]
            if permanent or attempts >= MAX_ATTEMPTS:
                outcome = {"status": OutboxStatus.FAILED}
                report.failed += 1
            else:
                outcome = {"next_attempt_at": now + retry_delay(attempts)}
                report.retried += 1
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(outcome)
                .execution_options(synchronize_session=False)
            )
        report.errors.append(error)
        log.warning("mail %s not delivered (%s)", message_id, error)
