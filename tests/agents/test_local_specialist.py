"""A specialist session driven by the real embedded model (llama.cpp server through litellm).

Needs the ``local`` extra; ``make test`` installs it. Skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from aiscientist.agents.specialists import Specialist
from aiscientist.agents.transcript import PRELOADED
from aiscientist.config import load_config
from aiscientist.messages import Budget, Delegation
from aiscientist.runtime.driver import create_run

try:
    import llama_cpp  # noqa: F401

    HAVE_LLAMA = True
except ImportError:
    HAVE_LLAMA = False


def _gone(pid: int, wait_s: float = 15.0) -> bool:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_LLAMA, reason="llama_cpp is not importable: pip install -e '.[local]'")
def test_prioritization_session_on_the_local_model_writes_its_file(tmp_path: Path) -> None:
    from aiscientist.models.local_server import LocalEndpoint, LocalModelServer, make_local_model

    cfg = load_config(overrides=["models.default=local", "sandbox.kind=local"])
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path)
    with LocalModelServer() as server:
        pid = server.pid
        assert pid is not None
        model = make_local_model(
            "prioritization", endpoint=LocalEndpoint(server.base_url, "sk-local")
        )
        specialist = Specialist("prioritization", run_dir, cfg, model)
        result = specialist.handle(
            Delegation(
                id="del-local-1",
                role="prioritization",
                instruction=(
                    "Write agent/prioritized_tasks.md: a markdown list of four work items for "
                    "this task labelled P0, P1, P2 and P3. Then call finish."
                ),
                budget=Budget(steps=8, wall_seconds=900),
            )
        )
    assert _gone(pid), "the local model server outlived its context manager"
    transcript = run_dir / "journal/transcripts/prioritization/del-local-1.jsonl"
    messages = [json.loads(line) for line in transcript.read_text().splitlines()]
    calls = [c["name"] for m in messages if m["role"] == "assistant" for c in m["tool_calls"]]
    assert "write_file" in calls, calls
    written = run_dir / "agent" / "prioritized_tasks.md"
    assert written.is_file() and "P0" in written.read_text()
    assert any(p.path == "agent/prioritized_tasks.md" for p in result.delta)
    usage = (run_dir / "journal/usage/prioritization.jsonl").read_text().splitlines()
    preloaded = [
        m
        for m in messages
        if m["role"] == "assistant"
        and m["tool_calls"]
        and m["tool_calls"][0]["id"].startswith(PRELOADED)
    ]
    assert preloaded, "the task statement is read on the session's behalf"
    replies = [m for m in messages if m["role"] == "assistant" and m not in preloaded]
    assert len(usage) == len(replies)  # one model call per reply, none for the preloaded reads
    assert all(json.loads(u)["prompt_tokens"] > 0 for u in usage)
