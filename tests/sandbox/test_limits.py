"""Runaway commands are stopped and reported as what they are."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from aiscientist.errors import SandboxError
from aiscientist.sandbox import Limits, Sandbox


def _alive_with(token: str) -> list[int]:
    """Host pids whose command line contains ``token``."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        if token.encode() in cmdline:
            pids.append(int(proc.name))
    return pids


def test_fork_bomb_is_stopped_and_reported_killed(any_sandbox: Sandbox, tmp_path: Path) -> None:
    token = f"bomb{uuid.uuid4().hex[:8]}"
    start = time.monotonic()
    # the shell stays up a while: `wait` alone returns as soon as its own two children have
    # forked and exited, and on a loaded machine that came before the bomb reached the limit
    # (the group is killed when the command ends, so no fork was ever refused)
    res = any_sandbox.run(
        f"{token}(){{ {token}|{token}& }}; {token}; sleep 3",
        tmp_path,
        limits=Limits(max_processes=32),
        timeout=30,
        log_path=tmp_path / "run.log",
    )
    if any_sandbox.name == "docker" and res.status == "ok":
        # Docker's pids limit contains the bomb, but when the shell dies without printing a
        # fork error, the evidence (the container's pids cgroup) is gone once it exits: the
        # run can only be reported as what it looked like, a quick clean exit.
        assert res.exit_code == 0 and res.duration_s < 10, res
    else:
        assert res.status == "killed", res
        assert "process limit" in res.reason
    assert time.monotonic() - start < 20  # stopped by the limit, not by the timeout
    time.sleep(0.2)
    assert _alive_with(token) == []


def test_memory_hog_is_reported_oom(any_sandbox: Sandbox, tmp_path: Path) -> None:
    res = any_sandbox.run(
        "tail /dev/zero",  # buffers one endless line: grows until the memory limit
        tmp_path,
        limits=Limits(memory_bytes=256 * 1024**2),
        timeout=60,
    )
    assert res.status == "oom", res


def test_python_memory_hog_is_reported_oom(any_sandbox: Sandbox, tmp_path: Path) -> None:
    res = any_sandbox.run(
        "python -c 'x = bytearray(8 * 1024**3)'",
        tmp_path,
        limits=Limits(memory_bytes=1024**3),
        timeout=60,
    )
    assert res.status == "oom", res
    if any_sandbox.name != "docker":  # RLIMIT_AS refuses the allocation; a cgroup kills it
        assert "MemoryError" in res.stdout


def test_python_growing_past_the_memory_limit_is_reported_oom(
    any_sandbox: Sandbox, tmp_path: Path
) -> None:
    """An experiment that grows step by step (a list of arrays), as a leaky training loop
    does, rather than asking for everything at once."""
    res = any_sandbox.run(
        "python -c 'import numpy as np\nxs = []\nwhile True: xs.append(np.ones(2**24))'",
        tmp_path,
        limits=Limits(memory_bytes=512 * 1024**2),
        timeout=60,
    )
    assert res.status == "oom", res


def test_python_writing_past_the_file_size_limit_is_cut_short(
    any_sandbox: Sandbox, tmp_path: Path
) -> None:
    res = any_sandbox.run(
        'python -c \'open("big", "wb").write(bytes(3 * 1024**2))\'; echo exit=$?',
        tmp_path,
        limits=Limits(file_size_bytes=1024**2),
        timeout=60,
    )
    assert "exit=0" not in res.stdout, res
    assert (tmp_path / "big").stat().st_size <= 1024**2


def test_sleep_forever_times_out_and_nothing_survives(any_sandbox: Sandbox, tmp_path: Path) -> None:
    token = f"sleeper{uuid.uuid4().hex[:8]}"
    start = time.monotonic()
    res = any_sandbox.run(
        f"{token}() {{ sleep 1000; }}; {token} & {token}; : {token}", tmp_path, timeout=1.5
    )
    elapsed = time.monotonic() - start
    assert res.status == "timeout", res
    assert elapsed < 10
    time.sleep(0.2)
    assert _alive_with(token) == []


def test_cpu_time_limit_is_reported(any_sandbox: Sandbox, tmp_path: Path) -> None:
    res = any_sandbox.run("while :; do :; done", tmp_path, limits=Limits(cpu_seconds=1), timeout=30)
    assert res.status == "timeout", res
    assert "CPU" in res.reason


def test_output_is_capped_and_keeps_head_and_tail(any_sandbox: Sandbox, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    res = any_sandbox.run(
        "echo FIRST-LINE; i=0; while [ $i -lt 20000 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxx;"
        " i=$((i+1)); done; echo LAST-LINE",
        tmp_path,
        limits=Limits(log_bytes=16 * 1024),
        timeout=60,
        log_path=log,
    )
    assert res.status == "ok", res.reason
    assert res.truncated
    text = log.read_text()
    assert len(text) < 17 * 1024
    assert text.startswith("FIRST-LINE") and text.rstrip().endswith("LAST-LINE")
    assert "bytes of output dropped" in text


def test_exit_code_is_reported_failed(any_sandbox: Sandbox, tmp_path: Path) -> None:
    res = any_sandbox.run("echo about to fail; exit 3", tmp_path, timeout=30)
    assert (res.status, res.exit_code) == ("failed", 3)
    assert "about to fail" in res.reason


def test_local_rlimits_are_the_ones_asked_for(local_sandbox: Sandbox, tmp_path: Path) -> None:
    """The limits are applied by a shell prefix before exec (no Python preexec_fn, so the
    sandbox starts with vfork): the command sees exactly the values asked for, in the right
    units, and a write past the file-size limit is cut short."""
    limits = Limits(memory_bytes=512 * 1024**2, cpu_seconds=7, file_size_bytes=1024**2)
    res = local_sandbox.run(
        "echo as=$(ulimit -v) fsize=$(ulimit -f) cpu=$(ulimit -t) cpuhard=$(ulimit -H -t);"
        " head -c 3000000 /dev/zero > big; echo wrote=$(stat -c %s big)",
        tmp_path,
        limits=limits,
        timeout=30,
    )
    assert "as=524288 fsize=1024 cpu=7 cpuhard=12" in res.stdout, res
    assert "wrote=1048576" in res.stdout, res
    assert (tmp_path / "big").stat().st_size == 1024**2


@pytest.mark.parametrize(
    ("command", "timeout", "needle"),
    [
        ("echo \x00 hi", 30.0, "NUL"),
        ("echo " + "x" * 200_000, 30.0, "bytes"),
        ("echo hi", 0.0, "timeout"),
        ("echo hi", -5.0, "timeout"),
        ("echo hi", float("nan"), "timeout"),
    ],
    ids=["nul", "too-long", "zero-timeout", "negative-timeout", "nan-timeout"],
)
def test_a_command_no_backend_can_run_is_refused_before_it_starts(
    any_sandbox: Sandbox, tmp_path: Path, command: str, timeout: float, needle: str
) -> None:
    """The same clear error from every backend (it was a ValueError from subprocess or the
    Docker client, or a container that failed to exec)."""
    with pytest.raises(SandboxError, match=needle):
        any_sandbox.run(command, tmp_path, timeout=timeout)
