"""Submission first: the prior submission is valid on every task shape, and a run whose
submission is missing or broken ends with the best verified output, or else the prior."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from aiscientist.agents.baseline import baseline_program
from aiscientist.config import SandboxConfig, load_config
from aiscientist.experiments.executor import execute_experiment
from aiscientist.experiments.fallback import PRIOR, finalize
from aiscientist.grading.competition import grade_competition
from aiscientist.messages import ExperimentSpec
from aiscientist.runtime.driver import create_run
from aiscientist.tasks import list_bundled, load_task
from aiscientist.tasks.synthetic import SHAPES, make_task

IMPROVE = [n for n in list_bundled() if load_task(n).kind == "improve"]


def _run(tmp_path: Path, task: str | Path) -> Path:
    return create_run(task, load_config(overrides=["sandbox.kind=local"]), tmp_path / "runs")


@pytest.mark.parametrize("task", [*IMPROVE, *(f"shape:{s}" for s in sorted(SHAPES))])
def test_the_prior_submission_is_valid_and_graded(tmp_path: Path, task: str) -> None:
    ref: str | Path = task
    if task.startswith("shape:"):
        ref = make_task(tmp_path, task.removeprefix("shape:"))
    run_dir = _run(tmp_path, ref)
    assert not (run_dir / "submission" / "submission.csv").exists()  # agents still owe one
    note = finalize(run_dir, load_task(ref))
    assert note.endswith("used the prior submission")
    grade = grade_competition(load_task(ref), run_dir / "submission" / "submission.csv")
    assert grade.valid and grade.score is not None, grade.error


def test_a_broken_submission_gives_way_to_the_best_verified_output(tmp_path: Path) -> None:
    run_dir = _run(tmp_path, "friedman-regression")
    task = load_task("friedman-regression")
    (run_dir / "submission" / "train.py").write_text(baseline_program(task.metric))
    spec = ExperimentSpec(command="python train.py", outputs=("submission.csv",), timeout_s=300)
    result = execute_experiment(str(run_dir), spec, SandboxConfig(kind="local"))
    assert result.score is not None, result.summary
    (run_dir / "submission" / "submission.csv").write_text("id,target\n1,oops\n")
    note = finalize(run_dir, task)
    assert result.exp_id in note
    out = run_dir / "agent/experiments" / result.exp_id / "work" / "submission.csv"
    assert (run_dir / "submission" / "submission.csv").read_text() == out.read_text()
    # a valid submission is kept as it is
    shutil.copy2(run_dir / PRIOR, run_dir / "submission" / "submission.csv")
    assert finalize(run_dir, task) == "kept the run's submission"
