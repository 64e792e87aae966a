"""Named actions, run after a trigger's state change, inside the same transaction.

Actions only change rows; they do no I/O (mail goes through the outbox), because an
exception after the state change would not be rolled back by ``transitions``.
"""

from __future__ import annotations

from collections.abc import Callable

from sip_engine.writes import write_columns

from .context import TransitionContext

Action = Callable[[TransitionContext], None]

ACTIONS: dict[str, Action] = {}


def action(func: Action) -> Action:
    ACTIONS[func.__name__] = func
    return func


@action
def mark_closed(ctx: TransitionContext) -> None:
    ctx.case.closed_at = ctx.now
    ctx.case.close_reason = ctx.reason_code
    ctx.case.close_note = ctx.reason
    ctx.case.closed_by_id = ctx.actor.user_id


@action
def mark_reopened(ctx: TransitionContext) -> None:
    """A closed case opens again: the close is cleared from the case (it stays in the
    history, with the reason for reopening beside it)."""
    ctx.case.closed_at = None
    ctx.case.close_reason = None
    ctx.case.close_note = None
    ctx.case.closed_by_id = None


@action
def queue_case_closed(ctx: TransitionContext) -> None:
    """Tell every participant that the SIP has ended (the case reference only)."""
    if ctx.notifier is not None:
        ctx.notifier.case_closed(ctx.session, ctx.case, ctx.participants, ctx.now)


@action
def mark_meeting_called(ctx: TransitionContext) -> None:
    meeting = ctx.open_meeting
    if meeting is not None:
        write_columns(ctx.session, meeting, {"called_at": ctx.now})


@action
def cancel_meeting(ctx: TransitionContext) -> None:
    """Call off the open meeting; but a meeting under way in the state the case leaves
    (``mote``) has taken place: it is recorded held, and nobody is told it was cancelled."""
    meeting = ctx.open_meeting
    if meeting is None:
        return
    source = ctx.definition.states.get(ctx.source_state or "")
    if source is not None and source.meeting_under_way:
        meeting.held_at = ctx.now
        return
    meeting.cancelled_at = ctx.now
    meeting.cancel_reason = ctx.reason
    meeting.sequence += 1


@action
def mark_meeting_held(ctx: TransitionContext) -> None:
    meeting = ctx.open_meeting
    if meeting is not None:
        meeting.held_at = ctx.now


@action
def adopt_plan(ctx: TransitionContext) -> None:
    plan = ctx.draft_plan
    if plan is not None:
        plan.adopted_at = ctx.now
        plan.adopted_by_id = ctx.actor.user_id
        if ctx.open_meeting is not None:
            plan.meeting_id = ctx.open_meeting.id


@action
def queue_kallelse(ctx: TransitionContext) -> None:
    meeting = ctx.open_meeting
    if ctx.notifier is not None and meeting is not None:
        ctx.meeting_invitations, ctx.mail = ctx.notifier.kallelse(
            ctx.session, ctx.case, meeting, ctx.participants, ctx.now
        )


@action
def queue_meeting_cancel(ctx: TransitionContext) -> None:
    """Tell everyone invited that the meeting is off (after cancel_meeting raised SEQUENCE)."""
    meeting = ctx.open_meeting
    if ctx.notifier is not None and meeting is not None and meeting.cancelled_at is not None:
        ctx.mail = ctx.notifier.cancel(ctx.session, ctx.case, meeting, ctx.now)
