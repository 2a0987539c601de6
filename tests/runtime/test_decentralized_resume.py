"""`aiscientist resume` of a decentralized run whose driver and Ray were SIGKILLed after the
peers had produced evidence: the peers re-enter from the shared tree, finished experiments
never run again, no hypothesis gets a second result, and the run ends graded."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from runtime_harness import REPO, experiments, finished_experiments, run_until_killed

from aiscientist.hypotheses.events import EVENT_DECODER, EvidenceEvent, FinishEvent
from aiscientist.hypotheses.store import load_tree
from aiscientist.runtime.resume import resume_run

pytestmark = pytest.mark.slow

SCRIPT = REPO / "configs" / "scripts" / "decentralized-improve.yaml"


def _evidence_count(run_dir: Path) -> int:
    events = run_dir / "tree" / "events.jsonl"
    if not events.exists():
        return 0
    return sum(b'"evidence"' in line for line in events.read_bytes().splitlines())


def test_decentralized_run_resumes_after_sigkill(ray_local: None, tmp_path: Path) -> None:
    root = tmp_path / "runs"
    args = ["run", "tabular-cancer", "--workspace", str(root), "--model", f"scripted:{SCRIPT}"]
    for s in ("sandbox.kind=local", "mode=decentralized", "peers=3", "search.lease_s=5"):
        args += ["--set", s]
    run_dir = run_until_killed(args, root, tmp_path, lambda rd: _evidence_count(rd) >= 1)
    done_before = finished_experiments(run_dir)
    assert done_before, "the kill point is after a result"
    evidence_before = _evidence_count(run_dir)

    m = resume_run(run_dir, None, [])

    assert m.status == "finished", m.note
    assert m.score is not None and 0.8 < m.score <= 1.0
    # finished experiments were never run again
    for e in experiments(run_dir):
        assert (e / "result.json").exists(), e.name
        if e.name in done_before:
            assert finished_experiments(run_dir)[e.name] == done_before[e.name]
    # the tree: every hypothesis ended, none has two results, no experiment is evidence twice
    events = [
        EVENT_DECODER.decode(line)
        for line in (run_dir / "tree" / "events.jsonl").read_bytes().splitlines()
        if line.strip()
    ]
    assert _evidence_count(run_dir) > evidence_before, "the resumed peers did not go on"
    per_exp = Counter(e.evidence.exp_id for e in events if isinstance(e, EvidenceEvent))
    assert per_exp and max(per_exp.values()) == 1, per_exp
    finishes = Counter(e.id for e in events if isinstance(e, FinishEvent))
    assert max(finishes.values()) == 1, finishes
    tree = load_tree(run_dir / "tree")
    assert all(h.state in ("verified", "refuted", "abandoned") for h in tree.hypotheses())
    assert tree.champion is not None
    assert (run_dir / "submission" / "submission.csv").exists()
