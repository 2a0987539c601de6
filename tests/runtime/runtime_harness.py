"""Helpers for runtime tests that run the CLI in subprocesses which own their Ray.

Each subprocess gets its own session (process group) and its own ``RAY_TMPDIR``, so killing
the group SIGKILLs the driver and its embedded Ray together, and any Ray process that
survives is found by its temp dir and ended by pid.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aiscientist.messages import DelegationEvent, ResultEvent
from aiscientist.workspace.journal import Journal

REPO = Path(__file__).resolve().parents[2]
FAST_TEAM = Path(__file__).resolve().parent / "data" / "fast-team.yaml"


def cli_env(ray_tmp: str | None = None) -> dict[str, str]:
    env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    if ray_tmp is not None:
        env["RAY_TMPDIR"] = ray_tmp
    return env


def ray_tmpdir() -> str:
    """A short temp dir (Ray's socket paths must stay under ~100 characters)."""
    return tempfile.mkdtemp(prefix="rt", dir="/tmp")


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "aiscientist.cli", *args]


def start(args: list[str], ray_tmp: str, log: Path) -> subprocess.Popen[bytes]:
    """Start the CLI in its own process group, output to ``log``."""
    return start_command(cli(*args), ray_tmp, log)


def start_command(command: list[str], ray_tmp: str, log: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` (which owns its Ray) in its own process group, output to ``log``."""
    fh = open(log, "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        command,
        cwd=REPO,
        env=cli_env(ray_tmp),
        stdout=fh,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _pids_using(marker: str) -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            cmd = (p / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in cmd:
            pids.append(int(p.name))
    return pids


def kill_all(proc: subprocess.Popen[bytes], ray_tmp: str) -> None:
    """SIGKILL the driver's process group, then any process of its Ray still alive."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _pids_using(ray_tmp):
        time.sleep(0.2)
    for pid in _pids_using(ray_tmp):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    shutil.rmtree(ray_tmp, ignore_errors=True)


def wait_for(
    cond: Callable[[], bool], proc: subprocess.Popen[bytes], timeout: float, log: Path
) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if proc.poll() is not None:
            raise AssertionError(f"run ended before the kill point:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(
                f"kill point not reached in {timeout}s:\n{log.read_text()[-3000:]}"
            )
        time.sleep(0.05)


def run_dir_in(root: Path) -> Path | None:
    dirs = [d for d in root.iterdir() if (d / "run.json").exists()] if root.exists() else []
    return dirs[0] if dirs else None


def results(run_dir: Path) -> list[str]:
    return [e.result.delegation_id for e in Journal(run_dir).events() if isinstance(e, ResultEvent)]


def delegations(run_dir: Path) -> list[tuple[str, str]]:
    return [
        (e.delegation.id, e.delegation.role)
        for e in Journal(run_dir).events()
        if isinstance(e, DelegationEvent)
    ]


def experiments(run_dir: Path) -> list[Path]:
    return sorted((run_dir / "agent" / "experiments").glob("exp-*"))


def attempt_count(exp: Path) -> int:
    return len(list((exp / "attempts").glob("*.json")))


def manifest(run_dir: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((run_dir / "run.json").read_text())
    return data


def run_until_killed(
    args: list[str], root: Path, tmp_path: Path, kill_when: Callable[[Path], bool]
) -> Path:
    """Start ``aiscientist ARGS`` (a run writing under ``root``), SIGKILL it and its Ray once
    ``kill_when(run_dir)`` holds, and return the run directory (still marked running)."""
    ray_tmp = ray_tmpdir()
    log = tmp_path / "run.log"
    proc = start(args, ray_tmp, log)
    try:
        wait_for(
            lambda: (rd := run_dir_in(root)) is not None and kill_when(rd),
            proc,
            timeout=400,
            log=log,
        )
    finally:
        kill_all(proc, ray_tmp)
    run_dir = run_dir_in(root)
    assert run_dir is not None
    assert manifest(run_dir)["status"] == "running", "the killed driver never wrote an end"
    return run_dir


def finished_experiments(run_dir: Path) -> dict[str, tuple[int, int]]:
    """Per finished experiment: (attempts, mtime of result.json), to show nothing reran."""
    return {
        e.name: (attempt_count(e), (e / "result.json").stat().st_mtime_ns)
        for e in experiments(run_dir)
        if (e / "result.json").exists()
    }
