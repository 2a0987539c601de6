"""Clean-room validation of ``reproduce.sh``: does the committed submission reproduce?

A fresh ``git clone`` of ``submission/`` at HEAD (so untracked and uncommitted files are
absent), ``bash reproduce.sh`` in the sandbox with the allow-list environment and a
timeout, output to ``reproduce.log``. The verdict is a record for ``run.json``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Literal

import msgspec

from aiscientist.errors import SandboxError
from aiscientist.sandbox.base import ExecStatus, Limits, Sandbox

CleanroomStatus = ExecStatus | Literal["not_a_repo", "no_reproduce_sh"]


class CleanroomVerdict(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of one clean-room run of ``reproduce.sh``."""

    schema_version: int = 1
    passed: bool
    status: CleanroomStatus
    reason: str
    duration_s: float
    commit: str = ""
    exit_code: int | None = None
    log_path: str = ""
    backend: str = ""


def validate_reproduce(
    submission: Path,
    log_path: Path,
    sandbox: Sandbox,
    timeout: float,
    *,
    limits: Limits | None = None,
    output_dir: Path | None = None,
) -> CleanroomVerdict:
    """Clone ``submission`` at HEAD, run ``bash reproduce.sh`` in ``sandbox``, judge it.

    The clone lives in a temporary directory removed afterwards, or in ``output_dir`` (kept,
    for a judge that reads the files ``reproduce.sh`` produced)."""
    submission = Path(submission).resolve()
    log_path = Path(log_path)
    start = time.monotonic()

    def verdict(status: CleanroomStatus, reason: str, **kw: object) -> CleanroomVerdict:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        if not log_path.exists() or status in ("not_a_repo", "no_reproduce_sh"):
            log_path.write_text(f"[clean-room] {reason}\n")
        return msgspec.convert(
            {
                "passed": status == "ok",
                "status": status,
                "reason": reason,
                "duration_s": time.monotonic() - start,
                "log_path": str(log_path),
                **kw,
            },
            CleanroomVerdict,
        )

    probe = host_git(submission, "rev-parse", "HEAD")
    if probe.returncode != 0 or not (submission / ".git").exists():
        return verdict(
            "not_a_repo",
            f"{str(submission)!r} is not a git repository with a commit; "
            "commit the submission (git init && git add -A && git commit) first",
        )
    commit = probe.stdout.strip()
    tmp: str | None = None
    if output_dir is None:
        tmp = tempfile.mkdtemp(prefix="aiscientist-cleanroom-")
        clone = Path(tmp) / "submission"
    else:
        clone = Path(output_dir).resolve()
        if clone.exists():
            shutil.rmtree(clone)
    try:
        cloned = subprocess.run(
            [
                *HOST_GIT,
                "clone",
                "-q",
                "--no-hardlinks",
                str(submission),
                str(clone),
            ],
            capture_output=True,
            text=True,
        )
        if cloned.returncode != 0:
            raise SandboxError(f"git clone of {str(submission)!r} failed: {cloned.stderr.strip()}")
        if not (clone / "reproduce.sh").is_file():
            return verdict(
                "no_reproduce_sh",
                f"reproduce.sh is not committed at {commit[:12]} (an untracked or uncommitted "
                "file does not count); git add reproduce.sh && git commit",
                commit=commit,
            )
        result = sandbox.run(
            "bash reproduce.sh",
            clone,
            env={},
            limits=limits,
            timeout=timeout,
            log_path=log_path,
        )
        reason = result.reason or "reproduce.sh exited 0 in a fresh clone"
        return verdict(
            result.status,
            reason,
            commit=commit,
            exit_code=result.exit_code,
            backend=result.backend,
        )
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


HOST_GIT = (
    "git",
    "-c",
    "safe.directory=*",
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.hooksPath=/dev/null",
)
"""git on the host, over a repository untrusted code has written: its ``.git/config`` can name
commands git runs (``core.fsmonitor`` on ``ls-files`` and ``status``, hooks on ``commit``);
command-line settings win over the repository's, so none of them runs outside the sandbox."""


def host_git(repo: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``git -C repo ARGS`` on the host with ``HOST_GIT``'s settings; output captured."""
    return subprocess.run([*HOST_GIT, "-C", str(repo), *args], capture_output=True, text=True)
