"""Delivering the outbox when things go wrong: SMTP going away mid-batch, a server that keeps
refusing, a sender killed mid-batch, several senders at once. Whatever happens, every message
reaches the (real, loopback) SMTP server exactly once, counted by Message-ID, or stays in the
outbox, visible, with an error that names no one."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, select, text
from sqlalchemy.orm import Session

from sip_engine.clock import STOCKHOLM, FixedClock
from sip_engine.db import make_session_factory
from sip_engine.models import OutboxMessage, OutboxStatus
from sip_engine.notify.sender import (
    LEASE,
    DeliveryReport,
    OutboxSender,
    SmtpConfig,
)

from ..smtp import RecordingHandler, SmtpServer
from ..world import CaseBuilder

MAIL_FROM = "SIP-stöd <sip@sip.test>"
WAIT_S = 20  # generous upper bound for a thread or a process to reach a point; never slept


class HoldingHandler(RecordingHandler):
    """Records like :class:`RecordingHandler`, but holds the ``hold_at``-th DATA (1-based)
    until ``release`` is set, then refuses it temporarily without recording it: a message the
    server never accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.hold_at: int | None = None
        self.seen = 0
        self.holding = threading.Event()
        self.release = threading.Event()
        # The answer to the held DATA once released; None accepts (and records) it.
        self.held_reply: str | None = "451 4.3.0 try again later"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.seen += 1
            hold = self.seen == self.hold_at
        if hold:
            self.holding.set()
            while not self.release.is_set():  # polling keeps the task cancellable (stop())
                await asyncio.sleep(0.01)
            if self.held_reply is not None:
                return self.held_reply
        return await super().handle_DATA(server, session, envelope)


class DroppingHandler(RecordingHandler):
    """Drops the connection once, at the ``drop_at``-th DATA (1-based): ``"in_data"`` reads
    the message and closes the connection instead of answering (the message is not kept);
    ``"after_data"`` keeps it, answers 250, and closes the connection at the next MAIL FROM.
    Counts the SMTP sessions (EHLO)."""

    def __init__(self, drop_at: int, when: str) -> None:
        super().__init__()
        self.drop_at = drop_at
        self.when = when
        self.seen = 0
        self.sessions = 0
        self.drop_next_mail = False

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        with self.lock:
            self.sessions += 1
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.drop_next_mail:
            self.drop_next_mail = False
            server.transport.close()
            return "421 4.3.2 closing"  # never reaches the client
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.seen += 1
            drop = self.seen == self.drop_at
        if drop and self.when == "in_data":
            server.transport.close()
            return "250 OK"  # never reaches the client
        if drop:
            self.drop_next_mail = True
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def holding_smtp(smtp_server: SmtpServer) -> Iterator[SmtpServer]:
    """The ``smtp_server`` fixture's server, restarted with a :class:`HoldingHandler`."""
    smtp_server.stop()
    handler = HoldingHandler()
    smtp_server.handler = handler
    smtp_server.start()
    yield smtp_server
    handler.release.set()  # never leave a held session behind


def holding(server: SmtpServer) -> HoldingHandler:
    assert isinstance(server.handler, HoldingHandler)
    return server.handler


# ---------------------------------------------------------------------------- helpers


def queue_messages(session: Session, count: int, now: datetime) -> list[str]:
    """``count`` pending messages, due at ``now``, as the Notifier writes them."""
    rows = [
        OutboxMessage(
            created_at=now,
            kind="kallelse",
            to_address=f"mottagare{i}@example.se",
            to_name=f"Mottagare {i}",
            subject=f"Kallelse till SIP-möte ({i})",
            body_text=f"Hej Mottagare {i},\n\nDu kallas till ett möte.",
            message_id=f"<sip-{secrets.token_hex(12)}@sip.test>",
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now,
        )
        for i in range(count)
    ]
    session.add_all(rows)
    session.commit()
    return [row.message_id for row in rows]


