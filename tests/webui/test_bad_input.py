"""Bad input on every form and every path: a form error or a 404, never a 500, and a rejected
post changes nothing.

The forms are found in ``app.url_map`` (every rule that takes POST), so a new form without an
entry in ``FORMS`` fails ``test_every_form_has_an_entry``. Hypothesis draws each field from
values a browser never sends (NUL bytes, 2³¹+1, 2⁶³, 2⁶⁴, "²", other scripts' digits, dates at
the ends of Python's range, huge durations, very long and empty strings, a file) mixed with
valid ones, so the posts also get past the first check. Runs on SQLite and PostgreSQL.

One world per test and endpoint (built once, as the other web tests do): the examples share it
on purpose, since what a successful post writes is the state the next example works on; the
property is checked per example against a snapshot taken just before it. Hence the
function-scoped-fixture health check is suppressed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from werkzeug.datastructures import FileStorage, MultiDict

from sip_engine.clock import local_date
from sip_engine.models import (
    Answer,
    Base,
    Consent,
    EventKind,
    HealthExamPart,
    Invitation,
    MeetingFormat,
    PlacementBasis,
    PlacementForm,
    Role,
)
from sip_engine.notify import Notifier
from sip_engine.services import meetings as meeting_service
from sip_engine.services import placements as placement_service
from sip_engine.services.common import ValidationError
from sip_engine.workflow import WorkflowRegistry
from webui.forms import DAY_RANGE_MESSAGE, MAX_DB_INT, FormReader, TriggerConverter, parse_int

from ..placement_helpers import folktandvarden, new_placement
from ..world import PASSWORD, CaseBuilder, World
from .conftest import csrf_token, login

EXAMPLES = 12  # per form and backend: the whole file stays well under a minute per backend


class _File:
    def __repr__(self) -> str:
        return "FILE"


FILE = _File()  # a field sent as an uploaded file (multipart)

NASTY: list[Any] = [
    "",
    " ",
    "\x00",
    "Anna\x00Berg",
    str(2**31 + 1),
    str(2**63 - 1),
    str(2**63),
    str(2**64),
    str(10**40),
    "-1",
    "0",
    "²",
    "١٢",
    "1e3",
    "0001-01-01",
    "9999-12-31",
    "0001-01-01T00:00",
    "9999-12-31T23:59",
    "2026-02-30",
    "x" * 5000,
    "å" * 300,
    FILE,
]

# Tables a refused request is meant to write: its read audit, a sign-in attempt.
RECORDS_OF_THE_REQUEST = {"access_log", "login_attempt"}


@dataclass
class Place:
    """What the forms work on: ids and tokens from one built world."""

    world: World
    case_id: int
    participant_ids: list[int]
    consent_ids: list[int]
    relative_ids: list[int]
    organisation_ids: list[int]
    region_ids: list[int]
    professional_ids: list[int]
    placement_id: int
    exam_ids: list[int]
    exam_token: str
    answer_token: str
    invitation_ids: list[int]
    sip_triggers: list[str]
    placement_triggers: list[str]
    exam_triggers: list[str]


Fields = Callable[[Place], dict[str, st.SearchStrategy[Any]]]
Paths = Callable[[Place], dict[str, st.SearchStrategy[str]]]


@dataclass
class Form:
    user: str | None  # the World attribute of the user signed in, None: no one
    fields: Fields
    paths: Paths = field(default=lambda p: {})
    sign_in_each_time: bool = False  # the form signs out


# Each field's strategy draws values the form accepts; each example then spoils a few fields
# with NASTY values (or leaves them out), so a post gets past the first check often enough to
# reach the services and the database with the rest.


def ids(values: list[int]) -> st.SearchStrategy[Any]:
    return st.sampled_from([str(v) for v in values])


def id_list(values: list[int]) -> st.SearchStrategy[Any]:
    return st.lists(ids(values), min_size=1, max_size=3, unique=True)


def _mostly(valid: list[str], bad: list[str]) -> st.SearchStrategy[str]:
    return st.sampled_from(valid * (3 * len(bad) // len(valid) + 1) + bad)  # about 3 in 4 valid


def path_id(values: list[int]) -> st.SearchStrategy[str]:
    extremes = ["0", str(2**31 + 1), str(MAX_DB_INT), str(2**63), str(2**64), "²", "١٢", "-1"]
    return _mostly([str(v) for v in values], extremes)


def path_word(words: list[str]) -> st.SearchStrategy[str]:
    return st.one_of(st.sampled_from(words), st.sampled_from(["\x00", "x" * 300, "²", "ok"]))


TEXT = st.one_of(st.just("Något att säga."), st.text(max_size=40))
DAY = st.sampled_from(["2026-02-20", "2026-03-01", "2026-03-10", "2026-06-01"])
PAST_DAY = st.sampled_from(["2026-02-20", "2026-03-01", "2026-03-02"])
EMAIL = st.sampled_from(["kontakt@example.se", "ny@example.se"])
USERNAME = st.text("abcdefghijklmnopqrstuvwxyz.-", min_size=3, max_size=12)
MOMENT = st.sampled_from(["2026-03-20T10:00", "2026-04-02T13:30"])
FLAG = st.sampled_from(["", "1", "on"])


def choice(*values: str) -> st.SearchStrategy[Any]:
    return st.sampled_from(values)


def choices(*values: str) -> st.SearchStrategy[Any]:
    return st.lists(choice(*values), min_size=1, max_size=3, unique=True)


def _case_paths(p: Place) -> dict[str, st.SearchStrategy[str]]:
    return {"case_id": path_id([p.case_id])}


FORMS: dict[str, Form] = {
    "auth.login": Form(
        None,
        lambda p: {
            "username": choice("samordnare", "admin"),
            "password": st.one_of(st.just(PASSWORD), TEXT),
        },
    ),
    "auth.logout": Form("coordinator", lambda p: {}, sign_in_each_time=True),
    "auth.language": Form(None, lambda p: {"lang": choice("sv", "en"), "next": TEXT}),
    "admin.users": Form(
        "admin",
        lambda p: {
            "username": USERNAME,
            "display_name": TEXT,
            "role": choice(*(r.value for r in Role)),
            "organisation_id": ids(p.organisation_ids),
            "password": st.just("ett-långt-lösenord-123"),
            "professional_id": ids(p.professional_ids),
        },
    ),
    "admin.toggle_user": Form(
        "admin",
        lambda p: {"active": FLAG},
        # Not the admin's own account: that would sign the test out.
        lambda p: {"user_id": path_id([p.world.coordinator.id, p.world.bup_user.id])},
    ),
    "admin.reset_password": Form(
        "admin",
        lambda p: {"password": st.one_of(st.just("ett-nytt-långt-lösenord-9"), TEXT)},
        lambda p: {"user_id": path_id([p.world.coordinator.id, p.world.bup_user.id])},
    ),
    "cases.substitute": Form(
        "coordinator",
        lambda p: {"decision": choice("godkann", "avsla"), "version": ids([1, 2, 3, 4, 5, 6])},
        lambda p: {"case_id": path_id([p.case_id]), "invitation_id": path_id(p.invitation_ids)},
    ),
    "cases.resend_message": Form(
        "coordinator",
        lambda p: {},
        lambda p: {"case_id": path_id([p.case_id]), "message_id": path_id([1, 2, 3])},
    ),
    "admin.resend_messages": Form("admin", lambda p: {"message_id": ids([1, 2, 3])}),
    "admin.organisations": Form(
        "admin",
        lambda p: {
            "name": TEXT,
            "party": choice("kommun", "region", "skola", "annan"),
            "kind": TEXT,
            "huvudman": TEXT,
            "kommun": TEXT,
            "nosam_area_id": ids([p.world.area.id]),
        },
    ),
    "cases.new_case": Form(
        "coordinator",
        lambda p: {
            "first_name": st.just("Nils"),
            "last_name": st.just("Holgersson"),
            "identity_number": st.just("20120503-1238"),
            "birth_date": DAY,
            "protected_identity": FLAG,
            "address": TEXT,
            "school_id": ids([p.world.school.id]),
            "guardian1_name": TEXT,
            "guardian1_email": EMAIL,
            "need_description": TEXT,
            "reasons": choices("skolfranvaro", "psykisk_ohalsa"),
            "raised_by": choice("skola", "familj"),
            "raised_by_organisation_id": ids(p.organisation_ids),
            "raised_by_name": TEXT,
            "raised_on": PAST_DAY,
            "nosam_area_id": ids([p.world.area.id]),
            "involved": id_list(p.organisation_ids),
        },
    ),
    "cases.fire": Form(
        "coordinator",
        lambda p: {"version": ids([1, 2, 3, 4, 5, 6]), "reason": TEXT, "reason_code": TEXT},
        lambda p: {"case_id": path_id([p.case_id]), "trigger": path_word(p.sip_triggers)},
    ),
    "cases.child_voice": Form(
        "coordinator",
        lambda p: {"child_voice": TEXT, "child_voice_missing_reason": TEXT},
        _case_paths,
    ),
    "cases.participants": Form(
        "coordinator",
        lambda p: {
            "person": st.sampled_from(
                [f"pro:{i}" for i in p.professional_ids]
                + [f"rel:{i}" for i in p.relative_ids]
                + [f"pro:{2**31 + 1}", f"pro:{2**64}", "rel:²", "pro:\x00", ":"]
            ),
            "roles": choices("kontaktperson", "motesledare"),
            "organisation_id": ids(p.organisation_ids),
            "name": TEXT,
            "email": EMAIL,
            "phone": st.sampled_from(["031-123 45 67", ""]),
        },
        _case_paths,
    ),
    "cases.remove_participant": Form(
        "coordinator",
        lambda p: {},
        lambda p: {"case_id": path_id([p.case_id]), "participant_id": path_id(p.participant_ids)},
    ),
    "cases.consent": Form(
        "coordinator",
        lambda p: {
            "form": choice("skriftlig", "muntlig"),
            "organisation_ids": id_list(p.organisation_ids),
            "valid_from": DAY,
            "valid_until": DAY,
            "information_categories": choices("skola", "psykisk_halsa"),
            "given_by": id_list(p.relative_ids),
            "given_by_young_person": FLAG,
            "child_view": TEXT,
            "exclusions": TEXT,
        },
        _case_paths,
    ),
    "cases.revoke_consent": Form(
        "coordinator",
        lambda p: {"reason": TEXT},
        lambda p: {"case_id": path_id([p.case_id]), "consent_id": path_id(p.consent_ids)},
    ),
    "cases.meeting": Form(
        "coordinator",
        lambda p: {
            "starts_at": MOMENT,
            "duration": st.sampled_from(["90", "480", "481", str(10**12)]),
            "format": choice("pa_plats", "video"),
            "location": TEXT,
            "video_link": TEXT,
            "questions": TEXT,
            "leader": ids(p.participant_ids),
            "recorder": ids(p.participant_ids),
        },
        _case_paths,
    ),
    "cases.attendance": Form(
        "coordinator",
        lambda p: {"present": id_list(p.participant_ids), "child_attended": choice("ja", "nej")},
        _case_paths,
    ),
    "cases.plan": Form(
        "coordinator",
        lambda p: {
            "child_voice": TEXT,
            "guardians_view": TEXT,
            "needs": TEXT,
            "goals": TEXT,
            "other_actions": TEXT,
            "insats0_description": TEXT,
            "insats0_organisation": ids(p.organisation_ids),
            "insats0_contact": TEXT,
            "lead_organisation_id": ids(p.organisation_ids),
            "samordningsansvarig": ids(p.participant_ids),
            "next_follow_up": DAY,
            "note_hidden_from_guardians": TEXT,
        },
        _case_paths,
    ),
    "placements.new_placement": Form(
        "coordinator",
        lambda p: {
            "first_name": st.just("Nils"),
            "last_name": st.just("Holgersson"),
            "identity_number": st.just("20120503-1238"),
            "birth_date": DAY,
            "form": choice(*(f.value for f in PlacementForm)),
            "legal_basis": choice(*(b.value for b in PlacementBasis)),
            "start_date": PAST_DAY,
            "planned_end": st.sampled_from(["2026-06-01", "2027-03-01"]),
            "placing_kommun": TEXT,
            "receiving_kommun": TEXT,
            "receiving_area_id": ids([p.world.area.id]),
            "vardcentral_organisation_id": ids(p.region_ids),
            "vardcentral_contact_name": TEXT,
            "vardcentral_contact_email": EMAIL,
            "tandvard_organisation_id": ids(p.region_ids),
            "tandvard_contact_name": TEXT,
            "tandvard_contact_email": EMAIL,
        },
    ),
    "placements.fire": Form(
        "coordinator",
        lambda p: {"reason": TEXT, "ended_on": DAY, "version": ids([1, 2, 3])},
        lambda p: {
            "placement_id": path_id([p.placement_id]),
            "trigger": path_word(p.placement_triggers),
        },
    ),
    "placements.fire_exam": Form(
        "coordinator",
        lambda p: {
            "offered_time": MOMENT,
            "done_on": DAY,
            "statement_on": DAY,
            "reason": TEXT,
            "version": ids([1, 2, 3]),
        },
        lambda p: {
            "placement_id": path_id([p.placement_id]),
            "exam_id": path_id(p.exam_ids),
            "trigger": path_word(p.exam_triggers),
        },
    ),
    "placements.region_link": Form(
        None,
        lambda p: {
            "trigger": choice("erbjud_tid", "genomford"),
            "offered_time": MOMENT,
            "done_on": DAY,
        },
        lambda p: {"token": st.sampled_from([p.exam_token, p.exam_token + "x", "\x00", "²"])},
    ),
    "placements.region_update": Form(
        "other_deltagare",
        lambda p: {"offered_time": MOMENT, "done_on": DAY, "version": ids([1, 2])},
        lambda p: {"exam_id": path_id(p.exam_ids), "trigger": path_word(p.exam_triggers)},
    ),
    "answers.answer": Form(
        None,
        lambda p: {
            "answer": choice(*(a.value for a in Answer)),
            "reason": TEXT,
            "substitute_name": TEXT,
            "substitute_email": EMAIL,
            "substitute_organisation_id": ids(p.organisation_ids),
        },
        lambda p: {"token": st.sampled_from([p.answer_token, p.answer_token + "x", "\x00"])},
    ),
}


def _post_rules(app: Flask) -> dict[str, str]:
    return {
        rule.endpoint: rule.rule
        for rule in app.url_map.iter_rules()
        if rule.methods and "POST" in rule.methods
    }


def test_every_form_has_an_entry(app: Flask) -> None:
    """A new form without strategies here fails: bad input must be tried on every form."""
    assert set(_post_rules(app)) == set(FORMS)


def test_every_trigger_of_every_workflow_has_a_name_its_path_takes(
    registry: WorkflowRegistry,
) -> None:
    for name in ("sip", "placement", placement_service.EXAM_WORKFLOW):
        for trigger in registry.latest(name).triggers:
            assert re.fullmatch(TriggerConverter.regex, trigger), (name, trigger)


# ---------------------------------------------------------------------------- the world


@pytest.fixture
def place(
    mail_builder: CaseBuilder,
    world: World,
    registry: WorkflowRegistry,
    notifier: Notifier,
) -> Place:
    session = mail_builder.session
    case = mail_builder.case_in("kalla")  # participants, a consent, a meeting, invitations
    ftv = folktandvarden(session, world)
    placement = placement_service.register_placement(
        session,
        registry,
        notifier,
        world.actor,
        mail_builder.now,
        new_placement(world, ftv, local_date(mail_builder.now)),
    )
    session.commit()
    exam = next(e for e in placement.health_exams if e.part is HealthExamPart.FYSISK_PSYKISK)
    invitation = session.scalars(select(Invitation)).first()
    assert invitation is not None
    return Place(
        world=world,
        case_id=case.id,
        participant_ids=[p.id for p in case.active_participants],
        consent_ids=list(session.scalars(select(Consent.id).where(Consent.case_id == case.id))),
        relative_ids=[r.id for r in world.child.relatives],
        organisation_ids=[world.unit.id, world.school.id, world.bup.id, world.vardcentral.id],
        region_ids=[world.vardcentral.id, ftv.id],
        professional_ids=[world.teacher.id, world.bup_doctor.id, world.nurse.id],
        placement_id=placement.id,
        exam_ids=[e.id for e in placement.health_exams],
        exam_token=placement_service.exam_link(notifier, exam).split("/halsoundersokning/")[1],
        answer_token=notifier.links.token(
            invitation.id, invitation.meeting_id, invitation.participant_id, invitation.link_nonce
        ),
        invitation_ids=list(session.scalars(select(Invitation.id))),
        sip_triggers=sorted(registry.latest("sip").triggers),
        placement_triggers=sorted(registry.latest("placement").triggers),
        exam_triggers=sorted(registry.latest(placement_service.EXAM_WORKFLOW).triggers),
    )


# ---------------------------------------------------------------------------- the property


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the request's own records (and a refusal in the case's
    history, which is recorded on purpose)."""
    tables: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in RECORDS_OF_THE_REQUEST:
                continue
            stmt = select(table)
            if table.name == "case_event":
                stmt = stmt.where(table.c.kind != EventKind.TRANSITION_REFUSED)
            rows = connection.execute(stmt.order_by(*table.primary_key.columns)).all()
            tables[table.name] = [tuple(row) for row in rows]
    return tables


