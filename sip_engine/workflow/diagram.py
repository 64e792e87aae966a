"""Mermaid ``stateDiagram-v2`` output for a workflow definition."""

from __future__ import annotations

from .definition import WorkflowDefinition


def _text(label: str) -> str:
    # Mermaid ends a transition label at a colon and chokes on quotes.
    return label.replace(":", " -").replace('"', "'")


def mermaid(definition: WorkflowDefinition) -> str:
    lines = ["stateDiagram-v2", f"    %% {definition.title}, version {definition.version}"]
    for state in definition.states.values():
        lines.append(f'    state "{state.step}. {_text(state.label)}" as {state.id}')
    lines.append(f"    [*] --> {definition.initial}")
    for trigger in definition.triggers.values():
        for source in trigger.sources:
            lines.append(f"    {source} --> {trigger.dest}: {_text(trigger.label)}")
    for state in definition.states.values():
        if state.final:
            lines.append(f"    {state.id} --> [*]")
    return "\n".join(lines) + "\n"
