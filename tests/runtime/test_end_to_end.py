"""`aiscientist run` on a bundled task with a scripted team, on a real local Ray."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aiscientist.errors import RegionPermissionError
from aiscientist.messages import DelegationEvent, ResultEvent
from aiscientist.workspace import WorkspaceView
from aiscientist.workspace.journal import Journal

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "configs" / "scripts" / "improve-baseline.yaml"
LAYOUT = [
    "run.json",
    "MAP.md",
    "map.json",
    "task/description.md",
    "paper_analysis/summary.md",
    "agent/prioritized_tasks.md",
    "agent/plan.md",
    "agent/impl_log.md",
    "agent/exp_log.md",
    "submission/train.py",
    "submission/submission.csv",
    "journal/events.jsonl",
]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("runs")
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "OPENAI_API_KEY": "sk-must-not-leak"}
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "aiscientist.cli",
            "run",
            "tabular-cancer",
            "--model",
            f"scripted:{SCRIPT}",
            "--workspace",
            str(root),
            "--set",
            "sandbox.kind=local",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        env=env,
        cwd=REPO,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("RUN_DIR="))
    run_dir = Path(line.split("=", 1)[1])
    (run_dir.parent / "cli-progress.txt").write_text(out.stderr)
    return run_dir


def test_run_leaves_the_design_layout(finished_run: Path) -> None:
    missing = [p for p in LAYOUT if not (finished_run / p).is_file()]
    assert missing == []
    assert not (finished_run / "task" / "private").exists(), "private answers leaked to agents"
    exps = list((finished_run / "agent" / "experiments").glob("*/result.json"))
    assert len(exps) == 1
    result = json.loads(exps[0].read_text())
    assert result["status"] == "ok" and 0.8 < result["metrics"]["val_score"] <= 1.0
    # the result is on record in exp_log.md as a fact, not only as the model's own notes
    log = (finished_run / "agent" / "exp_log.md").read_text()
    assert f"Result {exps[0].parent.name}: ok (exit 0" in log and "val_score=" in log


def test_graded_score_is_in_run_json(finished_run: Path) -> None:
    manifest = json.loads((finished_run / "run.json").read_text())
    assert manifest["status"] == "finished"
    assert manifest["score"] is not None and 0.8 < manifest["score"] <= 1.0
    # the best score is the framework's verified one, not the code's own val_score
    result = json.loads(
        next((finished_run / "agent/experiments").glob("*/result.json")).read_text()
    )
    assert result["verified_score"] is not None and result["score"] == result["verified_score"]
    assert manifest["best_metric"] == pytest.approx(result["verified_score"])
    assert manifest["spend"]["model_calls"] > 10


def test_every_delegation_has_exactly_one_result(finished_run: Path) -> None:
    events = Journal(finished_run).events()
    delegations = [e.delegation.id for e in events if isinstance(e, DelegationEvent)]
    results = [e.result.delegation_id for e in events if isinstance(e, ResultEvent)]
    assert len(delegations) == 5
    assert sorted(delegations) == sorted(results)
    assert len(set(results)) == len(results)
    # the write-ahead order: each delegation is journaled before its result
    order = [
        (e.delegation.id if isinstance(e, DelegationEvent) else e.result.delegation_id)
        for e in events
        if isinstance(e, DelegationEvent | ResultEvent)
    ]
    for d in delegations:
        assert order.index(d) < len(order) - 1 - order[::-1].index(d)


def test_progress_shows_each_delegation_and_result(finished_run: Path) -> None:
    progress = (finished_run.parent / "cli-progress.txt").read_text()
    assert "] -> comprehension:" in progress
    assert "] <- experimentation ok:" in progress
    assert progress.count("] -> ") == progress.count("] <- ") == 5


def test_sandboxed_code_cannot_see_the_hidden_answers(finished_run: Path) -> None:
    check = (finished_run / "submission" / "leak_check.txt").read_text()
    assert check.startswith("hidden"), check


def test_cross_region_write_by_a_model_was_refused(finished_run: Path) -> None:
    assert not (finished_run / "submission" / "hack.py").exists()
    transcripts = list((finished_run / "journal/transcripts/comprehension").glob("*.jsonl"))
    assert len(transcripts) == 1
    tool_replies = [
        json.loads(line)["content"]
        for line in transcripts[0].read_text().splitlines()
        if json.loads(line)["role"] == "tool"
    ]
    assert any("may not write 'submission/hack.py'" in t for t in tool_replies)


def test_implementation_shell_ran_in_the_sandbox(finished_run: Path) -> None:
    lines = [
        json.loads(line)
        for p in sorted((finished_run / "journal/transcripts/implementation").glob("*.jsonl"))
        for line in p.read_text().splitlines()
    ]
    shell_out = [m["content"] for m in lines if m["role"] == "tool" and m["name"] == "shell"]
    assert len(shell_out) == 3
    assert shell_out[0].startswith("[ok, exit 0") and "deps ok" in shell_out[0]


@pytest.mark.parametrize(
    ("role", "foreign"),
    [
        ("comprehension", "submission/x.py"),
        ("implementation", "paper_analysis/x.md"),
        ("experimentation", "submission/x.py"),
        ("prioritization", "agent/exp_log.md"),
        ("orchestrator", "journal/events.jsonl"),
    ],
)
def test_roles_cannot_write_foreign_regions_of_the_run(
    finished_run: Path, role: str, foreign: str
) -> None:
    before = (finished_run / foreign).read_bytes() if (finished_run / foreign).exists() else None
    with pytest.raises(RegionPermissionError):
        WorkspaceView(finished_run, role).write_text(foreign, "intrusion")
    after = (finished_run / foreign).read_bytes() if (finished_run / foreign).exists() else None
    assert before == after


def test_map_lists_the_submission_with_digests(finished_run: Path) -> None:
    entries = {e["path"]: e for e in json.loads((finished_run / "map.json").read_text())}
    assert "submission/train.py" in entries and len(entries["submission/train.py"]["sha256"]) == 64


def test_status_command_reports_the_run(finished_run: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "aiscientist.cli", "status", str(finished_run)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0
    assert "finished" in out.stdout and "1 done" in out.stdout


def test_tree_shows_the_experiment_as_champion_and_submission_is_its_output(
    finished_run: Path,
) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "aiscientist.cli", "tree", str(finished_run)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert "Champion:" in out.stdout and "gradient boosting baseline" in out.stdout
    assert "[verified] gradient boosting baseline" in out.stdout
    assert "*champion*" in out.stdout and "lesson:" in out.stdout
    assert (finished_run / "tree.html").is_file()
    (exp,) = (finished_run / "agent" / "experiments").glob("*/work/submission.csv")
    assert (finished_run / "submission" / "submission.csv").read_bytes() == exp.read_bytes()


def test_the_submission_is_the_champions_output(finished_run: Path) -> None:
    """At the end of a hierarchical improve run the champion's output is the submission: an
    unverified later program never replaces it."""
    from aiscientist.messages import DecisionEvent

    decisions = [e for e in Journal(finished_run).events() if isinstance(e, DecisionEvent)]
    (adopted,) = [d.detail for d in decisions if d.kind == "champion"]
    exp_id = adopted.split()[1]
    work = finished_run / "agent" / "experiments" / exp_id / "work"
    sub = finished_run / "submission"
    assert (sub / "submission.csv").read_bytes() == (work / "submission.csv").read_bytes()
    assert (sub / "train.py").read_bytes() == (work / "train.py").read_bytes()
