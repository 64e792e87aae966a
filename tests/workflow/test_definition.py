from pathlib import Path

import pytest
from click.testing import CliRunner

from sip_engine.cli import main
from sip_engine.workflow import WorkflowDefinitionError, WorkflowRegistry
from sip_engine.workflow.diagram import mermaid
from workflows import DEFINITIONS_DIR

SIP_YAML = (DEFINITIONS_DIR / "sip.yaml").read_text(encoding="utf-8")


def test_the_sip_workflow_has_the_six_steps_in_order(registry: WorkflowRegistry) -> None:
    sip = registry.latest("sip")
    assert list(sip.states) == ["upptack", "forbered", "kalla", "mote", "folj_upp", "avslutad"]
    assert sip.states["upptack"].label == "Upptäck behov"
    assert sip.states["avslutad"].final
    assert "SoL 2 kap. 7 §" in sip.legal_references


def test_the_deadline_rules_of_the_domain_are_stored(registry: WorkflowRegistry) -> None:
    rules = {r.id: r for r in registry.latest("sip").reminders}
    assert rules["upptack_varning"].offset_days == 3
    assert rules["upptack_eskalering"].offset_days == 10
    assert rules["svar_eskalering"].condition == "called_party_unanswered"
    assert rules["samtycke_upphor"].offset_days == -14
    assert rules["mote_paminnelse"].recipients == ("confirmed_participants",)


def _broken(tmp_path: Path, old: str, new: str) -> Path:
    assert old in SIP_YAML
    (tmp_path / "sip.yaml").write_text(SIP_YAML.replace(old, new, 1), encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("old", "new", "message", "line_text"),
    [
        (
            "dest: forbered\n    roles: [samordnare, chef]\n    guards: [need_spans_two_parties]",
            "dest: forbereda\n    roles: [samordnare, chef]\n    guards: [need_spans_two_parties]",
            "trigger 'forbered': unknown state 'forbereda'",
            "- id: forbered",
        ),
        (
            "guards: [need_spans_two_parties]",
            "guards: [need_spans_three_parties]",
            "trigger 'forbered': unknown guard 'need_spans_three_parties'",
            "- id: forbered",
        ),
        (
            "roles: [samordnare, chef]\n    guards: [need_spans_two_parties]",
            "roles: [rektor]\n    guards: [need_spans_two_parties]",
            "trigger 'forbered': unknown role 'rektor'",
            "- id: forbered",
        ),
        (
            "actions: [mark_meeting_held, adopt_plan]",
            "actions: [send_fax]",
            "trigger 'anta_plan': unknown action 'send_fax'",
            "- id: anta_plan",
        ),
        (
            "recipients: [samordningsansvarig]",
            "recipients: [rektor]",
            "reminder 'uppfoljning_paminnelse_7': unknown recipient 'rektor'",
            "- id: uppfoljning_paminnelse_7",
        ),
        (
            "guard: consent_in_force",
            "guard: consent_is_fine",
            "rule 'samtycke_saknas': unknown guard 'consent_is_fine'",
            "- id: samtycke_saknas",
        ),
        (
            "except: [forbered, sok_nytt_samtycke,",
            "except: [forbered, sok_nytt_samtyck,",
            "rule 'samtycke_saknas': unknown trigger 'sok_nytt_samtyck'",
            "- id: samtycke_saknas",
        ),
        (
            "    reopens: true\n",
            "",
            "trigger 'ateroppna': leaves the final state 'avslutad'",
            "- id: ateroppna",
        ),
        (
            "initial: upptack",
            "initial: start",
            "workflow: unknown initial state 'start'",
            "name: sip",
        ),
    ],
)
def test_an_invalid_definition_fails_naming_file_line_and_entry(
    tmp_path: Path, old: str, new: str, message: str, line_text: str
) -> None:
    folder = _broken(tmp_path, old, new)
    with pytest.raises(WorkflowDefinitionError) as raised:
        WorkflowRegistry.from_directory(folder)
    text = str(raised.value)
    assert message in text
    assert text.startswith(f"{folder / 'sip.yaml'}:")
    line = int(text.split(":")[1])
    assert line_text in (folder / "sip.yaml").read_text(encoding="utf-8").splitlines()[line - 1]


def test_workflows_check_command_reports_errors_and_exits_nonzero(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(main, ["workflows", "check"])
    assert good.exit_code == 0, good.output
    assert "OK  sip v1: 6 tillstånd" in good.output
    folder = _broken(tmp_path, "guards: [need_spans_two_parties]", "guards: [nope]")
    bad = runner.invoke(main, ["workflows", "check", "--directory", str(folder)])
    assert bad.exit_code == 1
    assert "unknown guard 'nope'" in bad.output


def test_diagram_is_a_mermaid_state_diagram(registry: WorkflowRegistry) -> None:
    text = mermaid(registry.latest("sip"))
    lines = text.splitlines()
    assert lines[0] == "stateDiagram-v2"
    assert "    [*] --> upptack" in lines
    assert "    mote --> folj_upp: Anta planen och gå till uppföljning" in lines
    assert "    avslutad --> [*]" in lines
    assert "    avslutad --> forbered: Återöppna SIP" in lines
    result = CliRunner().invoke(main, ["workflows", "diagram", "sip"])
    assert result.exit_code == 0 and result.output == text


def test_no_automatic_to_state_methods_exist(registry: WorkflowRegistry) -> None:
    machine = registry.compiled("sip", 1).machine
    assert not any(name.startswith("to_") for name in machine.events)


def test_the_target_group_is_data_and_its_anchor_needs_it(
    registry: WorkflowRegistry, tmp_path: Path
) -> None:
    sip = registry.latest("sip")
    assert sip.max_age == 20
    rule = next(r for r in sip.reminders if r.id == "fyller_21")
    assert (rule.anchor, rule.offset_days, rule.kind) == ("leaves_target_group", -90, "warning")
    assert set(rule.states) == {s for s in sip.states if not sip.states[s].final}
    for old, new, message in (
        ("target_group:\n  max_age: 20\n", "", "anchor 'leaves_target_group' needs"),
        ("max_age: 20", "max_age: tjugo", "target_group: 'max_age' must be a whole number"),
    ):
        with pytest.raises(WorkflowDefinitionError) as raised:
            WorkflowRegistry.from_directory(_broken(tmp_path, old, new))
        assert message in str(raised.value)
