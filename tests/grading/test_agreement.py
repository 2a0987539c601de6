"""The judge-agreement rule: a judge measured below ``grading.min_judge_agreement`` is not a
default judge (refused, naming what to configure); named explicitly it is used with a warning;
a judge never measured is used silently. The agreement fixtures' expectations are complete."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from aiscientist.config import load_config
from aiscientist.errors import GradingError
from aiscientist.grading import agreement
from aiscientist.grading.command import grade_run
from aiscientist.messages import RunManifest, TaskRef
from aiscientist.tasks import load_task

FIXTURES = Path(__file__).parent / "fixtures" / "agreement"


@pytest.fixture
def table(tmp_path: Path) -> Path:
    path = tmp_path / "judge_agreement.json"
    agreement.record("local", agreement.Measurement(0.5, 12, "2026-12-03", "bench"), path)
    agreement.record("openai/gpt-4o", agreement.Measurement(0.95, 19, "2026-12-03", "b"), path)
    return path


def test_default_judge_below_the_bar_is_refused_with_the_judge_to_configure(table: Path) -> None:
    config = {"models": {"default": "local", "judge": None}}
    with pytest.raises(GradingError) as info:
        agreement.check_judge(config, "local", built=False, path=table)
    message = str(info.value)
    assert "'local' agreed with the expected leaf verdicts on 50% of 12 leaves" in message
    assert "min_judge_agreement=0.8" in message and "set models.judge to" in message


def test_a_judge_named_explicitly_or_handed_in_is_used_with_the_warning(table: Path) -> None:
    explicit = {"models": {"default": "local", "judge": "local"}}
    assert "50% of 12 leaves" in agreement.check_judge(explicit, "local", False, table)
    default = {"models": {"default": "local"}}
    assert "50% of 12 leaves" in agreement.check_judge(default, "local", True, table)


def test_a_judge_at_the_bar_or_never_measured_is_used_silently(table: Path) -> None:
    config = {"models": {"default": "openai/gpt-4o"}}
    assert agreement.check_judge(config, "openai/gpt-4o", False, table) == ""
    assert agreement.check_judge(config, "anthropic/claude-x", False, table) == ""
    lenient = {"grading": {"min_judge_agreement": 0.4}}
    assert agreement.check_judge(lenient, "local", False, table) == ""


def test_the_bar_is_a_config_field() -> None:
    assert load_config().grading.min_judge_agreement == 0.8
    cfg = load_config(overrides=["grading.min_judge_agreement=0.6"])
    assert agreement.min_agreement(cfg.model_dump(mode="json")) == 0.6


def test_the_packaged_table_parses() -> None:
    agreement.read_table()  # a bad table would stop every grade


@pytest.mark.parametrize("name", ["correct", "empty", "wrong"])
def test_every_submission_expects_a_verdict_on_every_leaf(name: str) -> None:
    rubric = load_task("rff-ridge").rubric
    assert rubric is not None
    expected = json.loads((FIXTURES / name / "expected.json").read_text())["expected"]
    assert set(expected) == {leaf.id for leaf in rubric.leaves()}
    assert set(expected.values()) <= {0, 1}


def test_aiscientist_grade_refuses_the_embedded_judge_measured_below_the_bar(
    tmp_path: Path,
) -> None:
    measured = agreement.read_table().models.get("local")
    if measured is None or measured.agreement >= agreement.DEFAULT_MIN_AGREEMENT:
        pytest.skip(f"the packaged table does not hold 'local' below the bar: {measured!r}")
    task = load_task("rff-ridge")
    run = tmp_path / "run"
    (run / "submission").mkdir(parents=True)
    manifest = RunManifest(
        run_id="run-a",
        task=TaskRef(kind="replicate", name=task.name, source=str(task.root)),
        config={"models": {"default": "local", "judge": None}},
    )
    (run / "run.json").write_bytes(msgspec.json.encode(manifest))
    with pytest.raises(GradingError, match="refusing the default judge: judge 'local'"):
        grade_run(run)
    assert not (run / "grade.json").exists() and not (run / "reproduction").exists()
    # the judge named for this grade is used (here a scripted one; the submission is empty,
    # so no leaf reaches it)
    script = tmp_path / "judge.yaml"
    script.write_text(json.dumps({"judge": []}))
    summary = grade_run(run, judge=f"scripted:{script}")
    assert summary["score"] == 0.0 and summary["judge_calls"] == 0
    assert "judge_warning" not in summary
