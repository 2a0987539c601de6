"""Rubric leaves judged as Ray tasks on a real local Ray instance."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aiscientist.grading.judge import judge_rubric
from aiscientist.models.scripted import ScriptedModel
from aiscientist.runtime.judging import make_ray_map
from aiscientist.tasks import load_task

SUBMISSION = Path(__file__).parents[1] / "grading" / "fixtures" / "rff_submission"


@pytest.mark.slow
def test_leaves_run_as_ray_tasks_and_the_tree_is_assembled(ray_local: None) -> None:
    import ray

    task = load_task("rff-ridge")
    # Each Ray task gets its own copy of the scripted judge, so every copy answers with the
    # script's first reply, and the driver's copy is never advanced.
    model = ScriptedModel([json.dumps({"score": 1, "reason": "remote"})])
    grade = judge_rubric(task, SUBMISSION, model, map_fn=make_ray_map(max_in_flight=4))
    assert grade.score == 1.0 and grade.leaves_judged == 19
    assert grade.usage.calls == 19  # usage summed across the tasks
    assert model.position == 0  # the driver's copy was never called: the work ran in tasks
    assert ray.is_initialized()


@pytest.mark.slow
def test_ray_map_keeps_job_order(ray_local: None) -> None:
    from aiscientist.grading.judge import LeafJob, LeafJudgement

    jobs = [LeafJob(f"leaf-{i}", ()) for i in range(10)]
    arrived: list[str] = []
    out = make_ray_map(max_in_flight=3)(
        lambda j: LeafJudgement(j.leaf_id, 1, j.leaf_id), jobs, lambda r: arrived.append(r.leaf_id)
    )
    assert sorted(arrived) == sorted(j.leaf_id for j in jobs)  # each told once, as it came
    assert [r.leaf_id for r in out] == [j.leaf_id for j in jobs]
    assert [r.reason for r in out] == [f"leaf-{i}" for i in range(10)]
