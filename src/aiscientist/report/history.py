"""What a run did over time, from its logs: model calls (``journal/usage``), delegations with
their results, stage changes and decisions (``journal/events.jsonl``), and the champions the
tree crowned (``tree/events.jsonl``). Forgiving of a torn last line in a live run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec

from aiscientist.hypotheses.events import EVENT_DECODER, ChampionEvent
from aiscientist.hypotheses.store import EVENTS_FILE
from aiscientist.messages import (
    DecisionEvent,
    Delegation,
    DelegationEvent,
    Result,
    ResultEvent,
    StageEvent,
)
from aiscientist.models.usage import UsageRecord
from aiscientist.workspace.journal import Journal


@dataclass(frozen=True)
class DelegationRow:
    """A delegation from the journal with its result, if it came back."""

    delegation: Delegation
    sent_at: float
    result: Result | None
    returned_at: float | None


_usage_decoder = msgspec.json.Decoder(UsageRecord)


def read_usage(run_dir: Path) -> list[UsageRecord]:
    """Every model call of every role (``journal/usage/*.jsonl``), oldest first."""
    out: list[UsageRecord] = []
    for path in sorted((run_dir / "journal" / "usage").glob("*.jsonl")):
        for line in path.read_bytes().splitlines():
            try:
                out.append(_usage_decoder.decode(line))
            except msgspec.DecodeError:
                continue  # a torn last line of a live run
    return sorted(out, key=lambda u: u.timestamp)


def read_delegations(run_dir: Path) -> list[DelegationRow]:
    """The journal's delegations in the order they were sent, each with its result."""
    return read_journal(run_dir)[0]


def read_journal(run_dir: Path) -> tuple[list[DelegationRow], list[StageEvent | DecisionEvent]]:
    sent: dict[str, tuple[Delegation, float]] = {}
    back: dict[str, tuple[Result, float]] = {}
    moments: list[StageEvent | DecisionEvent] = []
    for ev in Journal(run_dir).events():
        if isinstance(ev, StageEvent | DecisionEvent):
            moments.append(ev)
        if isinstance(ev, DelegationEvent):
            sent[ev.delegation.id] = (ev.delegation, ev.at)
        elif isinstance(ev, ResultEvent):
            back[ev.result.delegation_id] = (ev.result, ev.at)
    rows = []
    for did, (d, at) in sent.items():
        r = back.get(did)
        rows.append(DelegationRow(d, at, r[0] if r else None, r[1] if r else None))
    return rows, moments


def read_champions(tree_dir: Path) -> list[tuple[float, float]]:
    """(time, metric) of each ``champion`` event in ``tree/events.jsonl``, in order."""
    out: list[tuple[float, float]] = []
    try:
        lines = (tree_dir / EVENTS_FILE).read_bytes().splitlines()
    except OSError:
        return out
    for line in lines:
        if b'"champion"' not in line:
            continue
        try:
            ev = EVENT_DECODER.decode(line)
        except msgspec.DecodeError:
            continue
        if isinstance(ev, ChampionEvent):
            out.append((ev.at, ev.champion.metric))
    return out