def _encode(value: Any) -> Any:
    if value is FILE:
        return FileStorage(io.BytesIO(b"\x00file"), filename="fil.txt")
    if isinstance(value, list):
        return [_encode(v) for v in value]
    return value


def _short(data: dict[str, Any]) -> dict[str, str]:
    return {k: repr(v)[:60] for k, v in data.items()}


def _refused(client: FlaskClient, status: int) -> bool:
    with client.session_transaction() as session:
        flashes = session.pop("_flashes", [])
    if status >= 400:
        return True
    return any(category == "error" for category, _message in flashes)


@pytest.mark.parametrize("endpoint", sorted(FORMS))
def test_bad_input_is_a_form_error_and_changes_nothing(
    endpoint: str, app: Flask, client: FlaskClient, place: Place, db_engine: Engine
) -> None:
    form = FORMS[endpoint]
    rule = _post_rules(app)[endpoint]
    user = getattr(place.world, form.user) if form.user else None
    if user is not None:
        login(client, user.username)
    token = csrf_token(client, "/logga-in")
    valid_fields = form.fields(place)
    fields = st.fixed_dictionaries(valid_fields)
    spoilt = st.dictionaries(
        st.sampled_from(sorted(valid_fields) or ["none"]),
        st.sampled_from([*NASTY, None]),  # None: the field is left out
        max_size=3,
    )
    paths = st.fixed_dictionaries(form.paths(place))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,  # the same examples on every run and in CI
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(data=fields, bad=spoilt, path_values=paths)
    def post(data: dict[str, Any], bad: dict[str, Any], path_values: dict[str, str]) -> None:
        data = {**data, **bad}
        if form.sign_in_each_time and user is not None:
            login(client, user.username)
        path = rule
        for name, value in path_values.items():
            path = re.sub(rf"<(\w+:)?{name}>", quote(value, safe=""), path)
        body = {k: _encode(v) for k, v in data.items() if v is not None}
        body["csrf_token"] = csrf_token(client) if form.sign_in_each_time else token
        before = snapshot(db_engine)
        response = client.post(path, data=body)
        assert response.status_code != 500, (path, _short(data))
        refused = _refused(client, response.status_code)
        if refused:
            assert snapshot(db_engine) == before, (path, _short(data), response.status_code)

    post()


