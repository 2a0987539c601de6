"""The rubric judge with scripted judge models on the bundled replicate task and a real
reference submission: scoring, garbage replies, model failures, code-only mode, context."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import msgspec
import pytest

from aiscientist.errors import GradingError, TransientModelError
from aiscientist.grading.command import grade_run
from aiscientist.grading.judge import build_jobs, judge_rubric, parse_judgement
from aiscientist.messages import RunManifest, TaskRef
from aiscientist.models.base import ChatMessage, Completion, ToolSpec
from aiscientist.models.scripted import ScriptedModel
from aiscientist.tasks import Task, load_task

SUBMISSION = Path(__file__).parent / "fixtures" / "rff_submission"


@pytest.fixture(scope="module")
def task() -> Task:
    return load_task("rff-ridge")


def _reply(score: object, reason: str = "ok") -> str:
    return json.dumps({"score": score, "reason": reason})


def test_scores_follow_judgements_and_weighted_mean(task: Task) -> None:
    assert task.rubric is not None
    leaves = task.rubric.leaves()
    verdict = {leaf.key: int(leaf.task_category == "Code Development") for leaf in leaves}
    model = ScriptedModel([_reply(verdict[leaf.key], f"because {leaf.id}") for leaf in leaves])
    grade = judge_rubric(task, SUBMISSION, model)
    assert grade.score == pytest.approx(task.rubric.score(verdict))
    assert 0 < grade.score < 1
    assert grade.by_category == {
        "Code Development": 1.0,
        "Code Execution": 0.0,
        "Result Analysis": 0.0,
    }
    assert grade.leaves_total == 19 and grade.leaves_judged == 19 and grade.leaves_failed == 0
    assert grade.usage.calls == 19 and grade.usage.prompt_tokens > 0
    first_group = grade.tree.sub_tasks[0]
    assert first_group.id == "data" and first_group.score == 1.0
    assert first_group.sub_tasks[0].reason == "because data-generate"


def test_garbage_replies_score_zero_with_reason_and_never_crash(task: Task) -> None:
    assert task.rubric is not None
    n = len(task.rubric.leaves())
    replies = [
        "Looks great to me!",  # no JSON
        _reply(7),  # out of range
        '```json\n{"score": "1", "reason": "fenced, string score"}\n```',
        'Sure. {"score": true, "reason": "prose around it"} Hope that helps.',
        '{"score": 1, "reason": ',  # truncated
        "",
    ] + [_reply(1)] * (n - 6)
    grade = judge_rubric(task, SUBMISSION, ScriptedModel(replies))
    leaves = {leaf.id: leaf for leaf in _scored_leaves(grade.tree)}
    order = [leaf.id for leaf in task.rubric.leaves()]
    bad = [leaves[order[i]] for i in (0, 1, 4, 5)]
    assert all(not b.judged and b.score == 0 and "unparseable judgement" in b.error for b in bad)
    assert "'score' must be 0 or 1, got 7" in leaves[order[1]].error
    assert leaves[order[2]].score == 1 and leaves[order[2]].reason == "fenced, string score"
    assert leaves[order[3]].score == 1 and leaves[order[3]].judged
    assert grade.leaves_failed == 4 and grade.leaves_judged == n - 4
    assert grade.usage.calls == n  # garbage still cost a call


def _scored_leaves(node: Any) -> list[Any]:
    if not node.sub_tasks:
        return [node]
    return [leaf for c in node.sub_tasks for leaf in _scored_leaves(c)]


class _FailingModel:
    """A judge model whose endpoint is down."""

    name = "down"
    context_window = 8192

    def complete(
        self,
        messages: list[ChatMessage],
        tools: list[ToolSpec] | None = None,
        tool_choice: str | None = None,
        json_schema: dict[str, Any] | None = None,
    ) -> Completion:
        raise TransientModelError("503 from the judge endpoint")


def test_model_errors_score_zero_with_the_error(task: Task) -> None:
    grade = judge_rubric(task, SUBMISSION, _FailingModel())
    assert grade.score == 0.0 and grade.leaves_failed == 19
    assert all("503 from the judge endpoint" in leaf.error for leaf in _scored_leaves(grade.tree))


def test_code_only_judges_only_code_development_leaves(task: Task) -> None:
    model = ScriptedModel([_reply(1)] * 30)
    grade = judge_rubric(task, SUBMISSION, model, code_only=True)
    assert model.position == 11  # the 11 Code Development leaves, nothing else
    assert grade.code_only and grade.leaves_total == 11 and grade.score == 1.0
    assert set(grade.by_category) == {"Code Development"}
    assert [c.id for c in grade.tree.sub_tasks] == ["data", "baselines", "rff"]


def test_prompt_holds_requirement_relevant_file_and_log_only_when_needed(task: Task) -> None:
    assert task.rubric is not None
    leaves = {leaf.id: leaf for leaf in task.rubric.leaves()}
    picked = [leaves["rff-map"], leaves["rff-run"]]
    jobs = build_jobs(task, SUBMISSION, picked, task.rubric, 32768)
    code, run = (j.messages[1].content for j in jobs)
    assert "z(x) = sqrt(2/D) * cos(x W + b)" in code  # the requirement
    assert "def random_fourier_features" in code  # the relevant source file
    assert "reproduce.sh  (" in code  # the file tree
    assert "Random Fourier features" in code  # paper excerpt
    assert "No data needs downloading" in code  # addendum
    assert "rff D=4000: 1.29" not in code  # no log for Code Development
    assert "rff D=4000: 1.29" in run  # the log for Code Execution


def test_prompt_fits_a_small_context_window(task: Task, tmp_path: Path) -> None:
    sub = tmp_path / "sub"
    shutil.copytree(SUBMISSION, sub)
    (sub / "notes.md").write_text("unrelated notes\n" * 5000)
    (sub / "reproduce.log").write_text("noise line\n" * 20000 + "FINAL rff D=4000: 1.29\n")
    assert task.rubric is not None
    leaf = next(leaf for leaf in task.rubric.leaves() if leaf.id == "rff-run")
    (job,) = build_jobs(task, sub, [leaf], task.rubric, 4096)
    text = job.messages[1].content
    assert len(text) < 4096 * 3
    assert "FINAL rff D=4000: 1.29" in text  # the tail of the log survives truncation
    ranked_rff = text.find("## rff.py")
    ranked_notes = text.find("## notes.md")
    assert ranked_rff != -1 and (ranked_notes == -1 or ranked_rff < ranked_notes)


def test_empty_submission_is_judged_not_crashed(task: Task, tmp_path: Path) -> None:
    model = ScriptedModel([_reply(0)] * 19)
    grade = judge_rubric(task, tmp_path / "missing", model)
    assert grade.score == 0.0 and grade.leaves_judged == 19
    # nothing to point at: no leaf reaches the model
    assert model.position == 0 and grade.leaves_by_rule == 19


def test_improve_task_cannot_be_judged() -> None:
    with pytest.raises(GradingError, match="no rubric"):
        judge_rubric(load_task("tabular-cancer"), SUBMISSION, ScriptedModel([]))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"score": 0, "reason": "missing W"}', (0, "missing W")),
        ('{"reason": "x", "score": 1.0}', (1, "x")),
        ('{"other": {"score": 5}} {"score": 1, "reason": "second"}', (1, "second")),
    ],
)
def test_parse_judgement(text: str, expected: tuple[int, str]) -> None:
    assert parse_judgement(text) == expected


def test_grade_run_replicate_with_scripted_judge_from_config(task: Task, tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(SUBMISSION, run / "submission")
    script = tmp_path / "judge.yaml"
    script.write_text(json.dumps({"judge": [_reply(1, "fine")] * 19}))
    manifest = RunManifest(
        run_id="run-r",
        task=TaskRef(kind="replicate", name=task.name, source=str(task.root)),
        config={"models": {"default": "local", "judge": f"scripted:{script}"}},
    )
    (run / "run.json").write_bytes(msgspec.json.encode(manifest))
    summary = grade_run(run)
    # submission/ is no git repository, so the clean room has nothing to run: only the 11
    # Code Development leaves reach the judge, the 8 execution and result leaves score 0.
    assert task.rubric is not None
    code = {
        leaf.key: int(leaf.task_category == "Code Development") for leaf in task.rubric.leaves()
    }
    assert summary["score"] == pytest.approx(task.rubric.score(code))
    assert summary["leaves"] == 19 and summary["judge_calls"] == 11
    assert summary["leaves_by_rule"] == 8 and "not_a_repo" in str(summary["reproduction"])
    on_disk = json.loads((run / "grade.json").read_text())
    assert on_disk["tree"]["id"] == "rff-ridge" and on_disk["leaves_by_rule"] == 8
    assert len(_scored_leaves(msgspec.convert(on_disk["tree"], type=_Tree))) == 19
    usage_lines = (run / "journal" / "usage" / "judge.jsonl").read_text().splitlines()
    assert len(usage_lines) == 11  # judge cost lands in the run's usage journal


class _Tree(msgspec.Struct):
    id: str
    sub_tasks: list[_Tree] = []


def test_a_rubric_that_reuses_ids_is_judged_leaf_by_leaf(task: Task) -> None:
    import dataclasses

    from aiscientist.tasks.rubric import parse_rubric

    assert task.rubric is not None
    raw = task.rubric.to_dict()
    groups = raw["sub_tasks"]
    assert isinstance(groups, list)
    for group in groups:  # every group's leaves take the id of the first group's first leaf
        for leaf in group["sub_tasks"]:
            leaf["id"] = "same"
    rubric = parse_rubric(raw)
    leaves = rubric.leaves()
    assert {leaf.id for leaf in leaves} == {"same"} and len({leaf.key for leaf in leaves}) == 19
    dup = dataclasses.replace(task, rubric=rubric)
    model = ScriptedModel([_reply(i % 2) for i in range(len(leaves))])
    grade = judge_rubric(dup, SUBMISSION, model)
    assert grade.leaves_total == 19 and grade.leaves_judged == 19 and grade.usage.calls == 19
    expected = rubric.score({leaf.key: i % 2 for i, leaf in enumerate(leaves)})
    assert grade.score == pytest.approx(expected)


def test_judging_many_leaves_says_how_far_it_is(task: Task) -> None:
    heard: list[str] = []
    model = ScriptedModel([_reply(1)] * 19)
    grade = judge_rubric(task, SUBMISSION, model, progress=heard.append)
    judged = grade.leaves_total - grade.leaves_by_rule
    assert heard, "no progress while judging"
    assert heard[-1] == (
        f"judged {judged}/{judged} rubric leaves ({grade.leaves_by_rule} more scored 0 by rule)"
    )
    counts = [int(m.split()[1].split("/")[0]) for m in heard]
    assert counts == sorted(counts) and len(counts) <= 21
