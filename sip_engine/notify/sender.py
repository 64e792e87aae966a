"""Delivering the outbox over SMTP: claim with a lease, send, mark sent exactly once.

Several senders may run against one database. A claim is one UPDATE that takes only rows
nobody holds (PostgreSQL skips rows another claim has locked; SQLite serialises writers), and
carries a lease: the rows of a sender that died are claimed again when the lease runs out.
A row is marked sent only by the sender holding it.

Faults: a transient failure (connection refused or dropped, a timeout, a 4xx answer, a refused
login) is retried with a back-off that grows to at most ``LONGEST_RETRY`` and never gives up;
only a permanent 5xx answer to the message itself ends it as failed, visible on the case. A
dropped connection costs the message in flight one try: the sender opens a new SMTP session
for the rest of its batch. When SMTP has accepted a message and the "sent" write fails (the
database went away), the write is retried for as long as the lease holds, so the message is
not sent again. A sender that stops cleanly releases the rows it had claimed and not sent; the
rows of a killed one wait for its lease (see ``LEASE``).
"""

from __future__ import annotations

import logging
import secrets
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from sip_engine.claims import claim_due_rows
from sip_engine.clock import Clock
from sip_engine.models import OutboxMessage, OutboxStatus

log = logging.getLogger("sip_engine.mail")