def pending_message_ids(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(OutboxMessage.message_id)
            .where(OutboxMessage.status == OutboxStatus.PENDING)
            .order_by(OutboxMessage.id)
        )
    )


def outbox(db_engine: Engine) -> list[OutboxMessage]:
    """The outbox as the database has it now (a fresh session, nothing cached)."""
    with Session(db_engine) as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def make_sender(
    db_engine: Engine, clock: FixedClock, server: SmtpServer, **kwargs: Any
) -> OutboxSender:
    return OutboxSender(
        make_session_factory(db_engine),
        SmtpConfig.from_url(server.url),
        clock,
        MAIL_FROM,
        **kwargs,
    )


def assert_each_arrived_once(server: SmtpServer, expected: list[str]) -> None:
    counts = Counter(str(m["Message-ID"]) for m in server.messages)
    duplicates = {mid: n for mid, n in counts.items() if n > 1}
    missing = set(expected) - set(counts)
    unexpected = set(counts) - set(expected)
    assert not duplicates, f"{len(duplicates)} delivered more than once: {duplicates}"
    assert not missing, f"{len(missing)} never arrived: {sorted(missing)}"
    assert not unexpected, f"unexpected messages: {sorted(unexpected)}"


# ---------------------------------------------------------------------------- SMTP goes away


@pytest.mark.parametrize("stopped", ["before_connect", "mid_batch"])
def test_smtp_down_messages_wait_and_arrive_once_when_it_is_back(
    stopped: str,
    mail_builder: CaseBuilder,
    session: Session,
    db_engine: Engine,
    clock: FixedClock,
    holding_smtp: SmtpServer,
) -> None:
    mail_builder.case_in("kalla")  # three real kallelser (with their calendar part)
    queue_messages(session, 5, clock.now())
    expected = pending_message_ids(session)
    assert len(expected) == 8
    sender = make_sender(db_engine, clock, holding_smtp)
    handler = holding(holding_smtp)

    if stopped == "before_connect":
        holding_smtp.stop()
        report = sender.deliver_all_due()
        delivered_first = 0
    else:
        # The server goes away while the 4th message's DATA is in flight: three arrived.
        handler.hold_at = 4
        result: dict[str, Any] = {}
        thread = threading.Thread(target=lambda: result.update(report=sender.deliver_all_due()))
        thread.start()
        assert handler.holding.wait(WAIT_S), "the sender never reached the 4th message"
        holding_smtp.stop()
        thread.join(WAIT_S)
        assert not thread.is_alive(), "the sender hangs after SMTP went away"
        report = result["report"]
        delivered_first = 3
    assert (report.sent, report.retried, report.failed) == (delivered_first, 8 - delivered_first, 0)
    assert len(holding_smtp.messages) == delivered_first

    rows = outbox(db_engine)
    waiting = [r for r in rows if r.status is OutboxStatus.PENDING]
    assert len(waiting) == 8 - delivered_first  # nothing lost
    # Mid-batch, the message in flight lost its connection; the sender reconnected for the
    # rest, and found the server down.
    errors = ["ConnectionRefusedError"] * len(waiting)
    if stopped == "mid_batch":
        errors[0] = "SMTPServerDisconnected"
    assert [r.last_error for r in waiting] == errors
    for row in waiting:
        assert row.attempts == 1
        assert row.next_attempt_at == clock.now() + timedelta(minutes=1)
        assert row.claimed_by is None and row.claimed_until is None

    # Still down and not yet due: a sweep takes nothing and counts no attempt.
    clock.advance(timedelta(seconds=59))
    again = sender.deliver_all_due()
    assert (again.sent, again.retried, again.failed) == (0, 0, 0)
    assert {r.attempts for r in outbox(db_engine) if r.status is OutboxStatus.PENDING} == {1}

    handler.hold_at = None
    holding_smtp.start()
    clock.advance(timedelta(seconds=1))
    report = sender.deliver_all_due()
    assert (report.sent, report.retried, report.failed) == (8 - delivered_first, 0, 0)

    assert_each_arrived_once(holding_smtp, expected)
    rows = outbox(db_engine)
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert sorted(r.attempts for r in rows) == [1] * delivered_first + [2] * (8 - delivered_first)
    assert all(r.last_error is None and r.claimed_by is None for r in rows)


