"""Loading and validating workflow definitions from YAML.

A definition names guards, actions and roles; each name is checked against what the engine
provides, and every error names the file, the line and the entry, so a typo in a definition
fails at start-up instead of silently letting a transition through.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sip_engine.models.enums import Role

REMINDER_KINDS = frozenset({"reminder", "warning", "escalation"})
REMINDER_ANCHORS = frozenset(
    {
        "state_entered",
        "meeting_called",
        "meeting_start",
        "follow_up_date",
        "consent_expires",
        # placement workflow: each 6-monthly övervägande/omprövning date of the placement
        "review_date",
        # the day the child leaves the workflow's target group (turns target_group.max_age + 1)
        "leaves_target_group",
    }
)
REMINDER_RECIPIENTS = frozenset(
    {
        "coordinator",
        "manager",
        "samordningsansvarig",
        "unanswered_participants",
        "confirmed_participants",
        # health-examination workflow: the contact at the region clinic the request went to
        "region_contact",
    }
)
REMINDER_CONDITIONS = frozenset(
    {
        "meeting_later_than_offset",
        "called_party_unanswered",
        # placement workflow: no SIP meeting held on the child's case since the phase began
        "phase_meeting_missing",
    }
)
DAY_KINDS = frozenset({"calendar", "working"})

_LINE = "__line__"


class WorkflowDefinitionError(ValueError):
    """A definition is invalid; the message names the file, line and entry."""


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping, for error messages."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        mapping = super().construct_mapping(node, deep=deep)
        mapping[_LINE] = node.start_mark.line + 1
        return mapping


@dataclass(frozen=True)
class StateDef:
    id: str
    label: str
    step: int
    final: bool = False
    # The meeting is taking place in this state: leaving it ends the meeting as held, never
    # as cancelled (the action cancel_meeting reads it).
    meeting_under_way: bool = False


@dataclass(frozen=True)
class TriggerDef:
    id: str
    label: str
    sources: tuple[str, ...]
    dest: str
    roles: frozenset[Role]
    guards: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    requires_reason: bool = False
    # The holder of a personal link (a region contact without an account) may fire it.
    link: bool = False
    # Leaves a final state (a closed case reopened); only such a trigger may.
    reopens: bool = False


@dataclass(frozen=True)
class RuleDef:
    """A guard every trigger of the workflow runs besides its own, except the triggers the
    rule leaves open (the ways on while the rule holds)."""

    id: str
    guard: str
    except_triggers: frozenset[str]

    def applies_to(self, trigger_id: str) -> bool:
        return trigger_id not in self.except_triggers


@dataclass(frozen=True)
class ReminderRule:
    id: str
    kind: str
    states: tuple[str, ...]
    anchor: str
    offset_days: int
    recipients: tuple[str, ...]
    day_kind: str = "calendar"
    condition: str | None = None
    label: str = ""


@dataclass(frozen=True)
class WorkflowDefinition:
    name: str
    version: int
    title: str
    initial: str
    states: Mapping[str, StateDef]
    triggers: Mapping[str, TriggerDef]
    close_reasons: Mapping[str, str] = field(default_factory=dict)
    reminders: tuple[ReminderRule, ...] = ()
    rules: tuple[RuleDef, ...] = ()
    legal_references: tuple[str, ...] = ()
    # Named deadlines in days (e.g. the health examination's time offered within 28 days).
    deadlines: Mapping[str, int] = field(default_factory=dict)
    # The oldest age (in whole years) of the workflow's target group, e.g. 20 for "0–20 years";
    # None when the workflow has no upper age.
    max_age: int | None = None
    source: str = "<memory>"

    @property
    def key(self) -> tuple[str, int]:
        return (self.name, self.version)

    def state_label(self, state_id: str) -> str:
        return self.states[state_id].label

    def triggers_from(self, state_id: str) -> list[TriggerDef]:
        return [t for t in self.triggers.values() if state_id in t.sources]


def _where(source: str, entry: Mapping[str, Any] | None, what: str) -> str:
    line = entry.get(_LINE) if isinstance(entry, Mapping) else None
    return f"{source}:{line}: {what}" if line else f"{source}: {what}"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def parse_definition(
    data: Mapping[str, Any],
    source: str,
    *,
    guard_names: Iterable[str],
    action_names: Iterable[str],
) -> WorkflowDefinition:
    """Build a definition from parsed YAML, checking every reference in it."""
    guards_known, actions_known = set(guard_names), set(action_names)
    roles_known = {r.value for r in Role}

    def fail(entry: Mapping[str, Any] | None, what: str) -> WorkflowDefinitionError:
        return WorkflowDefinitionError(_where(source, entry, what))

    def require(entry: Mapping[str, Any], key: str, context: str) -> Any:
        if key not in entry or entry[key] in (None, ""):
            raise fail(entry, f"{context}: '{key}' is missing")
        return entry[key]

    name = str(require(data, "name", "workflow"))
    version = require(data, "version", "workflow")
    if not isinstance(version, int) or version < 1:
        raise fail(data, "workflow: 'version' must be a positive integer")

    states: dict[str, StateDef] = {}
    for entry in _as_list(data.get("states")):
        state_id = str(require(entry, "id", "state"))
        if state_id in states:
            raise fail(entry, f"state '{state_id}': defined twice")
        states[state_id] = StateDef(
            id=state_id,
            label=str(require(entry, "label", f"state '{state_id}'")),
            step=int(entry.get("step", len(states) + 1)),
            final=bool(entry.get("final", False)),
            meeting_under_way=bool(entry.get("meeting_under_way", False)),
        )
    if not states:
        raise fail(data, "workflow: no states defined")
    initial = str(require(data, "initial", "workflow"))
    if initial not in states:
        raise fail(data, f"workflow: unknown initial state '{initial}'")

    triggers: dict[str, TriggerDef] = {}
    for entry in _as_list(data.get("triggers")):
        trigger_id = str(require(entry, "id", "trigger"))
        context = f"trigger '{trigger_id}'"
        if trigger_id in triggers:
            raise fail(entry, f"{context}: defined twice")
        sources = tuple(str(s) for s in _as_list(require(entry, "source", context)))
        dest = str(require(entry, "dest", context))
        for state_id in (*sources, dest):
            if state_id not in states:
                raise fail(entry, f"{context}: unknown state '{state_id}'")
        reopens = bool(entry.get("reopens", False))
        for state_id in sources:
            if states[state_id].final and not reopens:
                raise fail(entry, f"{context}: leaves the final state '{state_id}'")
            if reopens and not states[state_id].final:
                raise fail(entry, f"{context}: 'reopens' but leaves the open state '{state_id}'")
        roles = [str(r) for r in _as_list(require(entry, "roles", context))]
        for role in roles:
            if role not in roles_known:
                raise fail(entry, f"{context}: unknown role '{role}'")
        guards = tuple(str(g) for g in _as_list(entry.get("guards")))
        for guard in guards:
            if guard not in guards_known:
                raise fail(entry, f"{context}: unknown guard '{guard}'")
        actions = tuple(str(a) for a in _as_list(entry.get("actions")))
        for action in actions:
            if action not in actions_known:
                raise fail(entry, f"{context}: unknown action '{action}'")
        triggers[trigger_id] = TriggerDef(
            id=trigger_id,
            label=str(require(entry, "label", context)),
            sources=sources,
            dest=dest,
            roles=frozenset(Role(r) for r in roles),
            guards=guards,
            actions=actions,
            requires_reason=bool(entry.get("requires_reason", False)),
            link=bool(entry.get("link", False)),
            reopens=reopens,
        )

    rules: list[RuleDef] = []
    for entry in _as_list(data.get("rules")):
        rule_id = str(require(entry, "id", "rule"))
        context = f"rule '{rule_id}'"
        if any(r.id == rule_id for r in rules):
            raise fail(entry, f"{context}: defined twice")
        rule_guard = str(require(entry, "guard", context))
        if rule_guard not in guards_known:
            raise fail(entry, f"{context}: unknown guard '{rule_guard}'")
        excepted = frozenset(str(t) for t in _as_list(entry.get("except")))
        for trigger_id in sorted(excepted):
            if trigger_id not in triggers:
                raise fail(entry, f"{context}: unknown trigger '{trigger_id}'")
        rules.append(RuleDef(id=rule_id, guard=rule_guard, except_triggers=excepted))

    close_reasons_raw = data.get("close_reasons") or {}
    if not isinstance(close_reasons_raw, Mapping):
        raise fail(data, "workflow: 'close_reasons' must be a mapping of code to label")
    close_reasons = {str(k): str(v) for k, v in close_reasons_raw.items() if k != _LINE}

    deadlines_raw = data.get("deadlines") or {}
    if not isinstance(deadlines_raw, Mapping):
        raise fail(data, "workflow: 'deadlines' must be a mapping of name to days")
    deadlines: dict[str, int] = {}
    for key, days in deadlines_raw.items():
        if key == _LINE:
            continue
        if not isinstance(days, int) or days < 0:
            raise fail(deadlines_raw, f"deadline '{key}': must be a whole number of days")
        deadlines[str(key)] = days

    target_group = data.get("target_group") or {}
    if not isinstance(target_group, Mapping):
        raise fail(data, "workflow: 'target_group' must be a mapping")
    max_age = target_group.get("max_age")
    if max_age is not None and (
        isinstance(max_age, bool) or not isinstance(max_age, int) or max_age < 0
    ):
        raise fail(target_group, "target_group: 'max_age' must be a whole number of years")

    reminders: list[ReminderRule] = []
    for entry in _as_list(data.get("reminders")):
        rule_id = str(require(entry, "id", "reminder"))
        context = f"reminder '{rule_id}'"
        kind = str(require(entry, "kind", context))
        if kind not in REMINDER_KINDS:
            raise fail(entry, f"{context}: unknown kind '{kind}'")
        rule_states = tuple(str(s) for s in _as_list(require(entry, "state", context)))
        for state_id in rule_states:
            if state_id not in states:
                raise fail(entry, f"{context}: unknown state '{state_id}'")
        anchor = str(require(entry, "anchor", context))
        if anchor not in REMINDER_ANCHORS:
            raise fail(entry, f"{context}: unknown anchor '{anchor}'")
        if anchor == "leaves_target_group" and max_age is None:
            raise fail(entry, f"{context}: anchor '{anchor}' needs target_group.max_age")
        offset = entry.get("offset_days")
        if not isinstance(offset, int):
            raise fail(entry, f"{context}: 'offset_days' must be a whole number of days")
        recipients = tuple(str(r) for r in _as_list(require(entry, "recipients", context)))
        for recipient in recipients:
            if recipient not in REMINDER_RECIPIENTS:
                raise fail(entry, f"{context}: unknown recipient '{recipient}'")
        day_kind = str(entry.get("days", "calendar"))
        if day_kind not in DAY_KINDS:
            raise fail(entry, f"{context}: 'days' must be 'calendar' or 'working'")
        condition = entry.get("condition")
        if condition is not None and condition not in REMINDER_CONDITIONS:
            raise fail(entry, f"{context}: unknown condition '{condition}'")
        reminders.append(
            ReminderRule(
                id=rule_id,
                kind=kind,
                states=rule_states,
                anchor=anchor,
                offset_days=offset,
                recipients=recipients,
                day_kind=day_kind,
                condition=condition,
                label=str(entry.get("label", rule_id)),
            )
        )

    return WorkflowDefinition(
        name=name,
        version=version,
        title=str(data.get("title", name)),
        initial=initial,
        states=states,
        triggers=triggers,
        close_reasons=close_reasons,
        reminders=tuple(reminders),
        rules=tuple(rules),
        legal_references=tuple(str(r) for r in _as_list(data.get("legal_references"))),
        deadlines=deadlines,
        max_age=max_age,
        source=source,
    )


def load_definition_file(
    path: Path, *, guard_names: Iterable[str], action_names: Iterable[str]
) -> WorkflowDefinition:
    source = str(path)
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        raise WorkflowDefinitionError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise WorkflowDefinitionError(f"{source}: a workflow definition must be a mapping")
    return parse_definition(data, source, guard_names=guard_names, action_names=action_names)
