"""Sandboxed execution of untrusted code: the ``Sandbox`` protocol, ``LocalSandbox``
(subprocess + bubblewrap + rlimits + pids cgroup), ``DockerSandbox`` (in
``sandbox.docker_sandbox``, imported lazily so the docker SDK stays optional), git worktrees
per experiment, and clean-room validation of ``reproduce.sh``.

Owns only how a command runs and what it can see. It must not know the workspace layout
beyond the paths it is handed, and only ``sandbox/docker*.py`` imports the docker SDK.
"""

from aiscientist.sandbox.base import ENV_ALLOWLIST, ExecResult, ExecStatus, Limits, Mount, Sandbox
from aiscientist.sandbox.cleanroom import CleanroomVerdict, validate_reproduce
from aiscientist.sandbox.factory import docker_ready, make_sandbox
from aiscientist.sandbox.local import LocalSandbox, sandbox_env
from aiscientist.sandbox.worktree import (
    create_worktree,
    ensure_repo,
    merge_worktree,
    remove_worktree,
    snapshot,
)

__all__ = [
    "ENV_ALLOWLIST",
    "CleanroomVerdict",
    "ExecResult",
    "ExecStatus",
    "Limits",
    "LocalSandbox",
    "Mount",
    "Sandbox",
    "create_worktree",
    "docker_ready",
    "ensure_repo",
    "make_sandbox",
    "merge_worktree",
    "remove_worktree",
    "sandbox_env",
    "snapshot",
    "validate_reproduce",
]
