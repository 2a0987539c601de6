"""The standard changes offered to a refining model: each applies to the framework's program
with ``replace_function`` and the changed program runs and is graded valid on every task
shape; an idea an experiment already ran is no longer offered."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from aiscientist.agents.baseline import baseline_program
from aiscientist.agents.code_repair import replace_function
from aiscientist.agents.ideas import IDEAS, describe_change, ideas_block, untried
from aiscientist.grading.competition import grade_competition
from aiscientist.tasks import load_task
from aiscientist.tasks.synthetic import SHAPES, make_task


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_idea_runs_and_is_valid_on_every_shape(tmp_path: Path, shape: str) -> None:
    metric, _ = SHAPES[shape]
    task_dir = make_task(tmp_path, shape)
    for n, idea in enumerate(IDEAS):
        program, _ = replace_function(baseline_program(metric), idea.function, idea.code)
        work = tmp_path / f"idea-{n}"
        work.mkdir()
        (work / "train.py").write_text(program)
        out = subprocess.run(
            [sys.executable, "train.py"],
            cwd=work,
            env={**os.environ, "TASK_DIR": str(task_dir), "SEED": "1", "OMP_NUM_THREADS": "1"},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, (idea.title, out.stderr[-2000:])
        grade = grade_competition(load_task(task_dir), work / "submission.csv")
        assert grade.valid, (idea.title, grade.error)


def _experiment(run_dir: Path, exp_id: str, program: str) -> None:
    work = run_dir / "agent" / "experiments" / exp_id / "work"
    work.mkdir(parents=True)
    (work / "train.py").write_text(program)


def test_an_idea_an_experiment_ran_is_not_offered_again(tmp_path: Path) -> None:
    base = baseline_program("rmse")
    first, second = IDEAS[0], IDEAS[1]
    assert [i.title for i in untried(base, [])] == [i.title for i in IDEAS]

    block = ideas_block(base, tmp_path)
    assert first.title in block and first.code in block  # the first with its code
    assert second.title in block and second.code not in block  # the others by title

    # an experiment ran the first idea with other numbers and docstring: it is tried
    variant = first.code.replace("Boosting with", "B").replace("0.05", "0.1")
    tried, _ = replace_function(base, first.function, variant)
    _experiment(tmp_path, "exp-000000000001", tried)
    block = ideas_block(base, tmp_path)
    assert first.title not in block and second.code in block

    # the champion holding an idea is not offered it either; a program without the
    # functions is offered nothing
    assert first not in untried(tried, [])
    assert ideas_block("print('hello')\n", tmp_path) == ""


def test_a_change_is_named_by_its_standard_change_or_by_what_it_now_does() -> None:
    """What a refine session reports (and its experiment's hypothesis is titled by) is read
    from the code: the standard change, whatever its numbers; else the new estimator; else
    the names a function now uses."""
    base = baseline_program("rmse")
    boosting = next(i for i in IDEAS if i.function == "make_model")
    tuned = boosting.code.replace("0.05", "0.1")
    changed, _ = replace_function(base, "make_model", tuned)
    assert describe_change(base, changed) == f"make_model: {boosting.title}"
    ridge, _ = replace_function(base, "make_model", "def make_model(kind):\n    return Ridge()\n")
    assert describe_change(base, ridge) == "make_model: returns Ridge()"
    cols = (
        "def add_features(df):\n    df = df.copy()\n    df['sq'] = df.iloc[:, 0] ** 2\n"
        "    return df\n"
    )
    more, _ = replace_function(base, "add_features", cols)
    assert describe_change(base, more).startswith("add_features: now uses ")
    assert describe_change(base, base) == "" and describe_change(base, "def (") == ""
