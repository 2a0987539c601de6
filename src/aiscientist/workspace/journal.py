"""The run journal: ``journal/events.jsonl``, a write-ahead log of control messages.

A ``Delegation`` is appended before it is dispatched and its ``Result`` after it returns, so
on resume a delegation without a result is dispatched again. One writer: the runtime.
"""

from __future__ import annotations

import time
from pathlib import Path

import msgspec

from aiscientist.messages import (
    DecisionEvent,
    Delegation,
    DelegationEvent,
    ExperimentEvent,
    JournalEvent,
    Result,
    ResultEvent,
    StageEvent,
)
from aiscientist.workspace.atomic import append_line

_decoder = msgspec.json.Decoder(JournalEvent)


class Journal:
    """Append-only event log of one run."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / "journal" / "events.jsonl"

    def append(self, event: JournalEvent) -> None:
        append_line(self.path, msgspec.json.encode(event))

    def delegation(self, d: Delegation) -> None:
        self.append(DelegationEvent(delegation=d, at=time.time()))

    def result(self, r: Result) -> None:
        self.append(ResultEvent(result=r, at=time.time()))

    def stage(self, stage: str, status: str, note: str = "") -> None:
        self.append(StageEvent(stage=stage, status=status, note=note, at=time.time()))

    def experiment(self, exp_id: str, phase: str, status: str) -> None:
        self.append(
            ExperimentEvent(exp_id=exp_id, phase=phase, status=status, at=time.time())  # type: ignore[arg-type]
        )

    def decision(self, kind: str, detail: str) -> None:
        self.append(DecisionEvent(kind=kind, detail=detail, at=time.time()))

    def events(self) -> list[JournalEvent]:
        """Every event, in order. A torn last line (crash mid-append) is ignored."""
        if not self.path.exists():
            return []
        out: list[JournalEvent] = []
        for line in self.path.read_bytes().splitlines():
            if not line.strip():
                continue
            try:
                out.append(_decoder.decode(line))
            except msgspec.DecodeError:
                continue
        return out

    def pending(self) -> list[Delegation]:
        """Delegations dispatched without a result (to re-dispatch on resume)."""
        open_: dict[str, Delegation] = {}
        for ev in self.events():
            if isinstance(ev, DelegationEvent):
                open_[ev.delegation.id] = ev.delegation
            elif isinstance(ev, ResultEvent):
                open_.pop(ev.result.delegation_id, None)
        return list(open_.values())

    def results(self) -> dict[str, Result]:
        """Results by delegation id."""
        return {
            ev.result.delegation_id: ev.result
            for ev in self.events()
            if isinstance(ev, ResultEvent)
        }
