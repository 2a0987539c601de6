"""``HypothesisTree``: hypotheses, their evidence and lessons on a networkx DiGraph.

Every mutation is an event (``hypotheses.events``): it is validated, handed to the sink (the
durable store writes it to ``tree/events.jsonl``) and only then applied, so a crash between the
two replays it. ``version`` counts applied events; replaying the same events rebuilds the same
graph.

Hypothesis states::

    proposed ──critique(accept)──> critiqued ──claim──> claimed ──start──> running
        │  └──critique(reject)──> abandoned     ^   │ release           │
        └──────── abandon (any live state) ─────┘   v                   v
                                               critiqued      verified | refuted | abandoned

A claim is a lease ``(owner, expires_at)``. When it expires, the hypothesis (claimed or running)
is back on the frontier and another owner may claim it; the old owner's start/renew/finish then
fail with ``ClaimConflictError``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

import msgspec
import networkx as nx

from aiscientist.errors import ClaimConflictError, IllegalTransitionError, TreeError
from aiscientist.hypotheses.events import (
    Champion,
    ChampionEvent,
    ClaimEvent,
    Critique,
    CritiqueEvent,
    EdgeKind,
    EdgeRecord,
    EvidenceEvent,
    EvidenceNode,
    FinishEvent,
    HypothesisNode,
    HypothesisState,
    Lease,
    LessonEvent,
    LessonNode,
    ProposeEvent,
    ReleaseEvent,
    RenewEvent,
    StartEvent,
    TerminalState,
    TreeEvent,
    TreeNode,
    TreeSnapshot,
)
from aiscientist.hypotheses.index import TreeIndex
from aiscientist.hypotheses.states import (
    check_holder,
    check_move,
    lease_live,
)
from aiscientist.messages import new_id

DEFAULT_LEASE_S = 600.0
RECENT_OPS = 1024
"""How many op ids are remembered for exactly-once retries (kept in snapshots too)."""


class HypothesisTree:
    """The tree in memory. Mutations go through events; see the module docstring."""

    def __init__(
        self,
        sink: Callable[[TreeEvent], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.on_applied: list[Callable[[TreeEvent], None]] = []
        """Called after each committed event (snapshots, change notifications)."""
        self._graph: nx.DiGraph | None = None
        self._edges: dict[tuple[str, str], EdgeKind] = {}
        self.version = 0
        self.champion: Champion | None = None
        self.index = TreeIndex()
        self._nodes: dict[str, TreeNode] = {}
        self._ops: dict[str, TreeEvent] = {}
        self._sink = sink
        self._clock = clock

    # ---- reads ----

    @property
    def graph(self) -> nx.DiGraph:
        """The tree as a networkx DiGraph (node attr ``kind``, edge attr ``kind``).

        Built on first use and kept in step with every later mutation, so rebuilding a large
        tree does not pay for networkx until someone asks for the graph.
        """
        if self._graph is None:
            g = nx.DiGraph()
            g.add_nodes_from((i, {"kind": n.__struct_config__.tag}) for i, n in self._nodes.items())
            g.add_edges_from((s, t, {"kind": k}) for (s, t), k in self._edges.items())
            self._graph = g
        return self._graph

    def __contains__(self, node_id: object) -> bool:
        return node_id in self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def node(self, node_id: str) -> TreeNode:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise TreeError(
                f"no node {node_id!r} in the tree; list nodes with tree.nodes()"
            ) from None

    def hypothesis(self, node_id: str) -> HypothesisNode:
        node = self.node(node_id)
        if not isinstance(node, HypothesisNode):
            raise TreeError(f"node {node_id!r} is a {type(node).__name__}, not a hypothesis")
        return node

    def evidence(self, node_id: str) -> EvidenceNode:
        node = self.node(node_id)
        if not isinstance(node, EvidenceNode):
            raise TreeError(f"node {node_id!r} is a {type(node).__name__}, not evidence")
        return node

    def nodes(self) -> list[TreeNode]:
        """All nodes in creation order."""
        return list(self._nodes.values())

    def hypotheses(self) -> list[HypothesisNode]:
        return [n for n in self._nodes.values() if isinstance(n, HypothesisNode)]

    def lessons(self) -> list[LessonNode]:
        return [self._nodes[i] for i in self.index.lessons]  # type: ignore[misc]

    def children(self, node_id: str) -> list[HypothesisNode]:
        return [self.hypothesis(c) for c in self.index.children.get(node_id, ())]

    def evidence_of(self, hypothesis_id: str) -> list[EvidenceNode]:
        return [self.evidence(e) for e in self.index.evidence_of.get(hypothesis_id, ())]

    def ancestors(self, hypothesis_id: str) -> list[str]:
        """Parent, grandparent, ... of a hypothesis (closest first)."""
        out: list[str] = []
        parent = self.hypothesis(hypothesis_id).parent
        while parent is not None:
            out.append(parent)
            parent = self.hypothesis(parent).parent
        return out

    def frontier(self, now: float | None = None) -> list[str]:
        """Claimable hypotheses: critiqued ones, then claimed/running ones whose lease expired.

        Cost is the size of the frontier plus the number of live leases, not the tree size.
        """
        t = self._clock() if now is None else now
        out = list(self.index.by_state["critiqued"])
        out.extend(i for i, lease in self.index.leases.items() if t >= lease.expires_at)
        return out

    def edges(self) -> list[EdgeRecord]:
        return [EdgeRecord(s, t, k) for (s, t), k in self._edges.items()]

    # ---- mutations ----
    # ``op_id``: a caller-chosen id of the request; a retry with the same id (e.g. after the
    # tree actor restarted mid-call) returns the first result instead of applying it twice.

    def propose(
        self,
        title: str,
        *,
        description: str = "",
        parent: str | None = None,
        author: str = "",
        tags: Iterable[str] = (),
        action: str = "",
        id: str | None = None,
        op_id: str = "",
    ) -> str:
        """Add a proposed hypothesis; returns its id."""
        ev = self._commit(
            ProposeEvent(
                seq=self.version + 1,
                at=self._clock(),
                id=id or new_id("hyp"),
                title=title,
                description=description,
                parent=parent,
                author=author,
                tags=tuple(tags),
                action=action,  # type: ignore[arg-type]
                op=op_id,
            )
        )
        assert isinstance(ev, ProposeEvent)
        return ev.id

    def critique(
        self, hypothesis_id: str, by: str, accept: bool, note: str = "", op_id: str = ""
    ) -> None:
        """Review a proposal: accepted -> critiqued (claimable), rejected -> abandoned."""
        self._commit(
            CritiqueEvent(
                self.version + 1, self._clock(), hypothesis_id, by, accept, note, op=op_id
            )
        )

    def claim(
        self,
        hypothesis_id: str,
        owner: str,
        lease_s: float = DEFAULT_LEASE_S,
        op_id: str = "",
    ) -> Lease:
        """Lease a frontier hypothesis for ``lease_s`` seconds."""
        now = self._clock()
        ev = self._commit(
            ClaimEvent(self.version + 1, now, hypothesis_id, owner, now + lease_s, op=op_id)
        )
        assert isinstance(ev, ClaimEvent)
        return Lease(ev.owner, ev.expires_at)

    def renew(
        self,
        hypothesis_id: str,
        owner: str,
        lease_s: float = DEFAULT_LEASE_S,
        op_id: str = "",
    ) -> None:
        now = self._clock()
        self._commit(
            RenewEvent(self.version + 1, now, hypothesis_id, owner, now + lease_s, op=op_id)
        )

    def release(self, hypothesis_id: str, owner: str, op_id: str = "") -> None:
        self._commit(ReleaseEvent(self.version + 1, self._clock(), hypothesis_id, owner, op=op_id))

    def start(self, hypothesis_id: str, owner: str, op_id: str = "") -> None:
        self._commit(StartEvent(self.version + 1, self._clock(), hypothesis_id, owner, op=op_id))

    def finish(
        self,
        hypothesis_id: str,
        state: TerminalState,
        note: str = "",
        owner: str = "",
        op_id: str = "",
    ) -> None:
        """End a hypothesis; with ``owner``, only while that owner's lease is live."""
        self._commit(
            FinishEvent(
                self.version + 1, self._clock(), hypothesis_id, state, note, owner, op=op_id
            )
        )

    def abandon(self, hypothesis_id: str, note: str = "", op_id: str = "") -> None:
        self.finish(hypothesis_id, "abandoned", note, op_id=op_id)

    def add_evidence(self, evidence: EvidenceNode, op_id: str = "") -> str:
        """Attach an experiment's result to its hypothesis (``evidence.hypothesis_id``)."""
        seq, now = self.version + 1, self._clock()
        rec = msgspec.structs.replace(
            evidence, id=evidence.id or new_id("ev"), created_seq=seq, created_at=now
        )
        ev = self._commit(EvidenceEvent(seq, now, rec, op=op_id))
        assert isinstance(ev, EvidenceEvent)
        return ev.evidence.id

    def add_lesson(self, lesson: LessonNode, op_id: str = "") -> str:
        seq, now = self.version + 1, self._clock()
        rec = msgspec.structs.replace(
            lesson, id=lesson.id or new_id("les"), created_seq=seq, created_at=now
        )
        ev = self._commit(LessonEvent(seq, now, rec, op=op_id))
        assert isinstance(ev, LessonEvent)
        return ev.lesson.id

    def set_champion(self, champion: Champion, reason: str = "", op_id: str = "") -> None:
        self._commit(ChampionEvent(self.version + 1, self._clock(), champion, reason, op=op_id))

    # ---- events ----

    def _commit(self, event: TreeEvent) -> TreeEvent:
        """Validate, log, apply; returns the event (the earlier one for a repeated op id)."""
        if event.op and event.op in self._ops:
            return self._ops[event.op]
        self._validate(event)
        if self._sink is not None:
            self._sink(event)  # write-ahead: logged before it takes effect
        self._apply(event)
        for hook in self.on_applied:
            hook(event)
        return event

    def set_sink(self, sink: Callable[[TreeEvent], None] | None) -> None:
        """Where committed events are written before they are applied."""
        self._sink = sink

    def now(self) -> float:
        return self._clock()

    def replay(self, event: TreeEvent) -> None:
        """Apply a logged event (validated again, against the time it was logged)."""
        self._validate(event)
        self._apply(event)

    def _validate(self, ev: TreeEvent) -> None:
        if ev.seq != self.version + 1:
            raise TreeError(f"event seq {ev.seq!r} does not follow version {self.version!r}")
        if isinstance(ev, ProposeEvent):
            if ev.id in self._nodes:
                raise TreeError(f"node id {ev.id!r} already exists; pick another id")
            if ev.parent is not None:
                self.hypothesis(ev.parent)
            if not ev.title.strip():
                raise TreeError("a hypothesis needs a non-empty title")
        elif isinstance(ev, CritiqueEvent):
            node = self.hypothesis(ev.id)
            check_move(node, "critiqued" if ev.accept else "abandoned")
            if node.state != "proposed":
                raise IllegalTransitionError(
                    f"hypothesis {ev.id!r} is {node.state!r}; only proposed ones are critiqued"
                )
            if node.author and ev.by == node.author:
                raise TreeError(
                    f"{ev.by!r} proposed {ev.id!r} and cannot critique it; ask another agent"
                )
        elif isinstance(ev, ClaimEvent):
            node = self.hypothesis(ev.id)
            if node.state in ("claimed", "running"):
                if lease_live(node, ev.at):
                    assert node.lease is not None
                    raise ClaimConflictError(
                        f"hypothesis {ev.id!r} is leased by {node.lease.owner!r} until "
                        f"{node.lease.expires_at!r}; pick another from the frontier"
                    )
            else:
                check_move(node, "claimed")
            if ev.expires_at <= ev.at:
                raise TreeError(f"lease must end after it starts, got {ev.expires_at!r}")
        elif isinstance(ev, RenewEvent | ReleaseEvent | StartEvent):
            node = self.hypothesis(ev.id)
            target: HypothesisState = {
                RenewEvent: node.state,
                ReleaseEvent: "critiqued",
                StartEvent: "running",
            }[type(ev)]
            if not isinstance(ev, RenewEvent) or node.state not in ("claimed", "running"):
                check_move(node, target)
            check_holder(node, ev.owner, ev.at)
        elif isinstance(ev, FinishEvent):
            node = self.hypothesis(ev.id)
            check_move(node, ev.state)
            if ev.owner:
                check_holder(node, ev.owner, ev.at)
        elif isinstance(ev, EvidenceEvent):
            e = ev.evidence
            if e.id in self._nodes:
                raise TreeError(f"node id {e.id!r} already exists; pick another id")
            self.hypothesis(e.hypothesis_id)
        elif isinstance(ev, LessonEvent):
            ls = ev.lesson
            if ls.id in self._nodes:
                raise TreeError(f"node id {ls.id!r} already exists; pick another id")
            if not ls.text.strip():
                raise TreeError("a lesson needs a non-empty text")
            if not ls.source:
                for eid in ls.evidence_ids:
                    self.evidence(eid)
            if ls.hypothesis_id is not None:
                self.hypothesis(ls.hypothesis_id)
        elif isinstance(ev, ChampionEvent):
            e = self.evidence(ev.champion.evidence_id)
            if e.status != "ok" or e.metric is None:
                raise TreeError(f"evidence {e.id!r} has no valid metric; it cannot be champion")

    def _apply(self, ev: TreeEvent) -> None:
        if isinstance(ev, ProposeEvent):
            node = HypothesisNode(
                id=ev.id,
                title=ev.title,
                description=ev.description,
                parent=ev.parent,
                author=ev.author,
                tags=ev.tags,
                action=ev.action,
                created_seq=ev.seq,
                created_at=ev.at,
                updated_at=ev.at,
            )
            self._add(node)
            if ev.parent is not None:
                self._edge(ev.parent, ev.id, "child")
        elif isinstance(ev, CritiqueEvent):
            node = self.hypothesis(ev.id)
            c = Critique(by=ev.by, accept=ev.accept, note=ev.note, at=ev.at)
            self._set(
                node,
                state="critiqued" if ev.accept else "abandoned",
                critiques=(*node.critiques, c),
                note=ev.note,
                updated_at=ev.at,
            )
        elif isinstance(ev, ClaimEvent | RenewEvent):
            node = self.hypothesis(ev.id)
            state = "claimed" if isinstance(ev, ClaimEvent) else node.state
            self._set(node, state=state, lease=Lease(ev.owner, ev.expires_at), updated_at=ev.at)
        elif isinstance(ev, ReleaseEvent):
            self._set(self.hypothesis(ev.id), state="critiqued", lease=None, updated_at=ev.at)
        elif isinstance(ev, StartEvent):
            self._set(self.hypothesis(ev.id), state="running", updated_at=ev.at)
        elif isinstance(ev, FinishEvent):
            node = self.hypothesis(ev.id)
            self._set(node, state=ev.state, lease=None, note=ev.note, updated_at=ev.at)
        elif isinstance(ev, EvidenceEvent):
            self._add(ev.evidence)
            e = ev.evidence
            self._edge(e.id, e.hypothesis_id, e.relation)
        elif isinstance(ev, LessonEvent):
            self._add(ev.lesson)
            for eid in ev.lesson.evidence_ids:
                if eid in self._nodes:
                    self._edge(ev.lesson.id, eid, "derived_from")
        elif isinstance(ev, ChampionEvent):
            self.champion = ev.champion
        if ev.op:
            self._ops[ev.op] = ev
            if len(self._ops) > RECENT_OPS:
                del self._ops[next(iter(self._ops))]
        self.version = ev.seq

    def _add(self, node: TreeNode, stats: bool = True) -> None:
        self._nodes[node.id] = node
        if self._graph is not None:
            self._graph.add_node(node.id, kind=node.__struct_config__.tag)
        self.index.add(node, self._nodes, stats=stats)

    def _edge(self, source: str, target: str, kind: EdgeKind) -> None:
        self._edges[(source, target)] = kind
        if self._graph is not None:
            self._graph.add_edge(source, target, kind=kind)

    def _set(self, node: HypothesisNode, **changes: object) -> None:
        new = msgspec.structs.replace(node, **changes)
        self._nodes[node.id] = new
        self.index.update(node, new)

    # ---- snapshots ----

    def to_snapshot(self, log_offset: int = 0) -> TreeSnapshot:
        return TreeSnapshot(
            version=self.version,
            nodes=list(self._nodes.values()),
            edges=self.edges(),
            champion=self.champion,
            recent_ops=list(self._ops.values()),
            log_offset=log_offset,
            at=self._clock(),
        )

    @classmethod
    def from_snapshot(
        cls,
        snap: TreeSnapshot,
        sink: Callable[[TreeEvent], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> HypothesisTree:
        tree = cls(sink=sink, clock=clock)
        for node in snap.nodes:
            tree._add(node, stats=False)
        tree.index.rebuild_stats(tree._nodes)
        tree._edges = {(e.source, e.target): e.kind for e in snap.edges}
        tree.version = snap.version
        tree.champion = snap.champion
        tree._ops = {ev.op: ev for ev in snap.recent_ops}
        return tree

    def same_as(self, other: HypothesisTree) -> bool:
        """True when both trees hold the same nodes, edges, champion and version."""
        return (
            self.version == other.version
            and self._nodes == other._nodes
            and list(self._nodes) == list(other._nodes)
            and self._edges == other._edges
            and self.champion == other.champion
        )
