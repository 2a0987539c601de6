"""Clean-room validation: only what is committed in submission/ counts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import msgspec
import pytest

from aiscientist.sandbox import Sandbox, validate_reproduce


def commit_all(path: Path) -> Path:
    """Make ``path`` a git repository whose one commit holds every file in it now."""
    path.mkdir(parents=True, exist_ok=True)
    git = ["git", "-C", str(path), "-c", "user.name=t", "-c", "user.email=t@localhost"]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "--allow-empty", "-m", "submission"], check=True)
    return path


@pytest.fixture
def submission(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global-gitconfig"))
    sub = tmp_path / "submission"
    sub.mkdir()
    (sub / "reproduce.sh").write_text(
        "set -e\necho reproducing\ncat data.txt\necho metric=0.93 > results.txt\necho done\n"
    )
    return sub


def test_reproduce_depending_on_an_uncommitted_file_fails(
    isolating_sandbox: Sandbox, submission: Path, tmp_path: Path
) -> None:
    commit_all(submission)  # commits reproduce.sh only
    (submission / "data.txt").write_text("present only in the working tree\n")
    # It does work in the dirty working tree...
    assert subprocess.run(["bash", "reproduce.sh"], cwd=submission).returncode == 0
    # ...but not from a fresh clone of HEAD.
    log = tmp_path / "reproduce.log"
    verdict = validate_reproduce(submission, log, isolating_sandbox, timeout=60)
    assert not verdict.passed
    assert verdict.status == "failed"
    assert "exit code 1" in verdict.reason  # the log tail order of stdout/stderr varies
    assert "data.txt" in log.read_text()


def test_correct_reproduce_passes_and_writes_the_log(
    isolating_sandbox: Sandbox, submission: Path, tmp_path: Path
) -> None:
    (submission / "data.txt").write_text("committed data\n")
    commit_all(submission)
    log = tmp_path / "logs" / "reproduce.log"
    out = tmp_path / "clean"
    verdict = validate_reproduce(submission, log, isolating_sandbox, timeout=60, output_dir=out)
    assert verdict.passed and verdict.status == "ok", verdict
    assert "committed data" in log.read_text() and "done" in log.read_text()
    assert (out / "results.txt").read_text() == "metric=0.93\n"
    assert not (submission / "results.txt").exists()  # the submission itself is untouched
    head = subprocess.run(
        ["git", "-C", str(submission), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    assert verdict.commit == head
    # The verdict is a record that round-trips through JSON (it goes into run.json).
    assert msgspec.json.decode(msgspec.json.encode(verdict), type=type(verdict)) == verdict


def test_uncommitted_reproduce_sh_is_reported(
    isolating_sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(tmp_path / "no-global-gitconfig"))
    sub = commit_all(tmp_path / "empty-submission")
    (sub / "reproduce.sh").write_text("echo hi\n")  # never committed
    verdict = validate_reproduce(sub, tmp_path / "r.log", isolating_sandbox, timeout=30)
    assert (verdict.passed, verdict.status) == (False, "no_reproduce_sh")
    not_repo = tmp_path / "plain"
    not_repo.mkdir()
    verdict = validate_reproduce(not_repo, tmp_path / "r2.log", isolating_sandbox, timeout=30)
    assert verdict.status == "not_a_repo"


def test_reproduce_that_hangs_times_out(
    isolating_sandbox: Sandbox, submission: Path, tmp_path: Path
) -> None:
    (submission / "reproduce.sh").write_text("echo start\nsleep 600\n")
    commit_all(submission)
    verdict = validate_reproduce(submission, tmp_path / "r.log", isolating_sandbox, timeout=1.5)
    assert (verdict.passed, verdict.status) == (False, "timeout")
    assert verdict.duration_s < 15
