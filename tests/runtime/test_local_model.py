"""The embedded model as a Ray actor, with the real llama.cpp server: reached from another
node of a multi-node cluster, one server for a whole ``ray job submit`` batch, and a server
that crashes mid-run stops the run cleanly and ``aiscientist resume`` continues it."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from runtime_harness import kill_all, manifest, ray_tmpdir, run_dir_in, start, start_command

try:
    import llama_cpp  # noqa: F401

    HAVE_LLAMA = True
except ImportError:
    HAVE_LLAMA = False

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not HAVE_LLAMA, reason="llama_cpp missing: aiscientist setup-local"),
]
HERE = Path(__file__).resolve().parent


def test_a_specialist_on_another_node_gets_a_real_completion(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    ray_tmp = ray_tmpdir()
    log = tmp_path / "scenario.log"
    proc = start_command(
        [sys.executable, str(HERE / "local_model_scenario.py"), str(out)], ray_tmp, log
    )
    try:
        proc.wait(timeout=900)
    finally:
        kill_all(proc, ray_tmp)
    assert out.exists(), log.read_text()[-5000:]
    report: dict[str, Any] = json.loads(out.read_text())
    assert "content" in report, log.read_text()[-5000:]
    assert report["server_node"] == report["model_node"]
    assert report["node"] != report["server_node"], "the specialist ran on the server's node"
    assert report["completion_tokens"] > 0 and report["content"].strip()
    assert report["second_start_returns"] == "None", "a second start made a second server"
    assert report["without_key"] in (401, 403), "the server answered without its API key"
    assert "AISCIENTIST_LOCAL_BASE_URL" not in os.environ


def _usage_calls(run_dir: Path) -> int:
    return sum(
        len(p.read_text().splitlines()) for p in (run_dir / "journal" / "usage").glob("*.jsonl")
    )


def test_a_server_crash_mid_run_stops_it_cleanly_and_resume_continues(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    ray_tmp = ray_tmpdir()
    log = tmp_path / "run.log"
    args = [
        *("run", "tabular-cancer", "--workspace", str(root), "--model", "local"),
        *("--set", "sandbox.kind=local", "--set", "limits.specialist_steps=4"),
    ]
    proc = start(args, ray_tmp, log)
    try:
        deadline = time.monotonic() + 600
        run_dir = None
        while time.monotonic() < deadline and proc.poll() is None:
            run_dir = run_dir_in(root)
            if run_dir is not None and _usage_calls(run_dir) >= 1:
                break
            time.sleep(0.5)
        assert run_dir is not None and _usage_calls(run_dir) >= 1, log.read_text()[-4000:]
        server = json.loads((run_dir / "agent" / "state" / "model_server.json").read_text())
        os.kill(server["pid"], signal.SIGSEGV)  # the crash a CPU fault causes
        killed_at = time.monotonic()
        proc.wait(timeout=300)
        stopped_in = time.monotonic() - killed_at
    finally:
        kill_all(proc, ray_tmp)
    text = log.read_text()
    assert proc.returncode != 0, text[-3000:]
    m = manifest(run_dir)
    assert m["status"] == "failed", m
    note = str(m["note"])
    assert "ModelServerDiedError" in note and "SIGSEGV" in note and "llama-server" in note, note
    assert "Traceback" not in note, "the note carries the error, not Ray's remote traceback"
    assert stopped_in < 120, f"{stopped_in:.0f}s from the crash to a stopped run"
    calls_before = _usage_calls(run_dir)

    spent = int(m["spend"]["tokens"])  # type: ignore[index]
    ray_tmp = ray_tmpdir()
    log = tmp_path / "resume.log"
    resume = ["resume", str(run_dir), "--set", f"budget.tokens={spent + 2500}"]
    proc = start(resume, ray_tmp, log)
    try:
        proc.wait(timeout=900)
    finally:
        kill_all(proc, ray_tmp)
    after = manifest(run_dir)
    assert after["status"] in ("finished", "budget_exhausted"), log.read_text()[-4000:]
    assert _usage_calls(run_dir) > calls_before, "the resumed run made no model call"
    new_server = json.loads((run_dir / "agent" / "state" / "model_server.json").read_text())
    assert new_server["pid"] != server["pid"]
