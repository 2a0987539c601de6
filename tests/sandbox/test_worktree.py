"""One git worktree per experiment: isolation, snapshots of uncommitted work, merge back."""

from __future__ import annotations

import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from aiscientist.errors import SandboxError
from aiscientist.sandbox import (
    ExecResult,
    Sandbox,
    create_worktree,
    ensure_repo,
    merge_worktree,
    remove_worktree,
)


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def submission(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A submission repo on a machine with no global git identity (like a bare CI box)."""
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global-gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    sub = tmp_path / "submission"
    sub.mkdir()
    (sub / "train.py").write_text("LR = 0.1\n")
    (sub / "reproduce.sh").write_text("python train.py\n")
    return ensure_repo(sub)


def test_ensure_repo_makes_a_first_commit_without_a_global_identity(submission: Path) -> None:
    assert _git(submission, "ls-files").split() == ["reproduce.sh", "train.py"]
    assert _git(submission, "log", "--format=%an").strip() == "aiscientist"
    before = _git(submission, "rev-parse", "HEAD")
    ensure_repo(submission)  # idempotent
    assert _git(submission, "rev-parse", "HEAD") == before


def test_worktree_carries_uncommitted_work_and_leaves_the_branch_alone(
    submission: Path, tmp_path: Path
) -> None:
    head = _git(submission, "rev-parse", "HEAD")
    (submission / "train.py").write_text("LR = 0.2\n")  # modified, not committed
    (submission / "features.py").write_text("F = 1\n")  # untracked
    wt = create_worktree(submission, tmp_path / "wt" / "e1", "exp/e1")
    assert (wt / "train.py").read_text() == "LR = 0.2\n"
    assert (wt / "features.py").read_text() == "F = 1\n"
    # The submission's branch, index and files are exactly as they were.
    assert _git(submission, "rev-parse", "HEAD") == head
    status = _git(submission, "status", "--porcelain")
    assert " M train.py" in status and "?? features.py" in status
    assert _git(wt, "rev-parse", "--abbrev-ref", "HEAD").strip() == "exp/e1"


def test_two_experiments_in_parallel_worktrees_do_not_interfere(
    any_sandbox: Sandbox, submission: Path, tmp_path: Path
) -> None:
    trees = {
        eid: create_worktree(submission, tmp_path / "wt" / eid, f"exp/{eid}") for eid in ("a", "b")
    }

    def experiment(eid: str) -> ExecResult:
        # Same file names in both: each writes its own value, waits, reads it back.
        cmd = (
            f"echo 'LR = {eid}' > train.py; echo {eid} > result.txt; sleep 1; "
            "cat result.txt train.py"
        )
        return any_sandbox.run(cmd, trees[eid], timeout=60)

    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(trees, pool.map(experiment, trees), strict=True))
    for eid, res in results.items():
        assert res.status == "ok", res
        assert res.stdout.split() == [eid, "LR", "=", eid]
        assert (trees[eid] / "result.txt").read_text() == f"{eid}\n"
    assert (submission / "train.py").read_text() == "LR = 0.1\n"
    assert not (submission / "result.txt").exists()

    merged = merge_worktree(submission, "exp/a")
    assert _git(submission, "rev-parse", "HEAD").strip() == merged
    assert (submission / "train.py").read_text() == "LR = a\n"
    for eid, wt in trees.items():
        remove_worktree(submission, wt, delete_branch=eid == "b")
        assert not wt.exists()
    branches = _git(submission, "branch", "--format=%(refname:short)").split()
    assert "exp/a" in branches and "exp/b" not in branches


def test_merge_after_uncommitted_work_is_clean(submission: Path, tmp_path: Path) -> None:
    (submission / "train.py").write_text("LR = 0.2\n")
    wt = create_worktree(submission, tmp_path / "wt" / "e2", "exp/e2")
    (wt / "model.py").write_text("DEPTH = 3\n")
    merge_worktree(submission, "exp/e2")
    assert (submission / "train.py").read_text() == "LR = 0.2\n"
    assert (submission / "model.py").read_text() == "DEPTH = 3\n"
    assert _git(submission, "status", "--porcelain").strip() == ""


def test_conflicting_merge_is_refused_and_leaves_the_repo_clean(
    submission: Path, tmp_path: Path
) -> None:
    wt = create_worktree(submission, tmp_path / "wt" / "e3", "exp/e3")
    (wt / "train.py").write_text("LR = 'experiment'\n")
    (submission / "train.py").write_text("LR = 'main moved on'\n")
    _git(submission, "commit", "-qam", "main changed train.py")
    head = _git(submission, "rev-parse", "HEAD")
    with pytest.raises(SandboxError, match="train.py"):
        merge_worktree(submission, "exp/e3")
    assert _git(submission, "rev-parse", "HEAD") == head
    assert _git(submission, "status", "--porcelain").strip() == ""


def test_existing_branch_is_refused(submission: Path, tmp_path: Path) -> None:
    create_worktree(submission, tmp_path / "wt" / "x", "exp/x")
    with pytest.raises(SandboxError, match="exp/x"):
        create_worktree(submission, tmp_path / "wt" / "y", "exp/x")
