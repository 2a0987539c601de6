"""The run's spend ledger: one budget per run, shared by every role, peer and actor.

The ledger is no new store: it is the run's usage logs (``journal/usage/<role>.jsonl``, one
``UsageRecord`` line per model call, appended by whoever made the call) summed when a budget
is checked. Every actor keeps its own ``RunLedger`` over the same files and reads only the
bytes appended since its last look, so a check before a model call costs a directory listing
and a few short reads. Spend before a crash is on disk, so it counts after a resume.

A reply a resumed session serves again from its transcript is no call and is not logged; a
line with zero tokens and zero cost (older runs logged such replies) is not billed as a call.

Wall clock is the run's *running* time: the seconds of every earlier session (``run.json``
``spend.wall_seconds`` when this session began) plus the time since this session began
(``agent/state/clock.json``, written by the driver at the start of each session). Time
between a crash and its resume does not count; the seconds of a session that died are those
``run.json`` held last (it is rewritten about once a second while the run works).

Limits are checked before every call; peers and specialists checking at the same moment can
each make one more call, so a run may pass a limit by at most one call per concurrent agent.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from aiscientist.agents.budget import BudgetGuard
from aiscientist.config import RunConfig
from aiscientist.messages import Budget, Spend, Usage
from aiscientist.models.usage import UsageRecord
from aiscientist.workspace.atomic import atomic_write_text

USAGE_DIR = "journal/usage"
CLOCK = "agent/state/clock.json"

_decoder = msgspec.json.Decoder(UsageRecord)


@dataclass
class _Tail:
    """What has been read of one usage log."""

    offset: int = 0
    total: Usage = Usage()


def _billed(r: UsageRecord) -> Usage:
    billed = r.prompt_tokens or r.completion_tokens or r.cost_usd
    return Usage(r.prompt_tokens, r.completion_tokens, r.cost_usd, calls=1 if billed else 0)


def begin_session(run_dir: Path, wall_before: float) -> None:
    """Start the run's clock for a new session (the driver calls it once per session)."""
    atomic_write_text(
        Path(run_dir) / CLOCK,
        json.dumps({"started_at": time.time(), "wall_before": wall_before}),
    )


@dataclass
class RunLedger:
    """The spend of the whole run, read from its usage logs (see the module docstring)."""

    run_dir: Path
    _tails: dict[str, _Tail] = field(default_factory=dict)
    _clock: tuple[float, float, float] | None = None
    """(mtime of clock.json, started_at, wall_before)."""
    _fallback: float = field(default_factory=time.time)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    """Agents of one actor (the comprehension readers) share its ledger from threads."""

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def usage(self) -> Usage:
        """Tokens, cost and billed calls of every model call of the run so far."""
        d = Path(self.run_dir) / USAGE_DIR
        try:
            entries = list(os.scandir(d))
        except FileNotFoundError:
            entries = []
        total = Usage()
        with self._lock:
            for e in entries:
                if e.name.endswith(".jsonl"):
                    total = total + self._read(Path(e.path))
        return total

    def _read(self, path: Path) -> Usage:
        tail = self._tails.setdefault(path.name, _Tail())
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return tail.total
        if size < tail.offset:  # replaced (never in a live run): read it again
            tail.offset, tail.total = 0, Usage()
        if size == tail.offset:
            return tail.total
        with open(path, "rb") as fh:
            fh.seek(tail.offset)
            data = fh.read(size - tail.offset)
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        for line in data[:end].splitlines():
            try:
                tail.total = tail.total + _billed(_decoder.decode(line))
            except msgspec.DecodeError:
                continue  # a torn line left by a crash
        tail.offset += end
        return tail.total

    def elapsed(self) -> float:
        """The run's running time in seconds: earlier sessions plus this one."""
        p = Path(self.run_dir) / CLOCK
        try:
            mtime = p.stat().st_mtime
            if self._clock is None or self._clock[0] != mtime:
                rec = json.loads(p.read_text())
                self._clock = (mtime, float(rec["started_at"]), float(rec["wall_before"]))
        except (OSError, ValueError, KeyError, TypeError):
            if self._clock is None:  # no driver session (a test drives an agent directly)
                return time.time() - self._fallback
        assert self._clock is not None
        return self._clock[2] + max(0.0, time.time() - self._clock[1])

    def spend(self) -> Spend:
        """What ``run.json`` shows."""
        u = self.usage()
        return Spend(
            usd=u.cost_usd,
            tokens=u.total_tokens,
            wall_seconds=round(self.elapsed(), 3),
            model_calls=u.calls,
        )


def run_budget(config: RunConfig) -> Budget:
    """The run's one budget, from its configuration."""
    b = config.budget
    wall = None if b.wall_minutes is None else b.wall_minutes * 60
    return Budget(usd=b.usd, tokens=b.tokens, wall_seconds=wall)


OVERRUN_S = 60.0
"""How long past the wall-clock budget a driver waits for the run's agents (a model call in
flight when the budget ends can take minutes on a small local model) before it stops them
and grades what is in the workspace."""


def wait_left(run_dir: Path, config: RunConfig) -> float | None:
    """Seconds a driver still waits for the run's agents: the wall-clock budget left, plus
    ``OVERRUN_S``; None without a wall-clock budget."""
    wall = config.budget.wall_minutes
    if wall is None:
        return None
    return max(0.0, wall * 60 - RunLedger(Path(run_dir)).elapsed()) + OVERRUN_S


def run_guard(run_dir: Path, config: RunConfig) -> BudgetGuard:
    """A guard of the run's one budget over its ledger (every actor makes its own)."""
    return BudgetGuard(run_budget(config), ledger=RunLedger(Path(run_dir)))
