"""Records of the hypothesis tree on disk: node records, tree events and the snapshot.

Every mutation of the tree is one event, a frozen msgspec Struct in the ``TreeEvent`` tagged
union, appended to ``tree/events.jsonl`` before it is applied. Events carry a sequence number
(``seq``, equal to the tree's version after the event) and the wall-clock time ``at`` at which
they were validated, so replaying them re-validates leases against the same clock.

This module is importable on purpose: Ray strips the fields of Structs defined in ``__main__``.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from aiscientist.messages import Pointer

SCHEMA_VERSION = 1

HypothesisState = Literal[
    "proposed", "critiqued", "claimed", "running", "verified", "refuted", "abandoned"
]
TerminalState = Literal["verified", "refuted", "abandoned"]
NodeKind = Literal["hypothesis", "evidence", "lesson"]
EdgeKind = Literal["child", "supports", "refutes", "derived_from"]
"""``child``: hypothesis -> sub-hypothesis; ``supports``/``refutes``: evidence -> hypothesis;
``derived_from``: lesson -> evidence it rests on."""
Action = Literal["draft", "debug", "improve", ""]
"""How a hypothesis came about (AIDE's vocabulary); empty when not said."""
EvidenceStatus = Literal["ok", "failed", "timeout", "killed", "oom", "error"]


class Lease(msgspec.Struct, frozen=True):
    """A claim on a hypothesis: who holds it and until when (unix seconds)."""

    owner: str
    expires_at: float
    schema_version: int = SCHEMA_VERSION


class Critique(msgspec.Struct, frozen=True):
    """One reviewer's verdict on a proposal, before any compute is spent on it."""

    by: str
    accept: bool
    note: str = ""
    at: float = 0.0
    schema_version: int = SCHEMA_VERSION


class HypothesisNode(msgspec.Struct, frozen=True, tag="hypothesis"):
    """A testable idea; its state follows the machine in ``hypotheses.tree``."""

    id: str
    title: str
    description: str = ""
    parent: str | None = None
    author: str = ""
    tags: tuple[str, ...] = ()
    action: Action = ""
    state: HypothesisState = "proposed"
    lease: Lease | None = None
    critiques: tuple[Critique, ...] = ()
    note: str = ""
    """Why it ended (verified, refuted, abandoned), or the last critique's note."""
    created_seq: int = 0
    created_at: float = 0.0
    updated_at: float = 0.0
    schema_version: int = SCHEMA_VERSION


class EvidenceNode(msgspec.Struct, frozen=True, tag="evidence"):
    """An experiment's measured result on held-out data, with pointers to its artifacts."""

    id: str
    hypothesis_id: str
    exp_id: str
    status: EvidenceStatus
    metric: float | None = None
    """The primary metric on held-out validation data (None when the run failed)."""
    metrics: dict[str, float] = {}
    seed: int = 0
    relation: Literal["supports", "refutes"] = "supports"
    artifacts: tuple[Pointer, ...] = ()
    summary: str = ""
    created_seq: int = 0
    created_at: float = 0.0
    schema_version: int = SCHEMA_VERSION


class LessonNode(msgspec.Struct, frozen=True, tag="lesson"):
    """A short distilled statement, with the evidence it rests on and tags for retrieval."""

    id: str
    text: str
    evidence_ids: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    hypothesis_id: str | None = None
    source: str = ""
    """Empty for lessons of this run; the store file for lessons imported from other runs."""
    created_seq: int = 0
    created_at: float = 0.0
    schema_version: int = SCHEMA_VERSION


TreeNode = HypothesisNode | EvidenceNode | LessonNode


class Champion(msgspec.Struct, frozen=True):
    """The current best result that passed the champion gate."""

    evidence_id: str
    hypothesis_id: str
    metric: float
    """The metric the gate compares against (mean over agreeing seeds when confirmed)."""
    seeds: tuple[int, ...] = ()
    schema_version: int = SCHEMA_VERSION


# ---- events (tree/events.jsonl), a tagged union ----


class ProposeEvent(msgspec.Struct, frozen=True, tag="propose"):
    seq: int
    at: float
    id: str
    title: str
    description: str = ""
    parent: str | None = None
    author: str = ""
    tags: tuple[str, ...] = ()
    action: Action = ""
    op: str = ""
    """Client operation id: a retried request with the same id is applied once."""
    schema_version: int = SCHEMA_VERSION


class CritiqueEvent(msgspec.Struct, frozen=True, tag="critique"):
    seq: int
    at: float
    id: str
    by: str
    accept: bool
    note: str = ""
    op: str = ""
    """Client operation id: a retried request with the same id is applied once."""
    schema_version: int = SCHEMA_VERSION


class ClaimEvent(msgspec.Struct, frozen=True, tag="claim"):
    """Take a lease; also takes over a claimed or running hypothesis whose lease expired."""

    seq: int
    at: float
    id: str
    owner: str
    expires_at: float
    op: str = ""
    """Client operation id: a retried request with the same id is applied once."""
    schema_version: int = SCHEMA_VERSION


class RenewEvent(msgspec.Struct, frozen=True, tag="renew"):
    seq: int
    at: float
    id: str
    owner: str
    expires_at: float
    op: str = ""
    """Client operation id: a retried request with the same id is applied once."""
    schema_version: int = SCHEMA_VERSION


class ReleaseEvent(msgspec.Struct, frozen=True, tag="release"):
    """Give a claim back: claimed -> critiqued."""

    seq: int
    at: float
    id: str
    owner: str
    op: str = ""
    """Client operation id: a retried request with the same id is applied once."""
    schema_version: int = SCHEMA_VERSION


class StartEvent(msgspec.Struct, frozen=True, tag="start"):
    seq: int
    at: float
    id: str
    owner: str
    op: str = ""
    """Client operation id: a retried request with the same id is applied once."""
    schema_version: int = SCHEMA_VERSION


class FinishEvent(msgspec.Struct, frozen=True, tag="finish"):
    seq: int
    at: float
    id: str
    state: TerminalState
    note: str = ""
    owner: str = ""
    """The lease holder finishing it; empty for an unconditional finish (e.g. abandon)."""
    op: str = ""
    """Client operation id: a retried request with the same id is applied once."""
    schema_version: int = SCHEMA_VERSION


class EvidenceEvent(msgspec.Struct, frozen=True, tag="evidence"):
    seq: int
    at: float
    evidence: EvidenceNode
    op: str = ""
    """Client operation id: a retried request with the same id is applied once."""
    schema_version: int = SCHEMA_VERSION


class LessonEvent(msgspec.Struct, frozen=True, tag="lesson"):
    seq: int
    at: float
    lesson: LessonNode
    op: str = ""
    """Client operation id: a retried request with the same id is applied once."""
    schema_version: int = SCHEMA_VERSION


class ChampionEvent(msgspec.Struct, frozen=True, tag="champion"):
    seq: int
    at: float
    champion: Champion
    reason: str = ""
    op: str = ""
    """Client operation id: a retried request with the same id is applied once."""
    schema_version: int = SCHEMA_VERSION


TreeEvent = (
    ProposeEvent
    | CritiqueEvent
    | ClaimEvent
    | RenewEvent
    | ReleaseEvent
    | StartEvent
    | FinishEvent
    | EvidenceEvent
    | LessonEvent
    | ChampionEvent
)


class EdgeRecord(msgspec.Struct, frozen=True, array_like=True):
    source: str
    target: str
    kind: EdgeKind


class TreeSnapshot(msgspec.Struct, frozen=True):
    """The whole tree at version ``version``; ``log_offset`` is where replay resumes."""

    version: int
    nodes: list[TreeNode]
    edges: list[EdgeRecord]
    champion: Champion | None = None
    recent_ops: list[TreeEvent] = []
    """The last events that carried an op id, so retries stay exactly-once after a restart."""
    log_offset: int = 0
    at: float = 0.0
    schema_version: int = SCHEMA_VERSION


EVENT_DECODER = msgspec.json.Decoder(TreeEvent)
EVENT_ENCODER = msgspec.json.Encoder()
