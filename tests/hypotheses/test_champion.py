"""Champion gate: margin, noise threshold, confirmation with another seed, persistence."""

from __future__ import annotations

from pathlib import Path

import pytest

from aiscientist.errors import TreeError
from aiscientist.hypotheses import EvidenceNode
from aiscientist.hypotheses.champion import Candidate, ChampionGate, measured_noise, offer
from aiscientist.hypotheses.events import Champion
from aiscientist.hypotheses.store import TreeStore, load_tree
from aiscientist.hypotheses.tree import HypothesisTree

CHAMP = Champion(evidence_id="ev-0", hypothesis_id="h0", metric=0.80, seeds=(0,))


def test_first_valid_result_becomes_champion() -> None:
    d = ChampionGate(margin=0.01).decide(None, Candidate("ev-1", "h1", 0.5, 0))
    assert d.verdict == "accept"
    assert d.champion is not None and d.champion.evidence_id == "ev-1"


def test_gain_not_above_margin_keeps_champion() -> None:
    gate = ChampionGate(margin=0.02)
    d = gate.decide(CHAMP, Candidate("ev-1", "h1", 0.815, 0))
    assert d.verdict == "reject"
    assert d.champion == CHAMP
    assert gate.decide(CHAMP, Candidate("ev-2", "h1", 0.83, 0)).verdict == "accept"


def test_zero_margin_needs_a_strict_improvement() -> None:
    assert ChampionGate().decide(CHAMP, Candidate("ev-1", "h1", 0.80, 0)).verdict == "reject"


def test_worse_later_attempt_keeps_champion() -> None:
    d = ChampionGate(margin=0.0).decide(CHAMP, Candidate("ev-9", "h9", 0.70, 3))
    assert d.verdict == "reject"
    assert d.champion == CHAMP


def test_lower_is_better_flips_the_direction() -> None:
    gate = ChampionGate(margin=0.1, lower_is_better=True)
    champ = Champion("ev-0", "h0", metric=2.0)
    assert gate.decide(champ, Candidate("ev-1", "h1", 1.95, 0)).verdict == "reject"
    assert gate.decide(champ, Candidate("ev-2", "h1", 1.5, 0)).verdict == "accept"
    assert gate.decide(champ, Candidate("ev-3", "h1", 2.5, 0)).verdict == "reject"


def test_small_gain_needs_a_confirming_run_with_another_seed() -> None:
    gate = ChampionGate(margin=0.0, noise_threshold=0.05)
    first = Candidate("ev-1", "h1", 0.82, seed=0)
    d1 = gate.decide(CHAMP, first)
    assert d1.verdict == "confirm"
    assert d1.champion == CHAMP
    same_seed = Candidate("ev-2", "h1", 0.83, seed=0)
    assert gate.decide(CHAMP, same_seed, [first]).verdict == "confirm"
    other_hyp = Candidate("ev-3", "h2", 0.83, seed=1)
    assert gate.decide(CHAMP, other_hyp, [first]).verdict == "confirm"
    second = Candidate("ev-4", "h1", 0.84, seed=1)
    d2 = gate.decide(CHAMP, second, [first])
    assert d2.verdict == "accept"
    assert d2.champion is not None
    assert d2.champion.metric == pytest.approx(0.83)
    assert d2.champion.seeds == (0, 1)


def test_disagreeing_second_seed_does_not_confirm() -> None:
    gate = ChampionGate(margin=0.0, noise_threshold=0.05)
    first = Candidate("ev-1", "h1", 0.82, seed=0)
    d = gate.decide(CHAMP, Candidate("ev-2", "h1", 0.79, seed=1), [first])
    assert d.verdict == "reject"
    assert d.champion == CHAMP


def test_large_gain_is_accepted_without_confirmation() -> None:
    d = ChampionGate(noise_threshold=0.05).decide(CHAMP, Candidate("ev-1", "h1", 0.9, 0))
    assert d.verdict == "accept"


def test_negative_margin_is_refused() -> None:
    with pytest.raises(TreeError, match="margin >= 0"):
        ChampionGate(margin=-1)


def _run(tree: HypothesisTree, hid: str, metric: float | None, seed: int) -> str:
    status = "ok" if metric is not None else "failed"
    return tree.add_evidence(
        EvidenceNode(
            id="", hypothesis_id=hid, exp_id=f"e{seed}", status=status, metric=metric, seed=seed
        )
    )


def test_offer_persists_champion_in_the_tree_across_restart(tmp_path: Path) -> None:
    gate = ChampionGate(margin=0.0, noise_threshold=0.05)
    store = TreeStore(tmp_path / "tree")
    tree = store.tree
    h1 = tree.propose("baseline", author="a")
    h2 = tree.propose("bigger model", author="a")
    e1 = _run(tree, h1, 0.80, 0)
    assert offer(tree, gate, e1).verdict == "accept"
    e2 = _run(tree, h2, 0.82, 0)
    assert offer(tree, gate, e2).verdict == "confirm"
    assert tree.champion is not None and tree.champion.evidence_id == e1
    store.close()

    # restart: the champion and the pending first seed come back from disk
    store = TreeStore(tmp_path / "tree")
    tree = store.tree
    assert tree.champion is not None and tree.champion.evidence_id == e1
    e3 = _run(tree, h2, 0.83, 1)
    assert offer(tree, gate, e3).verdict == "accept"
    e4 = _run(tree, h1, 0.60, 2)
    assert offer(tree, gate, e4).verdict == "reject"
    with pytest.raises(TreeError, match="no valid metric"):
        offer(tree, gate, _run(tree, h1, None, 3))
    store.close()
    champ = load_tree(tmp_path / "tree").champion
    assert champ is not None and champ.evidence_id == e3 and champ.seeds == (0, 1)


def test_a_measuring_gate_takes_its_noise_threshold_from_seeds_in_the_tree() -> None:
    gate = ChampionGate(margin=0.0, noise_threshold=None)
    tree = HypothesisTree()
    h1 = tree.propose("baseline", author="a")
    h2 = tree.propose("more trees", author="a")
    h3 = tree.propose("deeper trees", author="a")
    assert measured_noise(tree) is None
    assert offer(tree, gate, _run(tree, h1, 0.80, 0)).verdict == "accept"
    # nothing measured yet: any gain is trusted (a plain max)
    assert offer(tree, gate, _run(tree, h2, 0.81, 0)).verdict == "accept"
    # the same hypothesis with another seed: its spread becomes the threshold
    assert offer(tree, gate, _run(tree, h2, 0.79, 1)).verdict == "reject"
    assert measured_noise(tree) == pytest.approx(0.02)
    d = offer(tree, gate, _run(tree, h3, 0.825, 0))  # a gain of 0.015 < 0.02: not yet trusted
    assert d.verdict == "confirm" and "0.02" in d.reason
    assert offer(tree, gate, _run(tree, h3, 0.83, 1)).verdict == "accept"
