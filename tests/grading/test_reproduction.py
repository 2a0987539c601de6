"""Grading that absence cannot fool: a replicate run is reproduced in the clean room before it
is judged (unless its verdict is fresh), and execution and result leaves with no reproduction
output to point at score 0 without a model call. Real git, real sandbox, scripted judges that
pass everything they are asked about."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import msgspec
import pytest

from aiscientist.grading.command import grade_run
from aiscientist.grading.evidence import named_files
from aiscientist.grading.reproduction import RECORD, read_record
from aiscientist.messages import RunManifest, TaskRef
from aiscientist.models.scripted import ScriptedModel
from aiscientist.tasks import load_task
from aiscientist.workspace.rundir import read_manifest

AGREEMENT = Path(__file__).parent / "fixtures" / "agreement"
EVIDENCE = ("Code Execution", "Result Analysis")
CODE_LEAVES = 11  # Code Development leaves of the bundled rubric; the other 8 need a run


@pytest.fixture(autouse=True)
def _no_global_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global-gitconfig"))


def _git(repo: Path, *args: str) -> None:
    base = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run([*base, *args], check=True, capture_output=True)


def commit(repo: Path, message: str = "submission") -> None:
    if not (repo / ".git").exists():
        _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--allow-empty", "-m", message)


def make_run(
    tmp_path: Path, files: dict[str, str] | Path | None, *, git: bool = True, **manifest: Any
) -> Path:
    """A replicate run of the bundled paper whose submission holds ``files`` (committed)."""
    run = tmp_path / "run"
    sub = run / "submission"
    if isinstance(files, Path):
        shutil.copytree(files, sub)
    else:
        sub.mkdir(parents=True)
        for name, text in (files or {}).items():
            (sub / name).write_text(text)
    if git:
        commit(sub)
    task = load_task("rff-ridge")
    config = {"sandbox": {"kind": "local"}, "limits": {"experiment_timeout_s": 300}}
    record = RunManifest(
        run_id="run-g",
        task=TaskRef(kind="replicate", name=task.name, source=str(task.root)),
        config=config,
        **manifest,
    )
    (run / "run.json").write_bytes(msgspec.json.encode(record))
    return run


def generous_judge() -> ScriptedModel:
    """A judge that passes every leaf it is asked about."""
    return ScriptedModel([json.dumps({"score": 1, "reason": "looks fine"})] * 19)


def leaves_of(run: Path) -> list[dict[str, Any]]:
    def walk(node: dict[str, Any]) -> list[dict[str, Any]]:
        kids = node.get("sub_tasks") or []
        return [node] if not kids else [leaf for k in kids for leaf in walk(k)]

    return walk(json.loads((run / "grade.json").read_text())["tree"])


def test_empty_submission_scores_zero_everywhere_without_a_model_call(tmp_path: Path) -> None:
    run = make_run(tmp_path, None)
    judge = generous_judge()
    summary = grade_run(run, model=judge)
    assert judge.position == 0 and summary["judge_calls"] == 0  # nothing reached the model
    assert summary["score"] == 0.0 and summary["leaves_by_rule"] == 19
    for leaf in leaves_of(run):
        assert leaf["score"] == 0 and leaf["by_rule"] and leaf["judged"]
        if leaf["task_category"] in EVIDENCE:
            assert "no reproduction output to point at" in leaf["reason"]
            assert "no_reproduce_sh" in leaf["reason"]
        else:
            assert "no file with text (it is empty)" in leaf["reason"]
    assert (read_manifest(run).reproduce_verdict or "").startswith("no_reproduce_sh")


CODE_ONLY = AGREEMENT / "correct" / "submission" / "rff.py"


@pytest.mark.parametrize("git", [True, False], ids=["no-reproduce-sh", "not-a-repository"])
def test_code_without_a_reproduction_scores_zero_on_execution_and_result_leaves(
    tmp_path: Path, git: bool
) -> None:
    # the 0.079 run: code, but reproduce.sh never ran; a judge passing all it sees passes none
    # of the execution and result leaves, and is not asked about them
    run = make_run(tmp_path, {"rff.py": CODE_ONLY.read_text()}, git=git)
    judge = generous_judge()
    summary = grade_run(run, model=judge)
    assert judge.position == CODE_LEAVES  # only Code Development leaves reached the model
    assert summary["judge_calls"] == CODE_LEAVES and summary["leaves_by_rule"] == 8
    assert summary["by_category"] == {
        "Code Development": 1.0,
        "Code Execution": 0.0,
        "Result Analysis": 0.0,
    }
    status = "no_reproduce_sh" if git else "not_a_repo"
    ruled = [leaf for leaf in leaves_of(run) if leaf["task_category"] in EVIDENCE]
    assert len(ruled) == 8
    for leaf in ruled:
        assert leaf["score"] == 0 and leaf["by_rule"] and leaf["judged"]
        assert "no reproduction output to point at" in leaf["reason"] and status in leaf["reason"]
    # The reproduction step ran and recorded its verdict where the run keeps it.
    assert (read_manifest(run).reproduce_verdict or "").startswith(status)
    record = read_record(run)
    assert record is not None and record.verdict.status == status


@pytest.mark.slow
def test_correct_submission_is_reproduced_and_judged_on_what_it_wrote(tmp_path: Path) -> None:
    run = make_run(tmp_path, AGREEMENT / "correct" / "submission")
    assert not (run / "submission" / "results.json").exists()
    judge = generous_judge()
    summary = grade_run(run, model=judge)
    assert judge.position == 19 and summary["leaves_by_rule"] == 0 and summary["score"] == 1.0
    record = read_record(run)
    assert record is not None and record.verdict.passed, record
    assert "results.json" in record.outputs
    assert json.loads((run / "reproduction" / "submission" / "results.json").read_text())["krr"]
    assert "wrote results.json" in (run / "reproduce.log").read_text()
    assert (read_manifest(run).reproduce_verdict or "").startswith("ok")
    last = judge.last_prompt[-1].content  # result-close-to-krr, a Result Analysis leaf
    assert "rff D=4000: 1.29" in last  # the log of the clean-room run
    assert "results.json  (" in last  # the file it wrote, in the tree the judge sees
    assert "reproduced for grading" in str(summary["reproduction"])
    # Graded again: the verdict is fresh, so reproduce.sh does not run again.
    again = grade_run(run, model=generous_judge())
    assert read_record(run) == record and "kept reproduction" in str(again["reproduction"])


FAST = {
    "reproduce.sh": "set -e\necho 'rff D=4000: 1.29'\n"
    'echo \'{"ridge": 2.64, "krr": 1.25}\' > results.json\n',
}


def test_a_new_commit_makes_the_verdict_stale(tmp_path: Path) -> None:
    run = make_run(tmp_path, FAST)
    grade_run(run, model=generous_judge())
    first = read_record(run)
    assert first is not None and first.verdict.passed
    grade_run(run, model=generous_judge())
    assert read_record(run) == first  # fresh: reused
    (run / "submission" / "notes.md").write_text("a later change\n")
    commit(run / "submission", "later")
    grade_run(run, model=generous_judge())
    second = read_record(run)
    assert second is not None and second.finished_at > first.finished_at
    assert second.verdict.commit != first.verdict.commit


def test_result_leaves_see_what_the_run_wrote_before_the_code(tmp_path: Path) -> None:
    files = {**FAST, "notes_on_ridge_kernel_rmse.md": "kernel ridge rmse notes\n" * 400}
    run = make_run(tmp_path, files)
    judge = ScriptedModel([json.dumps({"score": 1, "reason": "ok"})] * 19, window=3072)
    summary = grade_run(run, model=judge)
    assert summary["leaves_by_rule"] == 0, summary["reproduction"]
    record = read_record(run)
    assert record is not None and record.outputs == ("results.json",), record
    last = judge.last_prompt[-1].content  # result-close-to-krr
    assert "## results.json" in last and '"krr": 1.25' in last
    notes = last.find("## notes_on_ridge_kernel_rmse.md")
    assert notes == -1 or last.find("## results.json") < notes


def test_a_fresh_failed_gate_verdict_is_used_and_a_stale_one_is_not(tmp_path: Path) -> None:
    run = make_run(tmp_path, FAST, reproduce_verdict="timeout: reproduce.sh ran past 3600 s")
    (run / "reproduce.log").write_text("training...\n")  # written after the commit: fresh
    judge = generous_judge()
    summary = grade_run(run, model=judge)
    assert not (run / RECORD).exists()  # the timed-out run was not started again
    assert judge.position == CODE_LEAVES and summary["leaves_by_rule"] == 8
    ruled = [leaf for leaf in leaves_of(run) if leaf["by_rule"]]
    assert all("timeout: reproduce.sh ran past 3600 s" in leaf["reason"] for leaf in ruled)
    old = os.stat(run / "reproduce.log").st_mtime - 3600
    os.utime(run / "reproduce.log", (old, old))  # now older than the last commit: stale
    summary = grade_run(run, model=generous_judge())
    assert (run / RECORD).exists() and summary["leaves_by_rule"] == 0
    assert (read_manifest(run).reproduce_verdict or "").startswith("ok")


def test_a_passed_gate_verdict_is_run_again_to_see_its_outputs(tmp_path: Path) -> None:
    run = make_run(tmp_path, FAST, reproduce_verdict="ok: reproduce.sh exited 0 in a fresh clone")
    (run / "reproduce.log").write_text("rff D=4000: 1.29\n")
    (run / "submission" / "results.json").write_text("{}")  # left in the working tree
    grade_run(run, model=generous_judge())
    record = read_record(run)
    assert record is not None and "results.json" in record.outputs


def test_a_file_the_leaf_names_must_be_written_by_the_run(tmp_path: Path) -> None:
    run = make_run(tmp_path, {"reproduce.sh": "echo 'ridge: test RMSE 2.64'\n"})
    # results.json in the working tree, uncommitted: not what the clean-room run produced
    (run / "submission" / "results.json").write_text('{"ridge": 2.64}')
    judge = generous_judge()
    summary = grade_run(run, model=judge)
    assert summary["leaves_by_rule"] == 1 and judge.position == 18
    (leaf,) = [leaf for leaf in leaves_of(run) if leaf["by_rule"]]
    assert leaf["id"] == "rff-results-file"
    assert "results.json is absent after reproduce.sh ran" in leaf["reason"]


def test_a_run_that_prints_and_writes_nothing_has_no_output(tmp_path: Path) -> None:
    run = make_run(tmp_path, {"reproduce.sh": "true\n"})
    summary = grade_run(run, model=generous_judge())
    assert summary["leaves_by_rule"] == 8
    reasons = {leaf["reason"] for leaf in leaves_of(run) if leaf["by_rule"]}
    assert any("printed nothing and wrote no file" in r for r in reasons)


def test_code_only_grading_runs_nothing(tmp_path: Path) -> None:
    run = make_run(tmp_path, FAST)
    judge = generous_judge()
    summary = grade_run(run, model=judge, code_only=True)
    assert judge.position == CODE_LEAVES and summary["leaves_by_rule"] == 0
    assert not (run / RECORD).exists()


def test_reproduce_never_uses_only_what_the_run_has(tmp_path: Path) -> None:
    run = make_run(tmp_path, FAST)
    summary = grade_run(run, model=generous_judge(), reproduce="never")
    assert not (run / RECORD).exists() and summary["leaves_by_rule"] == 8
    assert "not reproduced" in str(summary["reproduction"])


@pytest.mark.parametrize(
    ("requirement", "files"),
    [
        ("Running reproduce.sh writes results.json with the test RMSE.", ["results.json"]),
        (
            "The plot figures/loss.png and table1.csv are produced.",
            ["figures/loss.png", "table1.csv"],
        ),
        ("The reproduced linear ridge test RMSE is 2.64 within 0.1.", []),
        ("Running reproduce.sh trains train.py and prints its RMSE.", []),
    ],
)
def test_named_files(requirement: str, files: list[str]) -> None:
    assert named_files(requirement) == files