# ---------------------------------------------------------------------------- paths and filters

FILTER_NAMES = [
    "area",
    "coordinator",
    "page",
    "state",
    "reason",
    "q",
    "sort",
    "mine",
    "attention",
    "form",
    "period",
    "omrade",
    "tabell",
    "version",
    "next",
]


def _get_rules(app: Flask) -> list[str]:
    return sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.methods and "GET" in rule.methods and rule.endpoint != "static"
    )


@pytest.mark.parametrize("user", ["coordinator", "admin", "other_deltagare"])
def test_paths_and_filters_out_of_range_are_a_404_or_left_out_never_a_500(
    user: str, app: Flask, client: FlaskClient, place: Place
) -> None:
    login(client, getattr(place.world, user).username)
    rules = _get_rules(app)
    word = st.sampled_from(["sip", "\x00", "²", "x" * 300])

    @settings(
        max_examples=EXAMPLES * 3,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )
    @given(
        rule=st.sampled_from(rules),
        number=path_id([place.case_id, place.placement_id]),
        name=word,
        query=st.dictionaries(
            st.sampled_from(FILTER_NAMES),
            st.sampled_from(
                [v for v in NASTY if v is not FILE] + ["1", "2026", "2026-Q1", "opened_desc"]
            ),
            max_size=4,
        ),
    )
    def get(rule: str, number: str, name: str, query: dict[str, str]) -> None:
        path = rule
        while "<" in path:
            start = path.index("<")
            end = path.index(">", start)
            value = number if path[start:end].startswith("<int:") else name
            path = path[:start] + quote(value, safe="") + path[end + 1 :]
        response = client.get(path, query_string=query)
        assert response.status_code != 500, (path, query)
        with client.session_transaction() as session:
            session.pop("_flashes", None)

    get()


