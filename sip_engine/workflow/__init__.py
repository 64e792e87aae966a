"""The workflow runtime: definitions from ``workflows/``, guards, actions and the engine."""

from .context import Actor, TransitionContext
from .definition import WorkflowDefinition, WorkflowDefinitionError
from .engine import TriggerOption, WorkflowEngine, actor_works_on_case, record_event
from .errors import (
    CaseConflict,
    GuardRefused,
    IllegalTransition,
    NotPermitted,
    ReasonRequired,
    UnknownTrigger,
    WorkflowError,
)
from .registry import WorkflowRegistry

__all__ = [
    "Actor",
    "CaseConflict",
    "GuardRefused",
    "IllegalTransition",
    "NotPermitted",
    "ReasonRequired",
    "TransitionContext",
    "TriggerOption",
    "UnknownTrigger",
    "WorkflowDefinition",
    "WorkflowDefinitionError",
    "WorkflowEngine",
    "WorkflowError",
    "WorkflowRegistry",
    "actor_works_on_case",
    "record_event",
]
