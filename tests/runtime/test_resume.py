"""`aiscientist resume` after the driver and its Ray were SIGKILLed at different points of a
run, and after a run stopped on its token budget."""

from __future__ import annotations

import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from runtime_harness import (
    FAST_TEAM,
    REPO,
    attempt_count,
    cli,
    cli_env,
    delegations,
    experiments,
    finished_experiments,
    manifest,
    ray_tmpdir,
    results,
    run_dir_in,
    run_until_killed,
)

from aiscientist.runtime.resume import resume_run

pytestmark = pytest.mark.slow

RUN_ARGS = ["--model", f"scripted:{FAST_TEAM}", "--set", "sandbox.kind=local"]


def _experiment_running(rd: Path) -> bool:
    return any(attempt_count(e) >= 1 and not (e / "result.json").exists() for e in experiments(rd))


KILL_POINTS: dict[str, Callable[[Path], bool]] = {
    "after_first_result": lambda rd: len(results(rd)) >= 1,
    "while_experiment_runs": _experiment_running,
    "after_experiment_result": lambda rd: any(
        (e / "result.json").exists() for e in experiments(rd)
    ),
}


def _resume(run_dir: Path, *sets: str) -> None:
    """What `aiscientist resume RUN_DIR --set ...` does, on the session's Ray (a fresh Ray:
    the one the killed driver embedded is gone)."""
    m = resume_run(run_dir, None, list(sets))
    assert m.status == "finished", m.note


def _assert_exactly_once(run_dir: Path) -> None:
    dels = delegations(run_dir)
    res = results(run_dir)
    ids = [d for d, _ in dels]
    assert len(set(ids)) == len(ids), "a delegation was journaled twice"
    assert sorted(res) == sorted(ids), "every delegation has exactly one result and vice versa"


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_resume_after_sigkill_completes_without_redoing_work(
    ray_local: None, tmp_path: Path, point: str
) -> None:
    root = tmp_path / "runs"
    args = ["run", "tabular-cancer", "--workspace", str(root), *RUN_ARGS]
    run_dir = run_until_killed(args, root, tmp_path, KILL_POINTS[point])
    done_before = finished_experiments(run_dir)
    roles_done = Counter(role for d, role in delegations(run_dir) if d in set(results(run_dir)))
    running_before = [e.name for e in experiments(run_dir) if not (e / "result.json").exists()]

    _resume(run_dir)

    m = manifest(run_dir)
    assert m["status"] == "finished" and m["score"] is not None, m.get("note")
    _assert_exactly_once(run_dir)
    # completed experiments never ran again; the one that was running was re-queued
    exps = experiments(run_dir)
    assert len(exps) == 1, "replaying the script must not create a second experiment"
    for e in exps:
        assert (e / "result.json").exists()
        if e.name in done_before:
            assert finished_experiments(run_dir)[e.name] == done_before[e.name]
        if e.name in running_before:
            assert attempt_count(e) == 2, "the lost attempt is re-queued exactly once"
    # completed delegations were not issued again
    roles_after = Counter(role for _, role in delegations(run_dir))
    for role, n in roles_done.items():
        assert roles_after[role] <= n + (1 if role == "implementation" else 0)
    assert roles_after["comprehension"] == 1 and roles_after["experimentation"] == 1


def test_budget_exhausted_run_resumes_with_a_larger_budget(ray_local: None, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    out = subprocess.run(
        cli(
            "run",
            "tabular-cancer",
            "--workspace",
            str(root),
            *RUN_ARGS,
            "--set",
            "budget.tokens=2500",
        ),
        cwd=REPO,
        env=cli_env(ray_tmpdir()),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    run_dir = run_dir_in(root)
    assert run_dir is not None
    m = manifest(run_dir)
    assert m["status"] == "budget_exhausted"
    spend = m["spend"]
    assert isinstance(spend, dict) and spend["tokens"] >= 2500
    calls_before = spend["model_calls"]

    _resume(run_dir, "budget.tokens=10000000")

    m = manifest(run_dir)
    assert m["status"] == "finished" and m["score"] is not None, m.get("note")
    _assert_exactly_once(run_dir)
    assert len(experiments(run_dir)) == 1
    assert attempt_count(experiments(run_dir)[0]) == 1
    # replayed orchestrator steps are not billed twice: the two sessions together bill no more
    # calls than the script has replies (each reply is served, and billed, once)
    spend = m["spend"]
    replies = sum(len(v) for v in yaml.safe_load(FAST_TEAM.read_text()).values())
    assert isinstance(spend, dict) and calls_before < spend["model_calls"] <= replies
