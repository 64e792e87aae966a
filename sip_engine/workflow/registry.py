"""All workflow definitions, loaded and validated once, plus one machine per version."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from transitions import EventData, Machine

from .actions import ACTIONS
from .context import TransitionContext
from .definition import WorkflowDefinition, WorkflowDefinitionError, load_definition_file
from .guards import GUARDS


def evaluate_guards(ctx: TransitionContext, skip: frozenset[str] = frozenset()) -> list[str]:
    """All reasons the context's trigger may not fire (every guard runs, none short-circuits,
    so the coordinator sees everything that is missing at once)."""
    assert ctx.trigger is not None
    reasons: list[str] = []
    for name in ctx.trigger.guards:
        if name not in skip:
            reasons.extend(GUARDS[name](ctx))
    return reasons


def _guards_pass(event: EventData) -> bool:
    ctx: TransitionContext = event.kwargs["ctx"]
    ctx.refusals = evaluate_guards(ctx)
    return not ctx.refusals


class _Subject:
    """The short-lived model a machine moves: it lives for one trigger, then is removed.

    ``transitions`` binds ``state`` and ``trigger`` onto it in ``add_model``.
    """

    state: str


@dataclass
class CompiledWorkflow:
    definition: WorkflowDefinition
    machine: Machine
    lock: threading.Lock

    def run(self, state: str, ctx: TransitionContext) -> str | None:
        """Fire ``ctx.trigger`` from ``state``; the new state, or None if a guard refused."""
        assert ctx.trigger is not None
        subject = _Subject()
        # One machine serves every case of this version; add_model/remove_model mutate it.
        with self.lock:
            self.machine.add_model(subject, initial=state)
            try:
                moved = bool(getattr(subject, "trigger")(ctx.trigger.id, ctx=ctx))  # noqa: B009
                return subject.state if moved else None
            finally:
                self.machine.remove_model(subject)


def compile_workflow(definition: WorkflowDefinition) -> CompiledWorkflow:
    machine = Machine(
        model=None,
        states=list(definition.states),
        initial=definition.initial,
        auto_transitions=False,  # to_<state>() would bypass every guard
        send_event=True,
        ignore_invalid_triggers=False,
    )
    for trigger in definition.triggers.values():
        machine.add_transition(
            trigger.id, list(trigger.sources), trigger.dest, conditions=[_guards_pass]
        )
    return CompiledWorkflow(definition=definition, machine=machine, lock=threading.Lock())


class WorkflowRegistry:
    def __init__(self, definitions: list[WorkflowDefinition]) -> None:
        self._compiled: dict[tuple[str, int], CompiledWorkflow] = {}
        for definition in definitions:
            if definition.key in self._compiled:
                other = self._compiled[definition.key].definition.source
                raise WorkflowDefinitionError(
                    f"{definition.source}: workflow {definition.name} version "
                    f"{definition.version} is also defined in {other}"
                )
            self._compiled[definition.key] = compile_workflow(definition)

    @classmethod
    def from_directory(cls, directory: Path | None = None) -> WorkflowRegistry:
        if directory is None:
            from workflows import DEFINITIONS_DIR

            directory = DEFINITIONS_DIR
        paths = sorted(directory.glob("*.yaml"))
        return cls(
            [load_definition_file(path, guard_names=GUARDS, action_names=ACTIONS) for path in paths]
        )

    def __iter__(self) -> Iterator[WorkflowDefinition]:
        return (c.definition for c in self._compiled.values())

    def compiled(self, name: str, version: int) -> CompiledWorkflow:
        try:
            return self._compiled[(name, version)]
        except KeyError:
            raise WorkflowDefinitionError(f"no workflow {name} version {version}") from None

    def get(self, name: str, version: int) -> WorkflowDefinition:
        return self.compiled(name, version).definition

    def latest(self, name: str) -> WorkflowDefinition:
        versions = [key[1] for key in self._compiled if key[0] == name]
        if not versions:
            raise WorkflowDefinitionError(f"no workflow named {name}")
        return self.get(name, max(versions))
