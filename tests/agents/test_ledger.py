"""The run's one budget: the spend ledger over the usage logs, its clock, and guards over it.
The multi-actor and resume behaviour is in tests/runtime/test_budget.py."""

from __future__ import annotations

import json
import time
from pathlib import Path

import msgspec
import pytest

from aiscientist.agents.budget import BudgetGuard
from aiscientist.agents.ledger import CLOCK, RunLedger, begin_session
from aiscientist.agents.loop import Agent
from aiscientist.agents.specialists import usage_sink
from aiscientist.agents.tools import ToolSet
from aiscientist.agents.workspace_tools import finish_tool
from aiscientist.errors import BudgetExhaustedError
from aiscientist.messages import Budget
from aiscientist.models.scripted import ScriptedModel
from aiscientist.models.usage import UsageRecord
from aiscientist.workspace import WorkspaceView


def record(tokens: int, cost: float = 0.0, role: str = "r") -> bytes:
    rec = UsageRecord(role, "m", tokens, 0, cost, 0.1, time.time())
    return msgspec.json.encode(rec) + b"\n"


def append(run_dir: Path, role: str, data: bytes) -> None:
    p = run_dir / "journal" / "usage" / f"{role}.jsonl"
    p.parent.mkdir(parents=True, exist_ok=True)
    with open(p, "ab") as fh:
        fh.write(data)


def test_ledger_sums_every_roles_log_and_reads_only_new_whole_lines(tmp_path: Path) -> None:
    ledger = RunLedger(tmp_path)
    assert ledger.usage().calls == 0  # no usage directory yet
    append(tmp_path, "peer-0", record(100, 0.01) + record(50))
    append(tmp_path, "peer-1", record(7, 0.5))
    u = ledger.usage()
    assert (u.total_tokens, u.calls, round(u.cost_usd, 4)) == (157, 3, 0.51)
    half = record(1000)
    append(tmp_path, "peer-1", half[:10])  # a line still being written (or torn by a crash)
    assert ledger.usage().total_tokens == 157
    append(tmp_path, "peer-1", half[10:] + b"{not json\n" + record(3))
    assert ledger.usage().total_tokens == 1160  # the torn line is skipped, the rest counted
    assert RunLedger(tmp_path).usage() == ledger.usage()  # a fresh reader agrees


def test_replayed_replies_with_zero_usage_are_not_billed_calls(tmp_path: Path) -> None:
    append(tmp_path, "orchestrator", record(0) + record(0) + record(40))
    u = RunLedger(tmp_path).usage()
    assert (u.calls, u.total_tokens) == (1, 40)


def test_clock_counts_earlier_sessions_and_this_one(tmp_path: Path) -> None:
    begin_session(tmp_path, wall_before=100.0)
    ledger = RunLedger(tmp_path)
    assert 100.0 <= ledger.elapsed() < 105.0
    clock = tmp_path / CLOCK
    rec = json.loads(clock.read_text())
    clock.write_text(json.dumps({**rec, "started_at": rec["started_at"] - 30}))
    import os

    os.utime(clock, (time.time() + 5, time.time() + 5))  # a new session's file
    assert 130.0 <= ledger.elapsed() < 135.0
    assert ledger.spend().wall_seconds >= 130.0


def test_run_guard_stops_on_spend_another_actor_logged(tmp_path: Path) -> None:
    guard = BudgetGuard(Budget(tokens=1000, usd=1.0), ledger=RunLedger(tmp_path))
    guard.check()
    append(tmp_path, "peer-2", record(999))
    guard.check()
    append(tmp_path, "peer-1", record(1))
    with pytest.raises(BudgetExhaustedError, match="token budget spent: 1000 of 1000"):
        guard.check()
    usd = BudgetGuard(Budget(usd=0.05), ledger=RunLedger(tmp_path))
    append(tmp_path, "judge", record(0, 0.05))
    with pytest.raises(BudgetExhaustedError, match="USD budget"):
        usd.check()
    begin_session(tmp_path, wall_before=61.0)
    wall = BudgetGuard(Budget(wall_seconds=60.0), ledger=RunLedger(tmp_path))
    with pytest.raises(BudgetExhaustedError, match="wall-clock"):
        wall.check()


def test_session_guard_within_the_run_guard_stops_an_agent(tmp_path: Path) -> None:
    """A session with its own (roomy) budget still stops when the run's is spent by others."""
    run = BudgetGuard(Budget(tokens=5000), ledger=RunLedger(tmp_path))
    session = BudgetGuard(Budget(tokens=10**9), within=run)
    view = WorkspaceView(tmp_path, "implementation")
    (tmp_path / "journal" / "usage").mkdir(parents=True)
    replies = [{"content": "thinking"}] * 50
    append(tmp_path, "peer-9", record(4000))  # another actor's spend
    agent = Agent(
        model=ScriptedModel(replies),
        tools=ToolSet([finish_tool()]),
        system="s" * 4000,
        task="t",
        guard=session,
        max_steps=50,
        on_usage=usage_sink(view, "implementation"),
    )
    out = agent.run()
    assert out.status == "budget_exhausted" and "token budget" in out.summary
    assert 0 < out.steps < 10
    assert RunLedger(tmp_path).usage().total_tokens >= 5000
    remaining = run.remaining()
    assert remaining.tokens == 0


def test_one_ledger_read_from_many_threads_counts_every_call_once(tmp_path: Path) -> None:
    # the comprehension readers share their actor's ledger from threads while they log calls
    import pickle
    import threading

    ledger = RunLedger(tmp_path)
    writers, per_writer = 4, 200
    errors: list[BaseException] = []

    def write(role: str) -> None:
        for _ in range(per_writer):
            append(tmp_path, role, record(1))

    def read() -> None:
        try:
            for _ in range(300):
                ledger.usage()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(f"w{i}",)) for i in range(writers)]
    threads += [threading.Thread(target=read) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert ledger.usage().calls == writers * per_writer
    copy = pickle.loads(pickle.dumps(ledger))  # actors receive ledgers through Ray's pickling
    assert copy.usage().calls == writers * per_writer
