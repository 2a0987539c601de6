"""The ``Sandbox`` protocol: run an untrusted command with limits, report what happened."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

from aiscientist.errors import SandboxError

ExecStatus = Literal["ok", "failed", "timeout", "killed", "oom", "error"]

# Variables passed into a sandbox when set in the parent; everything else is dropped, so
# API keys, tokens and credentials never reach untrusted code.
ENV_ALLOWLIST: tuple[str, ...] = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TZ",
    "PYTHONHASHSEED",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "OPENBLAS_CORETYPE",
    "OPENBLAS_L2_SIZE",
    "CUDA_VISIBLE_DEVICES",
    "VIRTUAL_ENV",
)


@dataclass(frozen=True)
class Mount:
    """A host path made visible inside the sandbox."""

    source: Path
    target: Path
    read_only: bool = True


@dataclass(frozen=True)
class Limits:
    """Resource limits; ``None`` means the backend default."""

    cpu_seconds: int | None = None
    """CPU-time limit (RLIMIT_CPU / ulimit cpu); the wall clock is ``timeout``."""
    memory_bytes: int | None = 4 * 1024**3
    """Memory cap: RLIMIT_AS locally (skipped when GPUs are used), ``mem_limit`` in Docker."""
    max_processes: int | None = 256
    """Process/thread cap: a pids cgroup (or RLIMIT_NPROC) locally, ``pids_limit`` in Docker."""
    file_size_bytes: int | None = 2 * 1024**3
    """Largest file the command may write (RLIMIT_FSIZE / ulimit fsize)."""
    log_bytes: int = 1024 * 1024
    """Cap on captured output: the first 3/4 and the last 1/4 are kept."""
    gpus: tuple[str, ...] = ()
    """GPU ids assigned to the command (Ray's assignment); empty = no GPU."""
    hide: tuple[Path, ...] = ()
    """Host paths blanked inside the sandbox (an empty tmpfs, or /dev/null for a file),
    e.g. a task's ``private/``. Enforced by bubblewrap and Docker; not without them."""
    cpus: float | None = None
    """CPU share for container backends (Docker ``nano_cpus``); ignored by LocalSandbox."""


@dataclass
class ExecResult:
    """What happened to a command."""

    status: ExecStatus
    exit_code: int | None
    stdout: str
    duration_s: float
    reason: str = ""
    truncated: bool = False
    backend: str = ""
    extra: dict[str, str] = field(default_factory=dict)


MAX_COMMAND_BYTES = 128 * 1024 - 1
"""The longest command ``bash -c`` can be handed: Linux caps one argument at 128 KiB."""


def check_run(
    command: str, workdir: Path, timeout: float, limits: Limits | None
) -> tuple[Path, Limits]:
    """What every backend checks before it starts anything (``check_command``, a working
    directory that exists); returns the absolute workdir and the limits to apply."""
    check_command(command, timeout)
    workdir = Path(workdir).resolve()
    if not workdir.is_dir():
        raise SandboxError(f"workdir {str(workdir)!r} is not a directory; create it first")
    return workdir, limits or Limits()


def check_command(command: str, timeout: float) -> None:
    """Refuse, before anything starts, a command no backend can run: a NUL byte, more than one
    argument's worth of bytes, or a timeout that is not a positive number of seconds."""
    if "\x00" in command:
        raise SandboxError(f"command {command[:80]!r} contains a NUL byte; remove it")
    size = len(command.encode("utf-8", "surrogateescape"))
    if size > MAX_COMMAND_BYTES:
        raise SandboxError(
            f"command is {size} bytes, over the {MAX_COMMAND_BYTES} a shell command can be; "
            "write it to a script file and run that"
        )
    if math.isnan(timeout) or timeout <= 0:
        raise SandboxError(f"timeout {timeout!r} must be a positive number of seconds")


class Sandbox(Protocol):
    """Runs untrusted commands: no network by default, no secrets, bounded resources."""

    name: str

    def run(
        self,
        command: str,
        workdir: Path,
        mounts: list[Mount] | None = None,
        env: dict[str, str] | None = None,
        limits: Limits | None = None,
        timeout: float = 3600.0,
        log_path: Path | None = None,
    ) -> ExecResult:
        """Run ``command`` (a shell string) in ``workdir`` (read-write) and wait for it."""
        ...
