"""`sip-engine serve` as a real process: the web UI answers, and its one in-process scheduler
sweeps due reminders."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock
from sip_engine.db import make_engine
from sip_engine.models import OutboxMessage, Reminder, ReminderStatus
from sip_engine.workflow import WorkflowEngine, WorkflowRegistry

from .smtp import free_port
from .world import CaseBuilder, build_world


def test_serve_answers_and_runs_its_scheduler_once(  # on the embedded SQLite set-up
    tmp_path: Path, sqlite_template: Path, registry: WorkflowRegistry
) -> None:
    database = tmp_path / "sip.sqlite3"
    shutil.copy(sqlite_template, database)
    engine = make_engine(f"sqlite:///{database}")
    # A case opened four days ago (real time): its stalled-case warning is due now.
    clock = FixedClock(datetime.now(UTC) - timedelta(days=4))
    with Session(engine, expire_on_commit=False) as session:
        world = build_world(session, clock)
        session.commit()
        CaseBuilder(session, world, WorkflowEngine(registry, clock), clock).open()
    engine.dispose()

    port = free_port()
    env = {
        **os.environ,
        "SIP_DATABASE_URL": f"sqlite:///{database}",
        "SIP_SECRET_KEY": "x",
        "SIP_QUIET_HOURS": "off",
        "SIP_SCHEDULER_INTERVAL": "1",
        "SIP_SMTP_URL": "",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "sip_engine.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 20
        health = None
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = r.read().decode()
                break
            except OSError:
                time.sleep(0.2)
        assert health is not None and '"database":"ok"' in health.replace(" ", "")

        engine = make_engine(f"sqlite:///{database}")
        try:
            while time.monotonic() < deadline:
                with Session(engine) as session:
                    statuses = session.scalars(
                        select(Reminder.status).where(Reminder.rule_id == "upptack_varning")
                    ).all()
                    if statuses == [ReminderStatus.SENT]:
                        break
                time.sleep(0.2)
            with Session(engine) as session:
                assert statuses == [ReminderStatus.SENT]
                # Exactly one e-mail for it, though the job ran every second since.
                time.sleep(2.5)
                kinds = session.scalars(select(OutboxMessage.kind)).all()
                assert kinds.count("warning:upptack_varning") == 1
        finally:
            engine.dispose()
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0].decode()
    assert "SIP-stöd körs på" in output
