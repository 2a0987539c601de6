"""The champion gate: a noise-aware rule for replacing the best result.

A candidate (the metric of an experiment on held-out validation data, with its seed) replaces
the champion only if it beats it by more than ``margin``. A gain below ``noise_threshold`` is
not trusted from one run: the decision is ``confirm`` until a run of the same hypothesis with
another seed also beats the champion by the margin; then the champion's metric is the mean of
the agreeing runs. A gate whose ``noise_threshold`` is None measures it: the largest spread
(max - min) of one hypothesis's metric over different seeds in the tree (``measured_noise``),
0 until some hypothesis has been run with two seeds. The gate is a pure function; the tree
persists the champion
(``ChampionEvent``), so a restarted run knows it, and pending confirmations are read back from
the evidence.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import msgspec

from aiscientist.errors import TreeError
from aiscientist.hypotheses.events import Champion, EvidenceNode
from aiscientist.hypotheses.tree import HypothesisTree

Verdict = Literal["accept", "confirm", "reject"]


class Candidate(msgspec.Struct, frozen=True):
    """One measured run offered to the gate."""

    evidence_id: str
    hypothesis_id: str
    metric: float
    seed: int = 0


class GateDecision(msgspec.Struct, frozen=True):
    verdict: Verdict
    reason: str
    champion: Champion | None
    """The champion after this decision (the new one on accept, else the old one)."""


@dataclass(frozen=True)
class ChampionGate:
    margin: float = 0.0
    noise_threshold: float | None = 0.0
    """None: measured from the tree at each offer (``measured_noise``)."""
    lower_is_better: bool = False

    def __post_init__(self) -> None:
        if self.margin < 0 or (self.noise_threshold or 0.0) < 0:
            raise TreeError(
                f"champion gate needs margin >= 0 and noise_threshold >= 0, got "
                f"{self.margin!r} and {self.noise_threshold!r}"
            )

    def gain(self, champion_metric: float, metric: float) -> float:
        """How much better ``metric`` is than the champion's (positive = better)."""
        return champion_metric - metric if self.lower_is_better else metric - champion_metric

    def decide(
        self,
        champion: Champion | None,
        candidate: Candidate,
        earlier: Sequence[Candidate] = (),
    ) -> GateDecision:
        """Accept, ask for a confirming seed, or keep the champion.

        ``earlier`` are previous runs of the same hypothesis (any seeds); those with a seed
        other than the candidate's that also beat the champion by the margin confirm it.
        """
        if champion is None:
            return GateDecision("accept", "first valid result", _crown(candidate, [candidate]))
        gain = self.gain(champion.metric, candidate.metric)
        if gain <= self.margin:
            return GateDecision(
                "reject",
                f"{candidate.metric!r} does not beat champion {champion.metric!r} by more than "
                f"the margin {self.margin!r}; champion kept",
                champion,
            )
        noise = self.noise_threshold or 0.0
        if gain >= noise:
            return GateDecision(
                "accept",
                f"gain {gain:.6g} is above the noise threshold",
                _crown(candidate, [candidate]),
            )
        agreeing = [
            c
            for c in earlier
            if c.hypothesis_id == candidate.hypothesis_id
            and c.seed != candidate.seed
            and c.evidence_id != candidate.evidence_id
            and self.gain(champion.metric, c.metric) > self.margin
        ]
        if agreeing:
            runs = [candidate, *agreeing]
            return GateDecision(
                "accept",
                f"gain {gain:.6g} under the noise threshold {self.noise_threshold!r} confirmed "
                f"by seeds {sorted({c.seed for c in runs})!r}",
                _crown(candidate, runs),
            )
        return GateDecision(
            "confirm",
            f"gain {gain:.6g} is under the noise threshold {self.noise_threshold!r}: run the "
            f"same hypothesis again with a seed other than {candidate.seed!r}",
            champion,
        )


def _crown(candidate: Candidate, runs: list[Candidate]) -> Champion:
    return Champion(
        evidence_id=candidate.evidence_id,
        hypothesis_id=candidate.hypothesis_id,
        metric=sum(c.metric for c in runs) / len(runs),
        seeds=tuple(sorted({c.seed for c in runs})),
    )


def candidate_of(evidence: EvidenceNode) -> Candidate:
    if evidence.status != "ok" or evidence.metric is None:
        raise TreeError(
            f"evidence {evidence.id!r} (status {evidence.status!r}) has no valid metric; only "
            "successful runs measured on held-out data can be offered to the champion gate"
        )
    return Candidate(evidence.id, evidence.hypothesis_id, evidence.metric, evidence.seed)


def measured_noise(tree: HypothesisTree) -> float | None:
    """The largest spread of one hypothesis's metric over different seeds (None: no
    hypothesis has been measured with two seeds yet)."""
    spreads = []
    for h in tree.hypotheses():
        by_seed: dict[int, float] = {}
        for e in tree.evidence_of(h.id):
            if e.status == "ok" and e.metric is not None:
                by_seed.setdefault(e.seed, e.metric)
        if len(by_seed) >= 2:
            spreads.append(max(by_seed.values()) - min(by_seed.values()))
    return max(spreads) if spreads else None


def offer(tree: HypothesisTree, gate: ChampionGate, evidence_id: str) -> GateDecision:
    """Offer an evidence to the gate; on accept, record the new champion in the tree."""
    if gate.noise_threshold is None:
        gate = dataclasses.replace(gate, noise_threshold=measured_noise(tree) or 0.0)
    cand = candidate_of(tree.evidence(evidence_id))
    earlier = [
        candidate_of(e)
        for e in tree.evidence_of(cand.hypothesis_id)
        if e.id != evidence_id and e.status == "ok" and e.metric is not None
    ]
    decision = gate.decide(tree.champion, cand, earlier)
    if decision.verdict == "accept" and decision.champion is not None:
        tree.set_champion(decision.champion, decision.reason)
    return decision
