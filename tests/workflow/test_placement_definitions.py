"""The placement and health-examination workflows: loaded and validated by the same loader as
the SIP workflow, with their deadlines, link triggers and reminder rules as data."""

from pathlib import Path

import pytest

from sip_engine.workflow import WorkflowDefinitionError, WorkflowRegistry
from workflows import DEFINITIONS_DIR

EXAM_YAML = (DEFINITIONS_DIR / "halsoundersokning.yaml").read_text(encoding="utf-8")


def test_the_placement_phases_and_their_sip_reminders(registry: WorkflowRegistry) -> None:
    placement = registry.latest("placement")
    assert list(placement.states) == ["fore", "under", "infor_avslut", "efter", "avslutad"]
    assert placement.states["avslutad"].final
    rules = {r.id: r for r in placement.reminders}
    for phase in ("fore", "under", "infor_avslut", "efter"):
        rule = rules[f"{phase}_sip_saknas"]
        assert rule.states == (phase,) and rule.condition == "phase_meeting_missing"
    assert rules["overvagande_paminnelse"].anchor == "review_date"
    assert rules["overvagande_paminnelse"].offset_days == -14


def test_the_examination_deadline_and_what_the_region_link_may_do(
    registry: WorkflowRegistry,
) -> None:
    exam = registry.latest("halsoundersokning")
    assert exam.deadlines == {"tid_erbjuden": 28}
    assert {t.id for t in exam.triggers.values() if t.link} == {"erbjud_tid", "genomford"}
    assert exam.triggers["obehovlig"].requires_reason
    assert "OSL 10 kap. 28 §" in exam.legal_references
    rules = {r.id: r for r in exam.reminders}
    assert (rules["halsa_paminnelse_21"].offset_days, rules["halsa_paminnelse_21"].recipients) == (
        21,
        ("region_contact",),
    )
    assert rules["halsa_forsenad"].kind == "escalation"
    assert rules["halsa_forsenad"].recipients == ("coordinator", "region_contact")


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("  tid_erbjuden: 28", "  tid_erbjuden: fyra veckor", "deadline 'tid_erbjuden'"),
        ("recipients: [region_contact]", "recipients: [regionen]", "unknown recipient 'regionen'"),
    ],
)
def test_errors_in_the_examination_workflow_name_the_file_and_line(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    assert old in EXAM_YAML
    (tmp_path / "halsoundersokning.yaml").write_text(EXAM_YAML.replace(old, new, 1), "utf-8")
    with pytest.raises(WorkflowDefinitionError) as error:
        WorkflowRegistry.from_directory(tmp_path)
    text = str(error.value)
    assert message in text
    assert f"{tmp_path / 'halsoundersokning.yaml'}:" in text
    line = int(text.split(":")[1])
    assert line > 1
