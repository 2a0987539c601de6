"""``LocalSandbox``: run a command as a subprocess in its own process group.

Protections, each applied where the machine allows it:

- environment allow-list (``ENV_ALLOWLIST`` plus the explicit ``env``): no API keys inside;
- its own session / process group, killed as a whole on timeout and after exit;
- output (stdout + stderr) captured to ``log_path`` with a size cap;
- hardening (bubblewrap, rlimits, pids cgroup) lives in ``_harden``.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from aiscientist.errors import SandboxError
from aiscientist.sandbox import _harden
from aiscientist.sandbox._output import OutputCapture, classify
from aiscientist.sandbox.base import ENV_ALLOWLIST, ExecResult, Limits, Mount, check_run

log = logging.getLogger(__name__)


def sandbox_env(env: dict[str, str] | None, home: str | None = None) -> dict[str, str]:
    """The environment a sandboxed command sees: the allow-list, the caller's ``env``, and
    the running interpreter's bin directory first on PATH (so ``python`` has our packages)."""
    out = {k: os.environ[k] for k in ENV_ALLOWLIST if k in os.environ}
    bindir = str(Path(sys.executable).parent)
    path = out.get("PATH", "/usr/local/bin:/usr/bin:/bin")
    parts = [p for p in path.split(os.pathsep) if p and p != bindir]
    out["PATH"] = os.pathsep.join([bindir, *parts])
    if sys.prefix != sys.base_prefix:
        out["VIRTUAL_ENV"] = sys.prefix
    out.setdefault("LANG", "C.UTF-8")
    out["PYTHONUNBUFFERED"] = "1"
    if home is not None:
        out["HOME"] = home
    out.update(env or {})
    return out


class LocalSandbox:
    """Subprocess sandbox; uses bubblewrap when present unless ``use_bwrap=False``."""

    def __init__(self, *, use_bwrap: bool | None = None, network: bool = False) -> None:
        self.network = network
        available = _harden.bwrap_path() is not None
        if use_bwrap and not available:
            raise SandboxError(
                "use_bwrap=True but bubblewrap ('bwrap') is not on PATH; "
                "install it (apt-get install bubblewrap) or pass use_bwrap=None"
            )
        if use_bwrap is None and not available:
            _harden.warn_no_bwrap_once()
        self.use_bwrap = available if use_bwrap is None else use_bwrap
        self.name = "bwrap" if self.use_bwrap else "local"

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
        """Run ``command`` with ``bash -c`` in ``workdir`` (read-write) and wait for it."""
        workdir, limits = check_run(command, workdir, timeout, limits)
        mounts = list(mounts or [])
        cgroup = _harden.PidsCgroup.create(limits.max_processes)
        argv = ["bash", "-c", command]
        if self.use_bwrap:
            argv = _harden.bwrap_argv(argv, workdir, mounts, limits, network=self.network)
            full_env = sandbox_env(env, home="/tmp")
        else:
            _harden.link_mounts(workdir, mounts)
            full_env = sandbox_env(env)
        argv = _harden.limits_prefix(limits, cgroup) + argv
        if limits.gpus:  # Ray's assignment wins over whatever the parent had
            full_env["CUDA_VISIBLE_DEVICES"] = ",".join(limits.gpus)
        capture = OutputCapture(log_path, limits.log_bytes)
        start = time.monotonic()
        try:
            proc = subprocess.Popen(
                argv,
                cwd=workdir,
                env=full_env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            if cgroup is not None:
                cgroup.remove()
            raise SandboxError(f"could not start {argv[0]!r}: {exc}") from exc
        assert proc.stdout is not None
        reader = threading.Thread(
            target=capture.pump,
            args=(_chunks(proc.stdout), lambda: _kill_group(proc)),
            daemon=True,
        )
        reader.start()
        timed_out = False
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            _kill_group(proc)
            proc.wait()
            reader.join(timeout=5)
            if cgroup is not None:
                cgroup.kill_all()
                if cgroup.limit_hits() and not capture.killed_for:
                    capture.killed_for = (
                        f"process limit reached ({cgroup.limit_hits()} forks refused "
                        f"at max_processes={limits.max_processes})"
                    )
                cgroup.remove()
            capture.close()
        duration = time.monotonic() - start
        status, reason = classify(
            proc.returncode,
            timed_out=timed_out,
            timeout=timeout,
            text=capture.text(),
            killed_for=capture.killed_for,
        )
        return ExecResult(
            status=status,
            exit_code=proc.returncode,
            stdout=capture.text(),
            duration_s=duration,
            reason=reason,
            truncated=capture.truncated,
            backend=self.name,
        )


def _chunks(stream: IO[bytes]) -> Iterator[bytes]:
    while chunk := stream.read1(65536):  # type: ignore[attr-defined]
        yield chunk


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
