"""Every figure of the report on a dataset with known answers (tests/reports/dataset.py),
for one area and for all, with the previous period beside it, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from sip_engine.reports import Period, Report, build_report
from sip_engine.workflow import WorkflowRegistry

from ..world import World
from .dataset import build_dataset

TODAY = date(2026, 3, 2)


def texts(report: Report) -> dict[str, dict[str, list[str]]]:
    return {t.key: {r.key: [c.text for c in r.cells] for r in t.rows} for t in report.tables}


def report_for(
    session: Session, registry: WorkflowRegistry, period: str, area: object
) -> dict[str, dict[str, list[str]]]:
    report = build_report(
        session,
        Period.parse(period),
        area,
        today=TODAY,
        registry=registry,
    )
    return texts(report)


# Centrum 2025 beside 2024, worked out from the dataset's description.
CENTRUM_2025 = {
    "oversikt": {"startade": ["30", "8"], "pagaende": ["37", "8"], "avslutade": ["8", "<5"]},
    "skal": {
        "placering": ["20", "8"],
        "skolfranvaro": ["10", "0"],
        "psykisk_ohalsa": ["<5", "0"],
        "funktionsnedsattning": ["<5", "0"],
        "missbruk": ["0", "0"],
        "overgang_vuxen": ["0", "0"],
        "vald_i_nara_relation": ["0", "0"],
        "somatisk_sjukdom": ["0", "0"],
        "annat": ["0", "0"],
    },
    # familj 3 alone would be total minus the rest: region (6, the smallest other) is hidden.
    "initiativ": {
        "socialtjanst": ["12", "8"],
        "skola": ["9", "0"],
        "region": ["döljs", "0"],
        "familj": ["<5", "0"],
        "annan": ["0", "0"],
    },
    # waits 2,4,5,7,9,10,11,14,21,28,40,259 (n=12): rank 6 → 10, rank ⌈10.8⌉=11 → 40.
    # c16's 10 days would be 11 counted in UTC dates, moving the median.
    "tid_till_mote": {
        "antal": ["12", "<5"],
        "median": ["10", "döljs"],
        "p90": ["40", "döljs"],
    },
    "barnet_deltog": {
        "registrerade": ["13", "<5"],
        "deltog": ["8", "<5"],
        "deltog_inte": ["5", "0"],
        "andel": ["62 %", "döljs"],  # 8/13 = 61.5 %
        "ej_registrerat": ["7", "<5"],
    },
    "uppfoljning": {
        "forfallna": ["10", "<5"],
        "i_tid": ["5", "<5"],
        "inte_i_tid": ["5", "0"],
        "andel": ["50 %", "döljs"],
    },
    "avslut": {
        "behov_saknas": ["0", "0"],
        "samordning_behovs_inte": ["5", "0"],
        "familjen_avbojer": ["<5", "0"],
        "samtycke_aterkallat": ["0", "0"],
        "flyttat": ["<5", "<5"],
        "fyller_21": ["0", "0"],
        "annat": ["0", "0"],
        "ovrigt": ["0", "0"],
    },
    # 5 in time (one with the oral part not needed), 6 late (3 done after the deadline, 3
    # never done): 5/11 = 45.5 %. 2024: p2 and p3, both in time.
    "halsoundersokning": {
        "placeringar": ["11", "<5"],
        "i_tid": ["5", "<5"],
        "inte_i_tid": ["6", "0"],
        "avgors_senare": ["0", "0"],
        "andel": ["45 %", "döljs"],
    },
    # Started: Dec 1 is hidden with Nov 5 and Feb 6 (Nov alone would pin Dec to 1).
    # c10 (1 Feb 00:30) is February, c29 (31 Dec 23:30) December, 1 Jan 2026 00:30 not 2025.
    "per_manad": {
        "2025-01": ["10", "0"],
        "2025-02": ["döljs", "<5"],
        "2025-03": ["8", "0"],
        **{f"2025-{m:02d}": ["0", "0"] for m in range(4, 11)},
        "2025-11": ["döljs", "0"],
        "2025-12": ["<5", "döljs"],
    },
}


def test_one_area_every_figure(session: Session, world: World, registry: WorkflowRegistry) -> None:
    data = build_dataset(session, world)
    assert report_for(session, registry, "2025", data.centrum) == CENTRUM_2025


def test_all_areas_every_figure(session: Session, world: World, registry: WorkflowRegistry) -> None:
    data = build_dataset(session, world)
    got = report_for(session, registry, "2025", None)
    expected = {key: dict(rows) for key, rows in CENTRUM_2025.items()}
    expected["oversikt"] = {
        "startade": ["36", "8"],
        "pagaende": ["43", "8"],
        "avslutade": ["8", "<5"],
    }
    expected["skal"]["annat"] = ["6", "0"]
    expected["initiativ"]["skola"] = ["15", "0"]
    # Angered's 16 days: n=13, rank 7 → 11, rank 12 → 40.
    expected["tid_till_mote"] = {
        "antal": ["13", "<5"],
        "median": ["11", "döljs"],
        "p90": ["40", "döljs"],
    }
    expected["barnet_deltog"] = {
        "registrerade": ["14", "<5"],
        "deltog": ["9", "<5"],
        "deltog_inte": ["5", "0"],
        "andel": ["64 %", "döljs"],
        "ej_registrerat": ["7", "<5"],
    }
    expected["per_manad"]["2025-06"] = ["6", "0"]
    # Angered's a0 placement, in time: 6/12.
    expected["halsoundersokning"] = {
        "placeringar": ["12", "<5"],
        "i_tid": ["6", "<5"],
        "inte_i_tid": ["6", "0"],
        "avgors_senare": ["0", "0"],
        "andel": ["50 %", "döljs"],
    }
    expected["per_omrade"] = {
        str(data.angered.id): ["6", "6", "0"],
        str(data.centrum.id): ["30", "37", "8"],
    }
    assert got == expected


def test_previous_period_of_a_quarter_and_a_month(
    session: Session, world: World, registry: WorkflowRegistry
) -> None:
    data = build_dataset(session, world)
    # 2025-K1 against 2024-K4: started Jan–Mar 24 (c0–c23) against 0; p1 closed in Feb.
    q1 = report_for(session, registry, "2025-K1", data.centrum)
    assert q1["oversikt"] == {
        "startade": ["24", "0"],
        "pagaende": ["31", "7"],
        "avslutade": ["<5", "0"],
    }
    assert list(q1["per_manad"]) == ["2025-01", "2025-02", "2025-03"]
    # 2025-02 against 2025-01: c10 (1 Feb 00:30 Swedish time) belongs to February.
    feb = report_for(session, registry, "2025-02", data.centrum)
    assert feb["oversikt"]["startade"] == ["6", "10"]


def test_an_empty_period_shows_zeros_and_dashes(
    session: Session, world: World, registry: WorkflowRegistry
) -> None:
    got = report_for(session, registry, "2030", world.area)
    assert got["oversikt"] == {k: ["0", "0"] for k in ("startade", "pagaende", "avslutade")}
    assert got["tid_till_mote"] == {"antal": ["0", "0"], "median": ["–", "–"], "p90": ["–", "–"]}
    assert got["barnet_deltog"]["andel"] == ["–", "–"]


def test_a_placement_inside_its_deadline_is_not_yet_judged(registry: WorkflowRegistry) -> None:
    from datetime import timedelta

    from sip_engine.clock import stockholm
    from sip_engine.models import HealthExamRequest
    from sip_engine.services.placements import exams_outcome

    requested = stockholm(2026, 2, 20, 10)

    def part(done_on: date | None) -> HealthExamRequest:
        return HealthExamRequest(
            workflow_name="halsoundersokning",
            workflow_version=1,
            status="genomford" if done_on else "begard",
            requested_at=requested,
            done_on=done_on,
        )

    waiting = [part(date(2026, 3, 1)), part(None)]
    assert exams_outcome(registry, waiting, date(2026, 3, 20)) is None  # day 28: still open
    assert exams_outcome(registry, waiting, date(2026, 3, 21)) is False  # day 29: late
    done = [part(date(2026, 3, 1)), part(requested.date() + timedelta(days=28))]
    assert exams_outcome(registry, done, date(2026, 3, 21)) is True
    assert exams_outcome(registry, [], date(2026, 3, 21)) is None  # nothing requested