# ---------------------------------------------------------------------------- the rules, one by one


def test_one_integer_parser_takes_ascii_digits_within_the_database_s_range() -> None:
    assert parse_int("42") == 42 and parse_int(" 7 ") == 7
    assert parse_int(str(MAX_DB_INT)) == MAX_DB_INT == 2**31 - 1
    for raw in ["", " ", "²", "١٢", "-1", "1e3", "4 2", "\x00", str(2**31), str(2**63), "9" * 5000]:
        assert parse_int(raw) is None, raw
    assert parse_int("0", minimum=1) is None and parse_int("481", maximum=480) is None


def test_form_reader_refuses_nul_far_dates_and_numbers_out_of_range() -> None:
    f = FormReader(
        MultiDict(
            {
                "name": "Anna\x00Berg",
                "lines": "ett\n\x00två",
                "early": "0001-01-01",
                "late": "9999-12-31",
                "moment": "9999-12-31T23:59",
                "dawn": "0001-01-01T00:00",
                "ok_day": "2026-03-10",
                "big": str(2**31 + 1),
                "super": "²",
                "many": "12",
            }
        )
    )
    f.form.add("many", str(2**64))
    assert f.text("name") == "" and f.lines("lines") == []
    assert f.day("early") is None and f.day("late") is None
    assert f.local_datetime("moment") is None and f.local_datetime("dawn") is None
    assert f.day("ok_day") == date(2026, 3, 10)
    assert f.integer("big") is None and f.integer("super") is None
    assert f.integers("many") == [12]
    assert set(f.errors) == {
        "name",
        "lines",
        "early",
        "late",
        "moment",
        "dawn",
        "big",
        "super",
        "many",
    }
    assert f.errors["late"] == f.errors["dawn"] == DAY_RANGE_MESSAGE
    assert DAY_RANGE_MESSAGE == "Datumet måste ligga mellan 1900-01-01 och 2199-12-31."


