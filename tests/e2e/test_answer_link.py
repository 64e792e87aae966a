"""A participant without an account answers the kallelse through the personal link in the
e-mail: opening the link only shows the meeting (mail scanners open every link); choosing a
substitute records the answer and invites the substitute with a kallelse of their own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from sip_engine.clock import FixedClock
from sip_engine.models import (
    Answer,
    Case,
    Invitation,
    Meeting,
    OutboxMessage,
    OutboxStatus,
    Participant,
)
from sip_engine.runtime import Runtime

from ..world import CaseBuilder, World

if TYPE_CHECKING:
    from playwright.sync_api import Page

Expect = Callable[..., Any]


def _counts(db_engine: Engine) -> tuple[int, int, int]:
    with Session(db_engine) as s:
        return (
            s.scalar(select(func.count()).select_from(Participant)) or 0,
            s.scalar(select(func.count()).select_from(Invitation)) or 0,
            s.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
        )


@dataclass(frozen=True)
class Called:
    runtime: Runtime
    case: Case
    meeting: Meeting
    karin: Participant
    invitation: Invitation
    url: str  # the link in Karin's e-mail

    @property
    def path(self) -> str:
        return urlsplit(self.url).path


def _call_meeting(app: Flask, session: Session, world: World, clock: FixedClock) -> Called:
    """The coordinator calls the meeting through the app's own engine, so the kallelse is
    queued by the notifier (secret and base URL) the live server checks links with."""
    runtime: Runtime = app.extensions["sip_runtime"]
    case = CaseBuilder(session, world, runtime.workflow, clock).case_in("kalla")
    meeting = session.scalars(select(Meeting).where(Meeting.case_id == case.id)).one()
    karin = session.scalars(
        select(Participant).where(
            Participant.case_id == case.id, Participant.professional_id == world.teacher.id
        )
    ).one()  # the school's mentor: no account in the system
    invitation = session.scalars(
        select(Invitation).where(
            Invitation.meeting_id == meeting.id, Invitation.participant_id == karin.id
        )
    ).one()
    url = runtime.notifier.answer_url(invitation)
    assert url.startswith(f"{runtime.settings.base_url}/svar/")
    mail = session.scalars(
        select(OutboxMessage).where(OutboxMessage.invitation_id == invitation.id)
    ).one()
    assert url in mail.body_text  # the very link Karin gets by e-mail
    return Called(runtime, case, meeting, karin, invitation, url)


def _send_substitute(page: Page, expect: Expect, name: str, email: str) -> None:
    page.get_by_label("Jag skickar en ersättare").check()
    page.get_by_label("Ersättarens namn").fill(name)
    page.get_by_label("Ersättarens e-post").fill(email)
    with page.expect_navigation():  # the answer page comes back from the POST
        page.get_by_role("button", name="Skicka svar").click()
    expect(page.get_by_role("status")).to_have_text("Tack! Ditt svar är registrerat.")


def test_participant_sends_a_substitute_through_the_personal_link(
    app: Flask,
    page: Page,
    expect: Expect,
    assert_accessible: Callable[[Page], None],
    world: World,
    session: Session,
    db_engine: Engine,
    clock: FixedClock,
) -> None:
    called = _call_meeting(app, session, world, clock)
    case, meeting, karin, invitation = called.case, called.meeting, called.karin, called.invitation
    runtime, url, path = called.runtime, called.url, called.path
    before = _counts(db_engine)

    # Opening the link (twice, as a mail scanner and then Karin would) shows the meeting.
    response = page.goto(path)
    assert response is not None and response.status == 200
    page.reload()
    assert urlsplit(page.url).path == path  # no sign-in asked for
    expect(page.get_by_role("heading", level=1)).to_have_text("SIP-möte 2026-03-16 09:00")
    facts = page.locator("dl.facts")
    for shown in (
        case.reference,
        "Stadsdelshuset, rum 3",
        "Hur får Alva en fungerande skolgång?",
        "Karin Lärare",
    ):
        expect(facts).to_contain_text(shown)
    assert_accessible(page)

    # ... and changes nothing.
    assert _counts(db_engine) == before
    with Session(db_engine) as s:
        opened = s.get_one(Invitation, invitation.id)
        assert opened.answer is None and opened.answered_at is None
        assert opened.substitute_participant_id is None

    _send_substitute(page, expect, "Lena Vikarie", "lena.vikarie@example.se")
    answer = page.locator("p", has_text="Ditt svar:")
    expect(answer).to_contain_text("Jag skickar en ersättare")
    expect(page.get_by_role("heading", level=2)).to_have_text("Ändra ditt svar")
    assert_accessible(page)
    # Opened again: the answer, with the substitute's name.
    page.goto(path)
    expect(answer).to_contain_text("Jag skickar en ersättare (Lena Vikarie)")
    expect(page.get_by_role("radio", name="Jag skickar en ersättare")).to_be_checked()

    participants, invitations, messages = _counts(db_engine)
    assert (participants, invitations, messages) == (before[0] + 1, before[1] + 1, before[2] + 1)
    with Session(db_engine) as s:
        answered = s.get_one(Invitation, invitation.id)
        assert answered.answer is Answer.ERSATTARE
        assert answered.answered_at == clock.now()
        assert answered.answered_sequence == meeting.sequence
        assert answered.answer_reason is None
        substitute = answered.substitute
        assert substitute is not None
        assert (substitute.case_id, substitute.name, substitute.email) == (
            case.id,
            "Lena Vikarie",
            "lena.vikarie@example.se",
        )
        assert substitute.kind is karin.kind
        assert substitute.organisation_id == karin.organisation_id  # "Samma som min"
        assert substitute.removed_at is None
        own = s.scalars(
            select(Invitation).where(
                Invitation.meeting_id == meeting.id, Invitation.participant_id == substitute.id
            )
        ).one()
        assert own.answer is None and own.link_nonce != invitation.link_nonce
        queued = s.scalars(select(OutboxMessage).where(OutboxMessage.invitation_id == own.id)).one()
        assert queued.to_address == "lena.vikarie@example.se"
        assert queued.to_name == "Lena Vikarie"
        assert queued.status is OutboxStatus.PENDING and queued.attempts == 0
        assert queued.case_id == case.id
        assert queued.kind == "kallelse"
        # The substitute's own link, not Karin's.
        assert runtime.notifier.answer_url(own) in queued.body_text
        assert url not in queued.body_text


def test_confirmation_names_the_substitute_just_chosen(
    app: Flask,
    page: Page,
    expect: Expect,
    world: World,
    session: Session,
    clock: FixedClock,
) -> None:
    called = _call_meeting(app, session, world, clock)
    page.goto(called.path)
    answer = page.locator("p", has_text="Ditt svar:")
    # Checked at once, not waited for: the page has already loaded with the status shown.
    _send_substitute(page, expect, "Lena Vikarie", "lena.vikarie@example.se")
    assert "(Lena Vikarie)" in answer.inner_text()
    _send_substitute(page, expect, "Per Ersättare", "per.ersattare@example.se")
    assert "(Per Ersättare)" in answer.inner_text()
    assert "Lena" not in answer.inner_text()
