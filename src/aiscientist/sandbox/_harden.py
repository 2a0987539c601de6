"""Hardening for ``LocalSandbox``: bubblewrap arguments, rlimits, a pids cgroup.

Why a pids cgroup: ``RLIMIT_NPROC`` is not enforced for root (and in a user namespace
mapped to root), and for other users it counts every process of the user, not just the
sandbox's. A child cgroup of our own pids cgroup with ``pids.max`` caps exactly the sandbox.
Where cgroups are not writable we fall back to ``RLIMIT_NPROC`` (effective for non-root).
"""

from __future__ import annotations

import contextlib
import glob
import logging
import os
import shlex
import shutil
import signal
import time
import uuid
from pathlib import Path

from aiscientist.errors import SandboxError
from aiscientist.sandbox.base import Limits, Mount

log = logging.getLogger(__name__)
_warned: set[str] = set()


def warn_once(key: str, message: str) -> None:
    """Log ``message`` as a warning the first time ``key`` is seen in this process."""
    if key not in _warned:
        _warned.add(key)
        log.warning(message)


def bwrap_path() -> str | None:
    """Path of the bubblewrap binary, or None when it is not installed."""
    return shutil.which("bwrap")


def warn_no_bwrap_once() -> None:
    warn_once(
        "no-bwrap",
        "bubblewrap ('bwrap') is not installed: LocalSandbox runs WITHOUT a private network, "
        "read-only root or hidden paths (environment allow-list, rlimits, process-group kill "
        "and the pids cgroup still apply); install it with 'apt-get install bubblewrap'",
    )


def bwrap_argv(
    argv: list[str], workdir: Path, mounts: list[Mount], limits: Limits, *, network: bool
) -> list[str]:
    """Wrap ``argv`` in bubblewrap: read-only root, private /tmp, ``workdir`` read-write."""
    bw = bwrap_path()
    if bw is None:
        raise SandboxError("bubblewrap ('bwrap') is not installed; apt-get install bubblewrap")
    out = [bw, "--die-with-parent", "--new-session", "--unshare-pid", "--unshare-ipc"]
    out += ["--unshare-uts", "--hostname", "sandbox", "--unshare-user", "--uid", "1000"]
    out += ["--gid", "1000", "--unshare-cgroup-try"]
    if not network:
        out.append("--unshare-net")
    out += ["--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    out += ["--tmpfs", "/tmp", "--tmpfs", "/dev/shm"]
    for gpu_dev in _gpu_devices(limits.gpus):
        out += ["--dev-bind", gpu_dev, gpu_dev]
    # Parents before children (by target depth), so a mount inside the workdir lands on
    # top of it and a workdir inside a read-only mount stays writable, even under /tmp.
    binds: list[tuple[Path, Path, bool]] = [(workdir, workdir, False)]
    binds += [(p, p, True) for p in interpreter_paths()]
    for m in mounts:
        src = Path(m.source).resolve()
        if not src.exists():
            raise SandboxError(f"mount source {str(src)!r} does not exist; create it or drop it")
        binds.append((src, _target(workdir, m.target), m.read_only))
    for src, tgt, read_only in sorted(binds, key=lambda b: len(b[1].parts)):
        out += ["--ro-bind" if read_only else "--bind", str(src), str(tgt)]
    for hidden in limits.hide:
        p = Path(hidden)
        if p.is_dir():
            out += ["--tmpfs", str(p)]
        elif p.exists():
            out += ["--ro-bind", "/dev/null", str(p)]
    out += ["--chdir", str(workdir), "--"]
    return out + argv


_PRIVATE_DIRS = (Path("/tmp"), Path("/dev/shm"))


def interpreter_paths() -> list[Path]:
    """What the project's own Python needs that the sandbox's private ``/tmp`` would hide: the
    interpreter's prefixes and every import path (a venv or an editable checkout under /tmp,
    as in a CI clone). Bound read-only so ``python`` inside is the project's interpreter."""
    import sys

    candidates = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.executable).parent}
    candidates.update(Path(p) for p in sys.path if p)
    out: list[Path] = []
    for c in sorted(candidates):
        try:
            path = c.resolve()
        except OSError:
            continue
        if path.is_dir() and any(path.is_relative_to(d) for d in _PRIVATE_DIRS):
            if not any(path.is_relative_to(o) for o in out):
                out.append(path)
    return out


def _target(workdir: Path, target: Path) -> Path:
    target = Path(target)
    return target if target.is_absolute() else workdir / target


def _gpu_devices(gpus: tuple[str, ...]) -> list[str]:
    if not gpus:
        return []
    return sorted(glob.glob("/dev/nvidia*")) + sorted(glob.glob("/dev/dri/*"))


