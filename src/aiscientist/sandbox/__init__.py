"""Sandboxed execution of untrusted code: the ``Sandbox`` protocol, ``LocalSandbox``
(subprocess + bubblewrap + rlimits + pids cgroup), ``DockerSandbox`` (in
``sandbox.docker_sandbox``, imported lazily so the docker SDK stays optional), and clean-room
validation of ``reproduce.sh``. An experiment runs in a fresh copy of ``submission/`` that its
caller makes (``experiments.executor``), not in a git worktree.

Owns only how a command runs and what it can see. It must not know the workspace layout
beyond the paths it is handed, and only ``sandbox/docker*.py`` imports the docker SDK.
"""

from aiscientist.sandbox.base import ENV_ALLOWLIST, ExecResult, ExecStatus, Limits, Mount, Sandbox
from aiscientist.sandbox.cleanroom import CleanroomVerdict, host_git, validate_reproduce
from aiscientist.sandbox.factory import docker_ready, make_sandbox
from aiscientist.sandbox.local import LocalSandbox, sandbox_env

__all__ = [
    "ENV_ALLOWLIST",
    "CleanroomVerdict",
    "ExecResult",
    "ExecStatus",
    "Limits",
    "LocalSandbox",
    "Mount",
    "Sandbox",
    "docker_ready",
    "host_git",
    "make_sandbox",
    "sandbox_env",
    "validate_reproduce",
]
