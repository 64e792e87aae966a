"""All workflow definitions, loaded and validated once, plus one machine per version."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from transitions import EventData, Machine

from .actions import ACTIONS
from .context import TransitionContext
from .definition import WorkflowDefinition, WorkflowDefinitionError, load_definition_file
from .guards import GUARDS


def evaluate_guards(ctx: TransitionContext, skip: frozenset[str] = frozenset()) -> list[str]:
    """All reasons the context's trigger may not fire (every guard runs, none short-circuits,
    so the coordinator sees everything that is missing at once), each stated once: guards
    that need the same thing (a planned meeting, a plan) give the same text for it, and the
    reason is listed once however many guards found it missing.

    The workflow's rules come first: a rule that holds leaves only its ways on open, so its
    reasons are the answer and the trigger's own guards are not asked."""
    assert ctx.trigger is not None
    reasons: dict[str, None] = {}  # ordered, without repeats
    for rule in ctx.definition.rules:
        if rule.applies_to(ctx.trigger.id):
            reasons.update(dict.fromkeys(GUARDS[rule.guard](ctx)))
    if reasons:
        return list(reasons)
    for name in ctx.trigger.guards:
        if name not in skip:
            reasons.update(dict.fromkeys(GUARDS[name](ctx)))
    return list(reasons)


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
    _per_thread: threading.local = field(default_factory=threading.local, repr=False)

    @property
    def machine(self) -> Machine:
        """This thread's machine for the definition, built on first use. A machine cannot be
        shared between threads while a model is on it (add_model/remove_model mutate it); one
        per thread, rather than one behind a lock, lets concurrent fires evaluate their guards
        (database reads) side by side. Still none per case."""
        machine: Machine | None = getattr(self._per_thread, "machine", None)
        if machine is None:
            machine = self._per_thread.machine = _build_machine(self.definition)
        return machine

    def run(self, state: str, ctx: TransitionContext) -> str | None:
        """Fire ``ctx.trigger`` from ``state``; the new state, or None if a guard refused."""
        assert ctx.trigger is not None
        subject = _Subject()
        machine = self.machine
        machine.add_model(subject, initial=state)
        try:
            moved = bool(getattr(subject, "trigger")(ctx.trigger.id, ctx=ctx))  # noqa: B009
            return subject.state if moved else None
        finally:
            machine.remove_model(subject)


def _build_machine(definition: WorkflowDefinition) -> Machine:
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
    return machine


def compile_workflow(definition: WorkflowDefinition) -> CompiledWorkflow:
    compiled = CompiledWorkflow(definition)
    _ = compiled.machine  # built now, so a definition the library refuses fails at load
    return compiled


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