@pytest.mark.parametrize(
    "number", [str(2**31 + 1), str(2**63), str(2**64), "9" * 40, "0", "١٢", "²"]
)
def test_an_id_in_a_path_beyond_the_database_s_range_is_a_404(
    coordinator_client: FlaskClient, place: Place, number: str
) -> None:
    for path in (f"/arenden/{quote(number)}", f"/placeringar/{quote(number)}"):
        assert coordinator_client.get(path).status_code == 404
    token = csrf_token(coordinator_client)
    response = coordinator_client.post(
        f"/arenden/{place.case_id}/samtycke/{quote(number)}/aterkalla",
        data={"csrf_token": token, "reason": "x"},
    )
    assert response.status_code == 404


def test_filters_beyond_the_range_are_left_out_not_a_500(
    coordinator_client: FlaskClient, place: Place
) -> None:
    for query in (
        {"page": str(2**63)},
        {"page": str(MAX_DB_INT)},
        {"area": str(2**64), "coordinator": "²"},
        {"q": "Alva\x00"},
    ):
        assert coordinator_client.get("/arenden", query_string=query).status_code == 200, query
    assert coordinator_client.get("/placerade-barn", query_string={"area": "²"}).status_code == 200
    login(coordinator_client, place.world.manager.username)  # the reports are the chef's
    report = coordinator_client.get("/rapporter/", query_string={"omrade": str(2**63)})
    assert report.status_code == 400 and "Välj ett NOSAM-område i listan." in report.get_data(
        as_text=True
    )


