"""Against a real `ray start --head` cluster: a batch submitted with `ray job submit`, and a
run whose driver is SIGKILLed while its experiment runs, resumed by re-attaching to the
experiment (it is not run again)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from runtime_harness import (
    FAST_TEAM,
    REPO,
    attempt_count,
    cli,
    delegations,
    experiments,
    manifest,
    results,
    run_dir_in,
    wait_for,
)

pytestmark = pytest.mark.slow
RAY = str(Path(sys.executable).parent / "ray")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Head:
    def __init__(self, gcs: int, dashboard: int, temp: str) -> None:
        self.gcs, self.dashboard, self.temp = gcs, dashboard, temp

    def env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
        env["RAY_TMPDIR"] = (
            self.temp
        )  # its address file stays here: no one else's ray.init finds it
        env.update(extra)
        return env


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Head]:
    temp = "/tmp/rh" + uuid.uuid4().hex[:6]
    h = Head(_free_port(), _free_port(), temp)
    start = [
        RAY, "start", "--head", "--node-ip-address=127.0.0.1", f"--port={h.gcs}",
        f"--dashboard-port={h.dashboard}", "--dashboard-host=127.0.0.1",
        f"--dashboard-agent-listen-port={_free_port()}", f"--ray-client-server-port={_free_port()}",
        f"--temp-dir={temp}", "--num-cpus=4", "--disable-usage-stats",
    ]  # fmt: skip
    out = subprocess.run(start, env=h.env(), capture_output=True, text=True, timeout=180)
    try:
        assert out.returncode == 0, out.stdout + out.stderr
        yield h
    finally:
        # like `ray stop`, but only this head's processes (found by its temp dir), by pid:
        # `ray stop` would also end the Ray instances of other tests on this machine.
        _stop_head(temp)


def _head_pids(temp: str) -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                if temp.encode() in (p / "cmdline").read_bytes():
                    pids.append(int(p.name))
            except OSError:
                continue
    return pids


def _stop_head(temp: str) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in _head_pids(temp):
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while _head_pids(temp) and time.monotonic() < deadline:
            time.sleep(0.2)
    shutil.rmtree(temp, ignore_errors=True)


RUNTIME_ENV = {
    "excludes": [".venv", ".git", "runs", "bench-results", "*.pyc", ".mypy_cache"],
    "env_vars": {"RAY_AUTH_MODE": "disabled", "LITELLM_LOCAL_MODEL_COST_MAP": "True"},
}


def submit_batch(
    head: Head, batch: Path, spec: dict[str, object], prefix: str, timeout: float = 600
) -> tuple[str, str, subprocess.CompletedProcess[str]]:
    """Write ``spec`` to ``batch`` and submit ``aiscientist batch`` as a Ray job with the
    repository as its working dir; returns (job id, dashboard address, the CLI's output)."""
    batch.write_text(json.dumps(spec))
    job_id = f"{prefix}-{uuid.uuid4().hex[:6]}"
    address = f"http://127.0.0.1:{head.dashboard}"
    out = subprocess.run(
        [
            RAY,
            "job",
            "submit",
            f"--address={address}",
            f"--submission-id={job_id}",
            "--working-dir",
            ".",
            f"--runtime-env-json={json.dumps(RUNTIME_ENV)}",
            "--",
            sys.executable,
            "-m",
            "aiscientist.cli",
            "batch",
            str(batch),
        ],  # fmt: skip
        cwd=REPO,
        env=head.env(),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return job_id, address, out


def test_batch_submitted_as_a_ray_job_runs_both_tasks(head: Head, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    spec = {
        "concurrency": 2,
        "workspace": str(root),
        "model": "scripted:tests/runtime/data/fast-team.yaml",  # in the working dir
        "set": ["sandbox.kind=local"],
        "tasks": [
            {"task": "tabular-cancer"},
            {"task": "friedman-regression", "name": "friedman"},
        ],
    }
    job_id, address, out = submit_batch(head, tmp_path / "batch.yaml", spec, "aiscientist-batch")
    from ray.job_submission import JobStatus, JobSubmissionClient

    status = JobSubmissionClient(address).get_job_status(job_id)
    assert status == JobStatus.SUCCEEDED, out.stdout[-4000:] + out.stderr[-4000:]
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("BATCH_RUN=")]
    assert len(lines) == 2 and all("\tfinished\t" in ln for ln in lines), out.stdout[-3000:]
    run_dirs = sorted(d for d in root.iterdir() if (d / "run.json").exists())
    assert len(run_dirs) == 2
    for rd in run_dirs:
        m = manifest(rd)
        assert m["status"] == "finished" and m["score"] is not None
    summary = json.loads(next(root.glob("batch-*.json")).read_text())
    assert sorted(e["name"] for e in summary) == ["friedman", "tabular-cancer"]


def test_resume_reattaches_to_an_experiment_that_outlived_its_driver(
    head: Head, tmp_path: Path
) -> None:
    root = tmp_path / "runs"
    env = head.env(RAY_ADDRESS=f"127.0.0.1:{head.gcs}")
    log = tmp_path / "run.log"
    args = ["run", "tabular-cancer", "--workspace", str(root), "--model", f"scripted:{FAST_TEAM}"]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            cli(*args, "--set", "sandbox.kind=local"), cwd=REPO, env=env, stdout=fh, stderr=fh
        )
    try:

        def running() -> bool:
            rd = run_dir_in(root)
            return rd is not None and any(
                attempt_count(e) == 1 and not (e / "result.json").exists() for e in experiments(rd)
            )

        wait_for(running, proc, timeout=300, log=log)
    finally:
        proc.send_signal(signal.SIGKILL)  # the driver only: the cluster stays up
        proc.wait(timeout=30)
    run_dir = run_dir_in(root)
    assert run_dir is not None
    out = subprocess.run(
        cli("resume", str(run_dir)),
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    m = manifest(run_dir)
    assert m["status"] == "finished" and m["score"] is not None
    (exp,) = experiments(run_dir)
    assert attempt_count(exp) == 1, "the running experiment was re-attached, not started again"
    ids = [d for d, _ in delegations(run_dir)]
    assert sorted(ids) == sorted(results(run_dir)) and len(set(ids)) == len(ids)


def test_a_batch_with_the_local_model_starts_exactly_one_model_server(
    head: Head, tmp_path: Path
) -> None:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        pytest.skip("llama_cpp missing: aiscientist setup-local")
    root = tmp_path / "runs"
    spec = {
        "concurrency": 2,
        "workspace": str(root),
        "model": "local",
        # the model is first asked for a refine change (every earlier call is the
        # framework's); that call spends the token budget and the run ends
        "set": ["sandbox.kind=local", "budget.tokens=1500", "limits.specialist_steps=1"],
        "tasks": [
            {"task": "tabular-cancer"},
            {"task": "friedman-regression", "name": "friedman"},
        ],
    }
    job_id, address, out = submit_batch(
        head, tmp_path / "batch.yaml", spec, "aiscientist-local", timeout=900
    )
    from ray.job_submission import JobStatus, JobSubmissionClient
    from ray.util.state import list_actors

    status = JobSubmissionClient(address).get_job_status(job_id)
    assert status == JobStatus.SUCCEEDED, out.stdout[-4000:] + out.stderr[-4000:]
    run_dirs = sorted(d for d in root.iterdir() if (d / "run.json").exists())
    assert len(run_dirs) == 2, out.stdout[-3000:]
    servers = [
        json.loads((rd / "agent" / "state" / "model_server.json").read_text()) for rd in run_dirs
    ]
    assert servers[0]["pid"] == servers[1]["pid"] and servers[0]["job"] == servers[1]["job"]
    for rd in run_dirs:
        calls = sum(
            len(p.read_text().splitlines()) for p in (rd / "journal" / "usage").glob("*.jsonl")
        )
        assert calls >= 1, f"{rd.name}: no model call reached the shared server"
    actors = list_actors(
        address=address, filters=[("class_name", "=", "_LocalModelActor")], detail=True
    )
    mine = [a for a in actors if str(a.name).endswith(servers[0]["job"])]
    assert len(mine) == 1, [(a.name, a.state) for a in actors]
    assert len(actors) == 1, "another model server was started on the cluster"


def test_a_job_whose_workspace_ray_would_delete_is_refused_up_front(
    head: Head, tmp_path: Path
) -> None:
    spec = {
        "workspace": "runs",  # relative: inside Ray's copy of the working dir
        "model": "scripted:tests/runtime/data/fast-team.yaml",
        "set": ["sandbox.kind=local"],
        "tasks": [{"task": "tabular-cancer"}],
    }
    job_id, address, _ = submit_batch(
        head, tmp_path / "batch.yaml", spec, "aiscientist-lost", timeout=300
    )
    from ray.job_submission import JobStatus, JobSubmissionClient

    client = JobSubmissionClient(address)
    assert client.get_job_status(job_id) == JobStatus.FAILED
    logs = client.get_job_logs(job_id)
    assert "Ray deletes when the job ends" in logs and "/mnt/shared/runs" in logs, logs[-2000:]
    assert "tabular-cancer: started" not in logs, "no run may start in a doomed workspace"
