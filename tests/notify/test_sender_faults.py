"""Delivering the outbox when things go wrong: SMTP going away mid-batch, a server that keeps
refusing, a sender killed mid-batch, several senders at once. Whatever happens, every message
reaches the (real, loopback) SMTP server exactly once, counted by Message-ID, or stays in the
outbox, visible, with an error that names no one."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock
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

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.seen += 1
            hold = self.seen == self.hold_at
        if hold:
            self.holding.set()
            while not self.release.is_set():  # polling keeps the task cancellable (stop())
                await asyncio.sleep(0.01)
            return "451 4.3.0 try again later"
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
        waiting = list(
            s.scalars(select(OutboxMessage).where(OutboxMessage.case_id == case.id))
        )
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