def test_a_meeting_longer_than_eight_hours_is_a_form_error(
    coordinator_client: FlaskClient, place: Place, db_engine: Engine
) -> None:
    token = csrf_token(coordinator_client)
    before = snapshot(db_engine)
    for duration in ("481", str(10**12), str(2**63), "0"):
        response = coordinator_client.post(
            f"/arenden/{place.case_id}/mote",
            data={
                "csrf_token": token,
                "starts_at": "2026-03-20T10:00",
                "duration": duration,
                "format": "pa_plats",
                "location": "Stadsdelshuset",
            },
        )
        assert response.status_code == 400, duration
        assert "Ange längden i hela minuter, från 1 till 480." in response.get_data(as_text=True)
    assert snapshot(db_engine) == before


@pytest.mark.parametrize("moment", ["0001-01-01T00:00", "9999-12-31T23:59"])
def test_a_meeting_at_the_ends_of_the_calendar_is_a_form_error(
    coordinator_client: FlaskClient, place: Place, db_engine: Engine, moment: str
) -> None:
    token = csrf_token(coordinator_client)
    before = snapshot(db_engine)
    response = coordinator_client.post(
        f"/arenden/{place.case_id}/mote",
        data={
            "csrf_token": token,
            "starts_at": moment,
            "duration": "90",
            "format": "pa_plats",
            "location": "Stadsdelshuset",
        },
    )
    assert response.status_code == 400
    assert "Datumet måste ligga mellan 1900-01-01 och 2199-12-31." in response.get_data(
        as_text=True
    )
    assert snapshot(db_engine) == before


