"""``sip-engine report``: the same figures as the page, as JSON or text."""

from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from sip_engine.cli import main

from ..world import World
from .dataset import build_dataset


def _run(db_engine: Engine, *args: str) -> tuple[int, str]:
    url = db_engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(main, ["report", *args], env={"SIP_DATABASE_URL": url})
    return result.exit_code, result.output


def test_report_json_for_one_area(session: Session, world: World, db_engine: Engine) -> None:
    build_dataset(session, world)
    session.close()
    code, output = _run(db_engine, "--period", "2025", "--area", "centrum", "--json")
    assert code == 0, output
    data = json.loads(output)
    assert (data["period"], data["previous_period"], data["area"]) == ("2025", "2024", "Centrum")
    tables = {t["key"]: t for t in data["tables"]}
    assert list(tables) == [
        "oversikt",
        "skal",
        "initiativ",
        "tid_till_mote",
        "barnet_deltog",
        "uppfoljning",
        "avslut",
        "halsoundersokning",
        "per_manad",
    ]
    rows = {r["key"]: r["values"] for r in tables["oversikt"]["rows"]}
    assert rows["startade"] == [{"text": "30", "number": 30}, {"text": "8", "number": 8}]
    assert rows["avslutade"][1] == {"text": "<5", "number": None}  # never the raw count
    wait = {r["key"]: [v["text"] for v in r["values"]] for r in tables["tid_till_mote"]["rows"]}
    assert wait == {"antal": ["12", "<5"], "median": ["10", "döljs"], "p90": ["40", "döljs"]}
    share = {r["key"]: [v["text"] for v in r["values"]] for r in tables["uppfoljning"]["rows"]}
    assert share["andel"] == ["50 %", "döljs"]


def test_report_text_for_all_areas(session: Session, world: World, db_engine: Engine) -> None:
    build_dataset(session, world)
    session.close()
    code, output = _run(db_engine, "--period", "2025")
    assert code == 0, output
    assert output.startswith("Alla NOSAM-områden, 2025")
    assert "SIP per NOSAM-område, 2025" in output
    line = next(x for x in output.splitlines() if x.startswith("Startade SIP"))
    assert line.split() == ["Startade", "SIP", "36", "8"]


def test_report_refuses_an_unknown_area_or_period(world: World, db_engine: Engine) -> None:
    code, output = _run(db_engine, "--period", "2025", "--area", "Atlantis")
    assert code == 2
    assert "Okänt NOSAM-område: Atlantis" in output and "Angered, Centrum" in output
    code, output = _run(db_engine, "--period", "2025-01-01..2025-12-31")
    assert code == 2
    assert "kvartal (2026-K1)" in output