# ---------------------------------------------------------------------------- SMTP refuses


def test_refused_mail_backs_off_and_never_gives_up_without_personal_data(
    mail_builder: CaseBuilder,
    session: Session,
    db_engine: Engine,
    clock: FixedClock,
    smtp_server: SmtpServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    case = mail_builder.case_in("kalla")
    rows = outbox(db_engine)
    assert len(rows) == 3
    people = [(r.to_address, r.to_name or "") for r in rows]
    # A server's reply may quote the recipient; none of it may end up in the outbox or a log.
    smtp_server.handler.refuse_with = f"451 4.3.0 Mailbox {rows[0].to_address} busy, try later"
    sender = make_sender(db_engine, clock, smtp_server)
    # Minutes until the next try after each failed one: 1, 2, 4, 8, then every 15 minutes,
    # however long it takes (40 tries: over eight hours of a refusing server).
    backoff = [1, 2, 4, 8] + [15] * 36

    caplog.set_level(logging.DEBUG, logger="sip_engine")
    for attempt, minutes in enumerate(backoff, start=1):
        report = sender.deliver_all_due()
        assert (report.sent, report.retried, report.failed) == (0, 3, 0), attempt
        for row in outbox(db_engine):
            assert row.status is OutboxStatus.PENDING
            assert row.attempts == attempt
            assert row.last_error == "SMTPDataError 451"
            assert row.next_attempt_at - clock.now() == timedelta(minutes=minutes), attempt
        # Not before the back-off has passed.
        clock.advance(timedelta(minutes=minutes) - timedelta(seconds=1))
        early = sender.deliver_all_due()
        assert (early.sent, early.retried, early.failed) == (0, 0, 0), attempt
        clock.advance(timedelta(seconds=1))

    # Still waiting, still visible on the case with the reason; nothing given up.
    with Session(db_engine) as s:
        waiting = list(s.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id)))
    assert len(waiting) == 3
    for row in waiting:
        assert row.status is OutboxStatus.PENDING
        assert row.attempts == len(backoff)
        assert row.last_error == "SMTPDataError 451"
        assert row.sent_at is None and row.claimed_by is None
    # What the project logs (the test server's own "mail.log" is not ours).
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("sip_engine"))
    assert "SMTPDataError 451" in logged
    for address, name in people:
        for personal in (address, address.partition("@")[0], name):
            for row in waiting:
                assert personal not in (row.last_error or "")
            assert personal not in logged
    assert "busy" not in logged

    # The server recovers: each arrives once.
    smtp_server.handler.refuse_with = None
    report = sender.deliver_all_due()
    assert (report.sent, report.retried, report.failed) == (3, 0, 0)
    assert_each_arrived_once(smtp_server, [r.message_id for r in waiting])


def test_a_message_that_cannot_be_built_fails_at_once_and_blocks_nothing(
    session: Session, db_engine: Engine, clock: FixedClock, smtp_server: SmtpServer
) -> None:
    # A line break in the address (the answer form's e-mail check lets one through): the
    # e-mail library refuses the header, so this row can never be sent.
    [poison] = queue_messages(session, 1, clock.now())
    row = session.scalars(select(OutboxMessage).where(OutboxMessage.message_id == poison)).one()
    row.to_address = "lena@example.se\r\nbcc:someone@example.org"
    session.commit()
    expected = queue_messages(session, 3, clock.now())

    report = make_sender(db_engine, clock, smtp_server).deliver_all_due()

    assert (report.sent, report.retried, report.failed) == (3, 0, 1)
    assert_each_arrived_once(smtp_server, expected)
    failed = [r for r in outbox(db_engine) if r.status is OutboxStatus.FAILED]
    assert [(r.message_id, r.attempts, r.last_error) for r in failed] == [(poison, 1, "ValueError")]
    assert failed[0].claimed_by is None