def test_nul_in_a_text_field_is_a_form_error_and_nothing_is_saved(
    coordinator_client: FlaskClient, place: Place, db_engine: Engine
) -> None:
    token = csrf_token(coordinator_client)
    before = snapshot(db_engine)
    response = coordinator_client.post(
        f"/arenden/{place.case_id}/barnets-rost",
        data={"csrf_token": token, "child_voice": "Jag vill\x00 vara med."},
    )
    assert response.status_code == 400
    assert "Texten innehåller ett otillåtet tecken." in response.get_data(as_text=True)
    assert snapshot(db_engine) == before


def test_the_sign_in_form_takes_text_only(
    client: FlaskClient, world: World, db_engine: Engine
) -> None:
    token = csrf_token(client)
    before = snapshot(db_engine)
    with_file = client.post(
        "/logga-in",
        data={
            "csrf_token": token,
            "username": (io.BytesIO(b"samordnare"), "namn.txt"),
            "password": PASSWORD,
        },
        content_type="multipart/form-data",
    )
    assert with_file.status_code == 400
    nul = client.post(
        "/logga-in",
        data={"csrf_token": token, "username": "samordnare\x00", "password": PASSWORD},
    )
    assert nul.status_code == 400
    assert "Texten innehåller ett otillåtet tecken." in nul.get_data(as_text=True)
    json_body = client.post(
        "/logga-in",
        json={"csrf_token": token, "username": ["samordnare"], "password": PASSWORD},
    )
    assert json_body.status_code == 400
    assert snapshot(db_engine) == before
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_a_new_case_naming_an_organisation_that_does_not_exist_is_a_form_error(
    coordinator_client: FlaskClient, world: World, db_engine: Engine
) -> None:
    token = csrf_token(coordinator_client, "/arenden/nytt")
    before = snapshot(db_engine)
    response = coordinator_client.post(
        "/arenden/nytt",
        data={
            "csrf_token": token,
            "first_name": "Nils",
            "last_name": "Holgersson",
            "identity_number": "20120503-1238",
            "school_id": "999",
            "need_description": "Oro för skolgången.",
            "reasons": ["skolfranvaro"],
            "raised_by": "skola",
            "raised_by_organisation_id": "998",
            "raised_on": "2026-03-01",
            "nosam_area_id": str(world.area.id),
        },
    )
    assert response.status_code == 400
    assert "Välj en skola i listan." in response.get_data(as_text=True)
    assert snapshot(db_engine) == before


def test_the_meeting_service_refuses_a_meeting_longer_than_eight_hours(
    builder: CaseBuilder,
) -> None:
    case = builder.case_in("forbered")
    starts = builder.now + timedelta(days=7)
    data = meeting_service.MeetingInput(
        starts_at=starts,
        ends_at=starts + meeting_service.MAX_MEETING_LENGTH + timedelta(minutes=1),
        format=MeetingFormat.PA_PLATS,
        location="Stadsdelshuset",
    )
    with pytest.raises(ValidationError) as refused:
        meeting_service.schedule_meeting(
            builder.session, case, builder.w.actor, builder.now, data, workflow=builder.engine
        )
    assert refused.value.errors == {"ends_at": "Ett möte kan vara högst 8 timmar (480 minuter)."}
    data.ends_at = starts + meeting_service.MAX_MEETING_LENGTH
    meeting_service.schedule_meeting(
        builder.session, case, builder.w.actor, builder.now, data, workflow=builder.engine
    )
