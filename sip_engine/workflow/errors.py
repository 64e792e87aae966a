"""Errors of the workflow engine. Messages are plain Swedish, fit to show to a coordinator."""

from __future__ import annotations


class WorkflowError(Exception):
    """A trigger could not fire. Nothing was changed."""

    def __init__(
        self,
        message: str,
        *,
        case_id: int | None = None,
        trigger: str | None = None,
        state: str | None = None,
        reasons: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.case_id = case_id
        self.trigger = trigger
        self.state = state
        self.reasons = reasons or [message]


class UnknownTrigger(WorkflowError):
    """The trigger does not exist in the case's workflow."""


class IllegalTransition(WorkflowError):
    """The trigger exists but not from the case's current state."""


class NotPermitted(WorkflowError):
    """The actor's role or relation to the case does not allow the trigger."""


class GuardRefused(WorkflowError):
    """One or more guards refused; ``reasons`` lists why."""


class ReasonRequired(WorkflowError):
    """The trigger needs a written reason."""


class CaseConflict(WorkflowError):
    """Someone else changed the case since it was read (optimistic locking)."""
