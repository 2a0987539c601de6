"""The ``Sandbox`` protocol: run an untrusted command with limits, report what happened."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Protocol

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
