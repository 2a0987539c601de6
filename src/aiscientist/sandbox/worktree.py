"""One git worktree of ``submission/`` per experiment, on branch ``exp/<id>``.

Uncommitted work in ``submission/`` is *snapshotted*, not committed: ``create_worktree``
builds a commit of the working tree (HEAD + modified + untracked, non-ignored files) with a
temporary index and starts the experiment branch from it. The user's branch, index and
files are left exactly as they were, and two experiments started at once never contend for
the main index lock. ``merge_worktree`` commits what the experiment changed on its branch,
commits any pending work on the main branch (same content as the snapshot, so it merges
cleanly), then merges the branch with ``--no-ff``.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from pathlib import Path

from aiscientist.errors import SandboxError

GIT_NAME = "aiscientist"
GIT_EMAIL = "aiscientist@localhost"


def git(repo: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    """Run ``git -C repo args``; return stdout. Retries briefly on a held lock."""
    cmd = ["git", "-c", "safe.directory=*", "-C", str(repo), *args]
    full_env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", **(env or {})}
    for attempt in range(20):
        proc = subprocess.run(cmd, capture_output=True, text=True, env=full_env)
        if proc.returncode == 0 or not check:
            return proc.stdout
        if ".lock" in proc.stderr and "exists" in proc.stderr and attempt < 19:
            time.sleep(0.1 * (attempt + 1))
            continue
        raise SandboxError(
            f"git {' '.join(args)!r} failed in {str(repo)!r} (exit {proc.returncode}): "
            f"{proc.stderr.strip() or proc.stdout.strip()}"
        )
    raise AssertionError("unreachable")


def ensure_repo(path: Path) -> Path:
    """Make ``path`` a git repo with at least one commit and a local identity."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    if not (path / ".git").exists():
        git(path, "init", "-q", "-b", "main")
    if not git(path, "config", "--local", "user.email", check=False).strip():
        git(path, "config", "--local", "user.name", GIT_NAME)
        git(path, "config", "--local", "user.email", GIT_EMAIL)
    if not git(path, "rev-parse", "--verify", "-q", "HEAD", check=False).strip():
        git(path, "add", "-A")
        git(path, "commit", "-q", "--allow-empty", "-m", "initial submission")
    return path


def snapshot(repo: Path, message: str) -> str:
    """A commit of the working tree (tracked changes + untracked files) on top of HEAD,
    made with a temporary index: no branch, index or file of ``repo`` changes."""
    head = git(repo, "rev-parse", "HEAD").strip()
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        git(repo, "read-tree", "HEAD", env=env)
        git(repo, "add", "-A", env=env)
        tree = git(repo, "write-tree", env=env).strip()
    if tree == git(repo, "rev-parse", "HEAD^{tree}").strip():
        return head
    return git(repo, "commit-tree", tree, "-p", head, "-m", message).strip()


def create_worktree(repo: Path, dest: Path, branch: str) -> Path:
    """Check out a new worktree of ``repo`` at ``dest`` on a new ``branch``, starting from
    a snapshot of ``repo``'s working tree (see the module docstring)."""
    repo = ensure_repo(Path(repo)).resolve()
    dest = Path(dest).resolve()
    if dest.exists() and any(dest.iterdir()):
        raise SandboxError(f"worktree destination {str(dest)!r} exists and is not empty")
    if git(repo, "rev-parse", "--verify", "-q", f"refs/heads/{branch}", check=False).strip():
        raise SandboxError(
            f"branch {branch!r} already exists in {str(repo)!r}; use a new experiment id"
        )
    base = snapshot(repo, f"snapshot of the working tree for {branch}")
    dest.parent.mkdir(parents=True, exist_ok=True)
    git(repo, "worktree", "add", "-q", "-b", branch, str(dest), base)
    return dest


def _worktree_of(repo: Path, branch: str) -> Path | None:
    current: Path | None = None
    for line in git(repo, "worktree", "list", "--porcelain").splitlines():
        if line.startswith("worktree "):
            current = Path(line[len("worktree ") :])
        elif line == f"branch refs/heads/{branch}":
            return current
    return None


def commit_all(path: Path, message: str) -> bool:
    """Commit every change in the work tree at ``path``; False when there was none."""
    git(path, "add", "-A")
    if not git(path, "status", "--porcelain").strip():
        return False
    git(path, "commit", "-q", "-m", message)
    return True


def merge_worktree(repo: Path, branch: str) -> str:
    """Merge experiment ``branch`` (a verified improvement) into ``repo``'s current branch.

    Returns the new HEAD commit. On a conflict the merge is aborted, ``repo`` is left as it
    was, and ``SandboxError`` names the conflicting files."""
    repo = ensure_repo(Path(repo)).resolve()
    tree = _worktree_of(repo, branch)
    if tree is not None and tree.exists():
        commit_all(tree, f"{branch}: experiment changes")
    commit_all(repo, f"work in progress before merging {branch}")
    proc = subprocess.run(
        [
            "git",
            "-c",
            "safe.directory=*",
            "-C",
            str(repo),
            "merge",
            "--no-ff",
            "-q",
            "-m",
            f"merge {branch}",
            branch,
        ],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        conflicts = git(repo, "diff", "--name-only", "--diff-filter=U", check=False).split()
        git(repo, "merge", "--abort", check=False)
        raise SandboxError(
            f"merging {branch!r} into {str(repo)!r} failed: {proc.stdout.strip()} "
            f"{proc.stderr.strip()} (conflicting files: {conflicts!r}); rebase the experiment "
            "on the current submission and run it again"
        )
    return git(repo, "rev-parse", "HEAD").strip()


def remove_worktree(repo: Path, dest: Path, *, delete_branch: bool = False) -> None:
    """Remove the worktree at ``dest`` (and its files); keep its branch unless asked."""
    repo = Path(repo).resolve()
    dest = Path(dest).resolve()
    branch = None
    for line in git(repo, "worktree", "list", "--porcelain").splitlines():
        if line == f"worktree {dest}":
            branch = ""
        elif branch == "" and line.startswith("branch refs/heads/"):
            branch = line[len("branch refs/heads/") :]
    if dest.exists():
        git(repo, "worktree", "remove", "--force", "--force", str(dest))
    git(repo, "worktree", "prune")
    if delete_branch and branch:
        git(repo, "branch", "-D", branch)