def link_mounts(workdir: Path, mounts: list[Mount]) -> None:
    """Without bubblewrap, make mounts visible as symlinks (read-only is NOT enforced)."""
    for m in mounts:
        src = Path(m.source).resolve()
        tgt = _target(workdir, m.target)
        if tgt == src:
            continue
        if not tgt.is_relative_to(workdir):
            raise SandboxError(
                f"without bubblewrap a mount target must be the source itself or inside the "
                f"workdir, got {str(tgt)!r}; install bubblewrap or use a relative target"
            )
        if not tgt.exists() and not tgt.is_symlink():
            tgt.parent.mkdir(parents=True, exist_ok=True)
            tgt.symlink_to(src)
    if any(m.read_only for m in mounts):
        warn_once("no-bwrap-ro", "read-only mounts are not enforced without bubblewrap")


class PidsCgroup:
    """A child pids cgroup capping the number of tasks of one sandboxed command."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, max_processes: int | None) -> PidsCgroup | None:
        """Create one under our own pids cgroup, or return None where that is not allowed."""
        if max_processes is None:
            return None
        base = _own_pids_cgroup()
        if base is None:
            return None
        path = base / f"aiscientist-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(max_processes))
        except OSError as exc:
            with contextlib.suppress(OSError):
                path.rmdir()
            warn_once("no-cgroup", f"pids cgroup unavailable ({exc}); using RLIMIT_NPROC")
            return None
        return cls(path)

    def procs_file(self) -> str:
        return str(self.path / "cgroup.procs")

    def limit_hits(self) -> int:
        """How many forks the ``pids.max`` limit refused (0 when unknown)."""
        try:
            for line in (self.path / "pids.events").read_text().splitlines():
                key, _, value = line.partition(" ")
                if key == "max":
                    return int(value)
        except (OSError, ValueError):
            pass
        return 0

    def kill_all(self) -> None:
        for _ in range(50):
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except OSError:
                return
            if not pids:
                return
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.02)

    def remove(self) -> None:
        for attempt in range(60):
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:  # EBUSY until the last task is reaped
                time.sleep(min(0.002 * (attempt + 1), 0.05))
        warn_once("cgroup-leak", f"could not remove cgroup {str(self.path)!r}")


def _own_pids_cgroup() -> Path | None:
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        _, controllers, rel = line.split(":", 2)
        if "pids" in controllers.split(","):
            base = Path("/sys/fs/cgroup/pids") / rel.lstrip("/")
            if (base / "cgroup.procs").exists() and os.access(base, os.W_OK):
                return base
    for line in lines:  # cgroup v2: pids must be enabled for our children
        if line.startswith("0::"):
            base = Path("/sys/fs/cgroup") / line[3:].lstrip("/")
            try:
                enabled = (base / "cgroup.subtree_control").read_text().split()
            except OSError:
                continue
            if "pids" in enabled and os.access(base, os.W_OK):
                return base
    return None


def limits_prefix(limits: Limits, cgroup: PidsCgroup | None) -> list[str]:
    """An argv prefix that joins the pids cgroup, sets the rlimits and execs the command
    (empty when there is nothing to apply).

    bash does it (the sandbox runs commands with bash already; its ``ulimit`` flags and
    units are not those of dash) rather than a Python ``preexec_fn``: a ``preexec_fn`` makes
    ``subprocess`` fork() the whole parent and run Python in the copy, which in a Ray worker
    (22 threads, 80 MB resident) costs ~12 ms per start instead of ~1 ms with vfork, and is
    not safe in a process with threads. Every value is an integer or a quoted path."""
    # RLIMIT_AS reserves address space CUDA needs by the terabyte: skip it when GPUs are used.
    memory = None if limits.gpus else limits.memory_bytes
    nproc = limits.max_processes if cgroup is None and os.getuid() != 0 else None
    if limits.max_processes is not None and cgroup is None and os.getuid() == 0:
        warn_once("root-nproc", "running as root without a pids cgroup: no process limit")
    steps = []
    if cgroup is not None:
        steps.append(f"echo $$ > {shlex.quote(cgroup.procs_file())}")
    if limits.cpu_seconds is not None:
        cpu = int(limits.cpu_seconds)
        steps.append(f"ulimit -S -t {cpu} && ulimit -H -t {cpu + 5}")
    if memory is not None:
        steps.append(f"ulimit -v {max(1, int(memory) // 1024)}")  # KiB
    if nproc is not None:
        steps.append(f"ulimit -u {int(nproc)}")
    if limits.file_size_bytes is not None:
        steps.append(f"ulimit -f {max(1, int(limits.file_size_bytes) // 1024)}")  # KiB
    if not steps:
        return []
    script = " && ".join(steps) + ' || { echo "sandbox: could not apply limits" >&2; exit 126; }'
    return ["bash", "-c", f'{script}\nexec "$@"', "sandbox-limits"]