# ---------------------------------------------------------------------------- killed sender


def _cli_env(db_engine: Engine, smtp_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIP_")}
    env.update(
        SIP_DATABASE_URL=db_engine.url.render_as_string(hide_password=False),
        SIP_SMTP_URL=smtp_url,
        SIP_SECRET_KEY="test-secret",
        SIP_INSTANCE_DIR=str(tmp_path / "instance"),
        SIP_MAIL_FROM=MAIL_FROM,
    )
    return env


def start_cli(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """``sip-engine ARGS`` in its own process (the real entry point)."""
    script = Path(sys.executable).with_name("sip-engine")
    assert script.exists(), f"{script} missing: is the project installed in the venv?"
    return subprocess.Popen(
        [str(script), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _send_mail_once(env: dict[str, str]) -> subprocess.Popen[str]:
    return start_cli(env, "send-mail", "--once")


def test_sender_killed_mid_batch_and_restarted_sends_no_duplicates(
    session: Session,
    db_engine: Engine,
    clock: FixedClock,
    holding_smtp: SmtpServer,
    tmp_path: Path,
) -> None:
    # The process sender reads the real system clock: queue the mail due by real time.
    clock.set(datetime.now(UTC) - timedelta(minutes=1))
    expected = queue_messages(session, 8, clock.now())
    handler = holding(holding_smtp)
    handler.hold_at = 4
    # A long socket timeout: the killed sender must still be waiting when it dies.
    env = _cli_env(
        db_engine, f"smtp://127.0.0.1:{holding_smtp.port}?starttls=never&timeout=60", tmp_path
    )

    first = _send_mail_once(env)
    try:
        deadline = time.monotonic() + 60
        while not handler.holding.wait(0.05):
            if first.poll() is not None:
                out, err = first.communicate()
                pytest.fail(f"the sender ended before the 4th message: {out}\n{err}")
            assert time.monotonic() < deadline, "the sender never reached the 4th message"
        # SIGKILL: no handler, no finally; the process is gone in the middle of DATA.
        first.send_signal(signal.SIGKILL)
        first.communicate(timeout=WAIT_S)
    finally:
        if first.poll() is None:
            first.kill()
            first.communicate()
    killed_at = datetime.now(UTC)
    assert first.returncode == -signal.SIGKILL
    handler.release.set()  # the held message is refused (to a dead client), never recorded
    assert len(holding_smtp.messages) == 3

    rows = outbox(db_engine)
    sent = [r for r in rows if r.status is OutboxStatus.SENT]
    held = [r for r in rows if r.status is OutboxStatus.PENDING]
    assert len(sent) == 3 and len(held) == 5
    dead_worker = {r.claimed_by for r in held}
    assert len(dead_worker) == 1 and None not in dead_worker
    assert all(r.claimed_until and killed_at < r.claimed_until <= killed_at + LEASE for r in held)

    # Restarted at once: the dead sender's lease still holds its rows, so nothing is sent.
    second = _send_mail_once(env)
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, f"{out}\n{err}"
    assert len(holding_smtp.messages) == 3
    assert {r.claimed_by for r in outbox(db_engine) if r.status is OutboxStatus.PENDING} == (
        dead_worker
    )

    # Restarted once the lease has run out. The CLI reads the system clock and cannot wait
    # five minutes, so this sender runs in-process with a clock past the lease; the database
    # rows stay exactly as the killed process left them (no lease is edited by hand), so the
    # claim logic itself decides what to take over.
    later = FixedClock(killed_at + LEASE + timedelta(seconds=1))
    report = make_sender(db_engine, later, holding_smtp).deliver_all_due()
    assert (report.sent, report.retried, report.failed) == (5, 0, 0)

    assert_each_arrived_once(holding_smtp, expected)
    rows = outbox(db_engine)
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert all(r.attempts == 1 for r in rows)


# ---------------------------------------------------------------------------- many senders


def run_senders_at_once(
    db_engine: Engine, clock: FixedClock, server: SmtpServer, workers: int = 4
) -> list[DeliveryReport]:
    """``workers`` senders in threads, started together, each sweeping until nothing is due.
    A sender that raises fails the test with its exception."""
    start = threading.Barrier(workers)
    reports: list[DeliveryReport | None] = [None] * workers
    errors: list[BaseException] = []

    def run(n: int) -> None:
        sender = make_sender(db_engine, clock, server, batch_size=10, worker_id=f"w{n}")
        try:
            start.wait(WAIT_S)
            reports[n] = sender.deliver_all_due()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a sender hangs"
    assert not errors, f"a sender crashed: {errors!r}"
    return [r for r in reports if r is not None]


def test_concurrent_senders_deliver_each_message_exactly_once(
    session: Session, db_engine: Engine, clock: FixedClock, smtp_server: SmtpServer
) -> None:
    expected = queue_messages(session, 200, clock.now())
    session.close()

    reports = run_senders_at_once(db_engine, clock, smtp_server)

    assert sum(r.sent for r in reports) == 200
    assert all(r.retried == 0 and r.failed == 0 for r in reports)
    assert_each_arrived_once(smtp_server, expected)
    rows = outbox(db_engine)
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert all(r.attempts == 1 and r.claimed_by is None for r in rows)


def test_concurrent_senders_against_a_refusing_server_all_back_off(
    session: Session, db_engine: Engine, clock: FixedClock, smtp_server: SmtpServer
) -> None:
    """Recording a failed try while other senders write: on SQLite this must wait for the
    write lock like any other write, not fail with "database is locked"."""
    queue_messages(session, 200, clock.now())
    session.close()
    smtp_server.handler.refuse_with = "451 4.3.0 try later"

    reports = run_senders_at_once(db_engine, clock, smtp_server)

    assert sum(r.retried for r in reports) == 200
    assert all(r.sent == 0 and r.failed == 0 for r in reports)
    assert smtp_server.messages == []
    for row in outbox(db_engine):
        assert row.status is OutboxStatus.PENDING
        assert row.attempts == 1
        assert row.last_error == "SMTPDataError 451"
        assert row.next_attempt_at == clock.now() + timedelta(minutes=1)
        assert row.claimed_by is None and row.claimed_until is None


def test_a_permanent_refusal_fails_at_once(
    mail_builder: CaseBuilder, db_engine: Engine, clock: FixedClock, smtp_server: SmtpServer
) -> None:
    mail_builder.case_in("kalla")
    smtp_server.handler.refuse_with = "550 5.1.1 no such mailbox"
    report = make_sender(db_engine, clock, smtp_server).deliver_all_due()
    assert (report.sent, report.retried, report.failed) == (0, 0, 3)
    assert {(r.status, r.attempts, r.last_error) for r in outbox(db_engine)} == {
        (OutboxStatus.FAILED, 1, "SMTPDataError 550")
    }


# ---------------------------------------------------------------------------- real processes
# `sip-engine send-mail` and `sip-engine scheduler` in processes of their own, the clock driven
# with --now, against the loopback SMTP server and the test's database.

SEND_MAIL_LINE = re.compile(r"skickade (\d+), försöker igen (\d+), misslyckade (\d+)")
SCHEDULER_LINE = re.compile(r"levererade: (\d+), misslyckade: (\d+), ej levererade: (\d+)")


def run_once(env: dict[str, str], command: str, at: datetime) -> tuple[int, int, int]:
    """``sip-engine COMMAND --once --now AT``; (exit code, delivered, not delivered)."""
    local = at.astimezone(STOCKHOLM).replace(tzinfo=None).isoformat(timespec="minutes")
    process = start_cli(env, command, "--once", "--now", local)
    try:
        out, err = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    if command == "send-mail":
        found = SEND_MAIL_LINE.search(out)
        assert found, f"no report line in:\n{out}\n{err}"
        sent, retried, failed = (int(g) for g in found.groups())
        return process.returncode, sent, retried + failed
    found = SCHEDULER_LINE.search(out)
    assert found, f"no report line in:\n{out}\n{err}"
    sent, _reminders_failed, undelivered = (int(g) for g in found.groups())
    return process.returncode, sent, undelivered


def delivery_figures(server: SmtpServer, expected: list[str]) -> dict[str, int]:
    counts = Counter(str(m["Message-ID"]) for m in server.messages)
    return {
        "messages": len(expected),
        "delivered": len(set(counts) & set(expected)),
        "duplicates": sum(n - 1 for n in counts.values() if n > 1),
        "lost": len(set(expected) - set(counts)),
    }


@pytest.mark.slow
def test_relay_down_over_a_weekend_then_back_delivers_each_message_once(
    session: Session, db_engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    """Friday 16:00 to Sunday 22:00 the relay is down, then hangs, refuses with 421 and
    greylists (451); `send-mail` and `scheduler` take turns every six hours and both exit 1.
    Nothing is given up. The relay is back at Sunday 22:10, inside quiet hours: the kallelser
    go out at the next run, each exactly once."""
    started = time.monotonic()
    friday = datetime(2026, 3, 6, 16, 0, tzinfo=STOCKHOLM)
    clock.set(friday)
    expected = queue_messages(session, 40, friday)
    session.close()
    server = SmtpServer()
    env = _cli_env(db_engine, f"smtp://127.0.0.1:{server.port}?starttls=never&timeout=2", tmp_path)
    env.pop("SIP_QUIET_HOURS", None)  # the default 20:00–07:00: holds reminders, not these
    # smtplib reports a reply that timed out as a lost connection.
    errors = {4: "SMTPServerDisconnected", 6: "SMTPDataError 421", 7: "SMTPDataError 451"}
    runs = 0
    try:
        for step in range(10):  # Fri 16:00, Fri 22:00 … Sun 22:00
            at = friday + timedelta(hours=6 * step)
            silent: socket.socket | None = None
            if step == 4:  # accepts the connection, never answers: the socket times out
                silent = socket.socket()
                silent.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                silent.bind(("127.0.0.1", server.port))
                silent.listen()
            elif step in (6, 7):
                server.handler.refuse_with = (
                    "421 4.3.2 shutting down" if step == 6 else "451 4.7.1 greylisted"
                )
                server.start()
            try:
                command = "send-mail" if step % 2 == 0 else "scheduler"
                code, sent, undelivered = run_once(env, command, at)
            finally:
                if silent is not None:
                    silent.close()
                server.stop()
            runs += 1
            assert (code, sent, undelivered) == (1, 0, 40), (step, command)
            rows = outbox(db_engine)
            assert {r.status for r in rows} == {OutboxStatus.PENDING}, step
            assert {r.attempts for r in rows} == {step + 1}, step
            assert {r.last_error for r in rows} == {errors.get(step, "ConnectionRefusedError")}
            # However many tries: the next one within 15 minutes.
            assert all(r.next_attempt_at - at <= timedelta(minutes=15) for r in rows), step

        server.handler.refuse_with = None
        server.start()
        sunday_night = friday + timedelta(days=2, hours=6, minutes=15)  # Sun 22:15, quiet
        assert run_once(env, "send-mail", sunday_night) == (0, 40, 0)
        assert run_once(env, "scheduler", sunday_night + timedelta(hours=1)) == (0, 0, 0)
        runs += 2
        figures = delivery_figures(server, expected)
    finally:
        server.stop()
    print(f"weekend outage: {figures}, {runs} runs, {time.monotonic() - started:.1f} s")
    assert figures == {"messages": 40, "delivered": 40, "duplicates": 0, "lost": 0}
    rows = outbox(db_engine)
    assert {(r.status, r.attempts, r.last_error) for r in rows} == {(OutboxStatus.SENT, 11, None)}


@pytest.mark.slow
@pytest.mark.parametrize("when", ["in_data", "after_data"])
def test_a_dropped_connection_costs_one_message_one_try(
    when: str, session: Session, db_engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    """The server drops the connection once, in the 4th message's DATA (unanswered, not
    kept) or right after accepting it: one message waits a minute, the rest of the batch goes
    over a new SMTP session, and the one that waited arrives at the next run; each once."""
    expected = queue_messages(session, 10, clock.now())
    session.close()
    handler = DroppingHandler(drop_at=4, when=when)
    server = SmtpServer()
    server.handler = handler
    server.start()
    env = _cli_env(db_engine, server.url, tmp_path)
    try:
        code, sent, undelivered = run_once(env, "send-mail", clock.now())
        assert (code, sent, undelivered) == (1, 9, 1)  # exit 1: one message wasn't delivered
        waiting = [r for r in outbox(db_engine) if r.status is OutboxStatus.PENDING]
        assert [(r.attempts, r.last_error) for r in waiting] == [(1, "SMTPServerDisconnected")]
        assert waiting[0].next_attempt_at == clock.now() + timedelta(minutes=1)
        assert handler.sessions == 2  # one reconnect, not one per message
        assert run_once(env, "send-mail", clock.now() + timedelta(minutes=1)) == (0, 1, 0)
        figures = delivery_figures(server, expected)
    finally:
        server.stop()
    print(f"dropped connection ({when}): {figures}")
    assert figures == {"messages": 10, "delivered": 10, "duplicates": 0, "lost": 0}
    assert {r.status for r in outbox(db_engine)} == {OutboxStatus.SENT}


def _wait(condition: Callable[[], bool], what: str, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while not condition():
        if process.poll() is not None:
            out, err = process.communicate()
            pytest.fail(f"send-mail ended before {what}:\n{out}\n{err}")
        assert time.monotonic() < deadline, f"send-mail never reached {what}"
        time.sleep(0.05)


@contextmanager
def database_away(admin: Connection, app_name: str) -> Iterator[None]:
    """This test database refuses new connections and the connections of ``app_name`` are cut
    (what a restart does to them), then it is back. Only this database's own backends: the
    cluster is shared and stays up."""
    database = admin.execute(text("SELECT current_database()")).scalar_one()
    admin.execute(text(f'ALTER DATABASE "{database}" CONNECTION LIMIT 0'))
    try:
        admin.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND application_name = :name"
            ),
            {"name": app_name},
        )
        yield
    finally:
        admin.execute(text(f'ALTER DATABASE "{database}" CONNECTION LIMIT -1'))


@pytest.mark.slow
@pytest.mark.postgresql
@pytest.mark.parametrize("backend", ["postgresql"], indirect=True)
def test_send_mail_survives_a_database_restart_and_sends_nothing_twice(
    backend: str,
    session: Session,
    db_engine: Engine,
    clock: FixedClock,
    holding_smtp: SmtpServer,
    tmp_path: Path,
) -> None:
    """A running `send-mail` loses the database twice: while SMTP is accepting a message
    (the "sent" write fails and is retried until the database is back, so the message is not
    sent again), and while it waits between sweeps. It lives on, delivers what is queued
    later, and stops cleanly on SIGTERM."""
    started = time.monotonic()
    clock.set(datetime.now(UTC) - timedelta(minutes=1))  # the looping CLI reads the real clock
    expected = queue_messages(session, 20, clock.now())
    session.close()
    handler = holding(holding_smtp)
    handler.hold_at = 4
    handler.held_reply = None  # the held message is accepted when released
    app_name = f"sip-send-mail-{os.getpid()}"
    env = _cli_env(db_engine, holding_smtp.url, tmp_path)
    env["PGAPPNAME"] = app_name
    admin = db_engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    process = start_cli(env, "send-mail", "--interval", "0.2")
    try:
        assert handler.holding.wait(60), "send-mail never reached the 4th message"
        with database_away(admin, app_name):
            handler.release.set()  # SMTP accepts the 4th; recording it fails
            _wait(lambda: len(holding_smtp.messages) == 4, "the 4th message", process)
            time.sleep(3)  # the database stays away while send-mail retries its write
            assert len(outbox_sent(admin)) == 3
        _wait(
            lambda: len(holding_smtp.messages) == 20 and len(outbox_sent(admin)) == 20,
            "the first 20 delivered",
            process,
        )
        # Away again while it idles between sweeps.
        with database_away(admin, app_name):
            time.sleep(2)
        with Session(db_engine) as s:
            expected += queue_messages(s, 5, datetime.now(UTC))
        _wait(lambda: len(outbox_sent(admin)) == 25, "the 5 queued later", process)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=WAIT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
        admin.close()
    assert process.returncode == 0, f"{out}\n{err}"
    # The "sent" write was retried, not given up; the idle outage cost sweeps, not the process.
    assert "recording it failed (OperationalError), trying again" in err
    assert "sent but not recorded" not in err
    assert "mail delivery failed (OperationalError)" in err
    figures = delivery_figures(holding_smtp, expected)
    print(f"database restarts under send-mail: {figures}, {time.monotonic() - started:.1f} s")
    assert figures == {"messages": 25, "delivered": 25, "duplicates": 0, "lost": 0}
    assert {(r.status, r.attempts) for r in outbox(db_engine)} == {(OutboxStatus.SENT, 1)}


def outbox_sent(admin: Connection) -> list[str]:
    query = select(OutboxMessage.message_id).where(OutboxMessage.status == OutboxStatus.SENT)
    return list(admin.execute(query).scalars())


@pytest.mark.slow
def test_send_mail_stopped_with_sigterm_releases_its_claims_at_once(
    session: Session, db_engine: Engine, clock: FixedClock, holding_smtp: SmtpServer, tmp_path: Path
) -> None:
    """SIGTERM in the middle of a batch: the message in hand is finished, the rest of the
    batch is free at once for the next sender (not after the five-minute lease)."""
    clock.set(datetime.now(UTC) - timedelta(minutes=1))
    expected = queue_messages(session, 10, clock.now())
    session.close()
    handler = holding(holding_smtp)
    handler.hold_at = 4
    handler.held_reply = None
    env = _cli_env(db_engine, holding_smtp.url, tmp_path)
    process = start_cli(env, "send-mail")
    try:
        assert handler.holding.wait(60), "send-mail never reached the 4th message"
        process.send_signal(signal.SIGTERM)
        time.sleep(0.5)  # the signal arrives while the 4th message is in DATA
        handler.release.set()
        out, err = process.communicate(timeout=WAIT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, f"{out}\n{err}"
    rows = outbox(db_engine)
    assert sum(r.status is OutboxStatus.SENT for r in rows) == 4
    waiting = [r for r in rows if r.status is OutboxStatus.PENDING]
    assert len(waiting) == 6
    assert all(r.claimed_by is None and r.claimed_until is None for r in waiting)
    # The next sender takes them at once, by the same clock.
    code, sent, undelivered = run_once(env, "send-mail", datetime.now(UTC))
    assert (code, sent, undelivered) == (0, 6, 0)
    assert_each_arrived_once(holding_smtp, expected)
