import json
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import Engine, inspect

from sip_engine.cli import main
from sip_engine.db import make_engine

from .world import CaseBuilder


def test_init_creates_the_schema_in_the_instance_folder(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main, ["init"], env={"SIP_INSTANCE_DIR": str(tmp_path), "SIP_DATABASE_URL": ""}
    )
    assert result.exit_code == 0, result.output
    database = tmp_path / "sip.sqlite3"
    assert database.exists()
    engine = make_engine(f"sqlite:///{database}")
    assert "sip_case" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
    again = runner.invoke(
        main, ["init"], env={"SIP_INSTANCE_DIR": str(tmp_path), "SIP_DATABASE_URL": ""}
    )
    assert again.exit_code == 0, again.output


def test_status_json_counts_cases_per_state_and_area(
    builder: CaseBuilder, db_engine: Engine
) -> None:
    builder.case_in("upptack")
    builder.case_in("upptack")
    builder.case_in("kalla")
    builder.session.close()
    url = db_engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(main, ["status", "--json"], env={"SIP_DATABASE_URL": url})
    assert result.exit_code == 0, result.output
    counts = json.loads(result.output)
    assert counts["total"] == 3
    assert counts["by_state"] == {"sip": {"upptack": 2, "kalla": 1}}
    assert counts["by_area"] == {"Centrum": {"upptack": 2, "kalla": 1}}
    table = CliRunner().invoke(main, ["status"], env={"SIP_DATABASE_URL": url})
    assert "Upptäck behov" in table.output and "Kalla / bjud in" in table.output


def test_scheduler_once_with_a_given_time(builder: CaseBuilder, db_engine: Engine) -> None:
    builder.open()  # the stalled-case warning falls due three days later
    builder.session.close()
    url = db_engine.url.render_as_string(hide_password=False)
    env = {"SIP_DATABASE_URL": url, "SIP_QUIET_HOURS": "off", "SIP_SMTP_URL": ""}
    early = CliRunner().invoke(main, ["scheduler", "--once", "--now", "2026-03-05T08:59"], env=env)
    assert early.exit_code == 0, early.output
    assert "påminnelser: 0" in early.output
    due = CliRunner().invoke(main, ["scheduler", "--once", "--now", "2026-03-05T09:00"], env=env)
    assert "påminnelser: 1, meddelanden: 1" in due.output