# How long a claim holds a row. Renewed before each message, so it must outlast one message's
# SMTP exchange (each step may take the configured timeout, 30 s by default) plus the retries
# of the "sent" write after a database outage. Only a process that dies without stopping
# (kill -9, power loss) leaves rows behind for this long: nothing can tell such a process from
# one that is still waiting for the SMTP server, and taking its rows over earlier could send a
# message twice.
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(minutes=1)
LONGEST_RETRY = timedelta(minutes=15)
# The "sent" write is retried until this long before the lease runs out.
LEASE_MARGIN = timedelta(seconds=30)
_MARK_SENT_PAUSE_S = (0.2, 5.0)  # first and longest pause between tries of the "sent" write


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, 8 minutes after each failed try, then every 15 minutes for as long as it
    takes: a transient failure never uses a message up."""
    delay: timedelta = FIRST_RETRY * (2 ** min(max(0, attempts - 1), 10))
    return min(delay, LONGEST_RETRY)


def is_permanent(exc: BaseException) -> bool:
    """A 5xx answer to this message (MAIL FROM's sender aside, RCPT TO or DATA): it will be
    refused again. A refused login or sender, a 4xx answer, a timeout or a lost connection are
    the set-up's or the moment's fault, not the message's, and are retried."""
    code = _smtp_code(exc)
    return (
        isinstance(exc, smtplib.SMTPDataError | smtplib.SMTPRecipientsRefused)
        and isinstance(code, int)
        and 500 <= code < 600
    )


def connection_lost(exc: BaseException) -> bool:
    """After this error the SMTP session cannot be used again (smtplib closes it on 421)."""
    return isinstance(exc, OSError | smtplib.SMTPServerDisconnected) or _smtp_code(exc) == 421


def _smtp_code(exc: BaseException) -> int | None:
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code = min((c for c, _msg in exc.recipients.values()), default=None)
    return code if isinstance(code, int) else None


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
        # Set (e.g. on SIGTERM) to stop after the message in hand, releasing the rest.
        self.stopping = threading.Event()

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
        smtp: smtplib.SMTP | None = None
        started = 0  # rows of the batch taken in hand; the rest are released if we stop
        try:
            for message_id in ids:
                if self.stopping.is_set():
                    break
                if smtp is None:
                    try:
                        smtp = self.smtp.connect()
                    except (OSError, smtplib.SMTPException) as exc:
                        # Down (or refusing us): every row left in the batch waits its back-off.
                        for rest in ids[started:]:
                            self._failed(rest, exc, report)
                        started = len(ids)
                        break
                started += 1
                if not self._deliver_one(smtp, message_id, report):
                    # The connection went away with this message: it waits its back-off, the
                    # rest of the batch goes over a new SMTP session.
                    _close(smtp)
                    smtp = None
        finally:
            if smtp is not None:
                _close(smtp)
            if started < len(ids):
                # Stopped part-way (SIGTERM, an error): the rows not yet taken in hand are free
                # for any sender at once instead of after the lease. The row in hand keeps its
                # lease: SMTP may have accepted it.
                self._release(ids[started:])
        return report

    def _release(self, ids: list[int]) -> None:
        try:
            with self.sessions.begin() as session:
                session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id.in_(ids),
                        OutboxMessage.claimed_by == self.worker_id,
                        OutboxMessage.status == OutboxStatus.PENDING,
                    )
                    .values(claimed_by=None, claimed_until=None)
                    .execution_options(synchronize_session=False)
                )
        except DBAPIError as exc:  # the database is away: the lease frees them later
            log.warning("claimed mail not released (%s)", type(exc).__name__)

    def deliver_all_due(self, max_batches: int = 1000) -> DeliveryReport:
        total = DeliveryReport()
        for _ in range(max_batches):
            report = self.deliver_due()
            total.sent += report.sent
            total.retried += report.retried
            total.failed += report.failed
            total.errors += report.errors
            if report.sent + report.retried + report.failed == 0 or self.stopping.is_set():
                break
        return total

    def _deliver_one(self, smtp: smtplib.SMTP, message_id: int, report: DeliveryReport) -> bool:
        """Deliver one claimed row; False when the SMTP session is lost."""
        # Renew the lease just before this message (a long batch must not outlive it, or
        # another sender could take the row over while it is being sent); skip the row if it
        # is no longer ours.
        now = self.clock.now()
        lease_ends = time.monotonic() + LEASE.total_seconds()
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
            return True
        with self.sessions() as session:
            row = session.get(OutboxMessage, message_id)
            if (
                row is None
                or row.claimed_by != self.worker_id
                or row.status is not (OutboxStatus.PENDING)
            ):
                return True
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
            return True
        try:
            smtp.send_message(email, to_addrs=[to_address])
        except (OSError, smtplib.SMTPException) as exc:
            self._failed(message_id, exc, report)
            return not connection_lost(exc)
        self._mark_sent(message_id, lease_ends - LEASE_MARGIN.total_seconds())
        report.sent += 1
        return True

    def _mark_sent(self, message_id: int, give_up_at: float) -> None:
        """Record that SMTP accepted the message. The database may be away for a moment (a
        restart, a fail-over): the write is retried until shortly before the lease runs out,
        so the row is not taken over and sent again. Only an outage longer than that can
        still send it twice (the outbox promises at least once, never lost)."""
        pause = _MARK_SENT_PAUSE_S[0]
        while True:
            try:
                with self.sessions.begin() as session:
                    session.execute(
                        update(OutboxMessage)
                        .where(
                            OutboxMessage.id == message_id,
                            OutboxMessage.claimed_by == self.worker_id,
                        )
                        .values(
                            status=OutboxStatus.SENT,
                            sent_at=self.clock.now(),
                            attempts=OutboxMessage.attempts + 1,
                            claimed_by=None,
                            claimed_until=None,
                            last_error=None,
                        )
                        .execution_options(synchronize_session=False)
                    )
                return
            except DBAPIError as exc:
                if time.monotonic() + pause > give_up_at:
                    log.error("mail %s sent but not recorded (%s)", message_id, type(exc).__name__)
                    raise
                log.warning(
                    "mail %s sent; recording it failed (%s), trying again",
                    message_id,
                    type(exc).__name__,
                )
                time.sleep(pause)
                pause = min(pause * 2, _MARK_SENT_PAUSE_S[1])

    def _failed(
        self,
        message_id: int,
        exc: BaseException,
        report: DeliveryReport,
        *,
        permanent: bool = False,
    ) -> None:
        # The error's type and SMTP code only: server replies can quote the recipient.
        code = _smtp_code(exc)
        permanent = permanent or is_permanent(exc)
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
            if permanent:
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


def _close(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()
