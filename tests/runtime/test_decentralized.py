"""A decentralized run on real local Ray: three scripted peers, no orchestrator, one of them
killed while it holds a claim on a running hypothesis.

What the tree's event log (``tree/events.jsonl``, the journal of the search) must show: every
executed proposal was critiqued first by a peer other than its author, no hypothesis ran twice,
and the killed peer's claim was taken over by another peer only after its lease expired.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from pathlib import Path

import msgspec
import pytest
import ray

from aiscientist.config import load_config
from aiscientist.hypotheses.events import (
    EVENT_DECODER,
    ClaimEvent,
    CritiqueEvent,
    FinishEvent,
    ProposeEvent,
    RenewEvent,
    StartEvent,
    TreeEvent,
)
from aiscientist.hypotheses.store import load_tree
from aiscientist.messages import DecisionEvent, ExperimentSpec
from aiscientist.runtime.cluster import actor_name
from aiscientist.runtime.driver import create_run, execute_run
from aiscientist.workspace.journal import Journal
from aiscientist.workspace.rundir import read_manifest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "configs" / "scripts" / "decentralized-improve.yaml"
LEASE_S = 3.0


def _events(run_dir: Path) -> list[TreeEvent]:
    lines = (run_dir / "tree" / "events.jsonl").read_bytes().splitlines()
    return [EVENT_DECODER.decode(line) for line in lines if line.strip()]


def _specs(run_dir: Path) -> list[tuple[Path, ExperimentSpec]]:
    return [
        (p.parent, msgspec.json.decode(p.read_bytes(), type=ExperimentSpec))
        for p in sorted((run_dir / "agent" / "experiments").glob("*/spec.json"))
    ]


@pytest.fixture(scope="module")
def own_ray() -> None:
    """Reuse the session's Ray; else start a private one (address='local'), so a `ray start`
    cluster another test left on this machine is never joined by accident."""
    if not ray.is_initialized():
        ray.init(
            address="local",
            num_cpus=4,
            include_dashboard=False,
            namespace="aiscientist-tests",
            log_to_driver=False,
            runtime_env={"env_vars": {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}},
        )


@pytest.fixture(scope="module")
def killed_run(own_ray: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    cfg = load_config(
        overrides=[
            f"models.default=scripted:{SCRIPT}",
            "sandbox.kind=local",
            "mode=decentralized",
            "peers=3",
            f"search.lease_s={LEASE_S}",
            "budget.wall_minutes=5",
        ]
    )
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path_factory.mktemp("runs"))
    run_id = read_manifest(run_dir).run_id
    errors: list[BaseException] = []

    def drive() -> None:
        try:
            execute_run(run_dir, cfg)
        except BaseException as exc:  # surfaced by the assertions below
            errors.append(exc)

    driver = threading.Thread(target=drive, daemon=True)
    driver.start()
    victim = hypothesis = None
    deadline = time.monotonic() + 90
    while victim is None and time.monotonic() < deadline and driver.is_alive():
        if (run_dir / "tree" / "events.jsonl").exists():
            tree = load_tree(run_dir / "tree")
            for h in tree.hypotheses():
                if h.state == "running" and h.lease is not None and not tree.evidence_of(h.id):
                    victim, hypothesis = h.lease.owner, h.id
                    ray.kill(ray.get_actor(actor_name(run_id, victim)), no_restart=True)
                    break
        time.sleep(0.05)
    driver.join(timeout=150)
    assert not driver.is_alive(), "the decentralized run did not end"
    assert not errors, errors
    assert victim is not None, "no peer ever held a running claim"
    return {"run_dir": run_dir, "victim": victim, "hypothesis": hypothesis}


def test_run_completes_graded_with_the_champion_in_submission(
    killed_run: dict[str, object],
) -> None:
    run_dir = Path(str(killed_run["run_dir"]))
    m = read_manifest(run_dir)
    assert m.status == "finished"
    assert m.score is not None and 0.8 < m.score <= 1.0
    tree = load_tree(run_dir / "tree")
    assert tree.champion is not None and m.best_metric == pytest.approx(tree.champion.metric)
    champ_exp = tree.evidence(tree.champion.evidence_id).exp_id
    work = run_dir / "agent" / "experiments" / champ_exp / "work"
    sub = run_dir / "submission"
    assert (sub / "submission.csv").read_bytes() == (work / "submission.csv").read_bytes()
    assert (sub / "train.py").read_bytes() == (work / "train.py").read_bytes()
    assert all(h.state in ("verified", "refuted", "abandoned") for h in tree.hypotheses())
    assert len(tree.lessons()) >= 1
    authors = {h.author for h in tree.hypotheses()}
    assert len(authors) >= 2 and authors <= {"peer-0", "peer-1", "peer-2"}  # the victim may
    # have died before its first proposal
    assert not (run_dir / "journal" / "transcripts" / "orchestrator").exists()


def test_every_executed_proposal_was_critiqued_first_by_another_peer(
    killed_run: dict[str, object],
) -> None:
    run_dir = Path(str(killed_run["run_dir"]))
    events = _events(run_dir)
    author = {e.id: e.author for e in events if isinstance(e, ProposeEvent)}
    accepted = {
        e.id: e for e in events if isinstance(e, CritiqueEvent) and e.accept
    }  # at most one critique each: the tree moves a proposal on after it
    first_claim: dict[str, int] = {}
    for e in events:
        if isinstance(e, ClaimEvent):
            first_claim.setdefault(e.id, e.seq)
    started = {e.id for e in events if isinstance(e, StartEvent)}
    specs = _specs(run_dir)
    assert specs and started
    for hid in started | {s.hypothesis_id for _, s in specs}:
        c = accepted.get(hid)
        assert c is not None, f"{hid} ran without an accepting critique"
        assert c.by != author[hid] and c.by.startswith("peer-")
        assert c.seq < first_claim[hid]
    for exp, spec in specs:
        (attempt,) = [json.loads(p.read_text()) for p in (exp / "attempts").glob("*.json")]
        assert accepted[spec.hypothesis_id].at < attempt["started_at"]


def test_no_hypothesis_ran_twice(killed_run: dict[str, object]) -> None:
    run_dir = Path(str(killed_run["run_dir"]))
    specs = _specs(run_dir)
    per_run = Counter((s.hypothesis_id, s.seed) for _, s in specs)
    assert per_run and max(per_run.values()) == 1, per_run
    for exp, _ in specs:
        assert len(list((exp / "attempts").glob("*.json"))) == 1, f"{exp.name} started twice"
    tree = load_tree(run_dir / "tree")
    for h in tree.hypotheses():
        assert len(tree.evidence_of(h.id)) <= 1


def test_killed_peers_claim_was_taken_over_after_its_lease_expired(
    killed_run: dict[str, object],
) -> None:
    run_dir = Path(str(killed_run["run_dir"]))
    victim, hid = killed_run["victim"], killed_run["hypothesis"]
    events = [e for e in _events(run_dir) if getattr(e, "id", None) == hid]
    leases = [e for e in events if isinstance(e, ClaimEvent | RenewEvent)]
    held = [e for e in leases if e.owner == victim]
    takeover = [e for e in leases if isinstance(e, ClaimEvent) and e.owner != victim]
    assert held and takeover, f"no takeover of {hid}: {events}"
    assert takeover[0].seq > held[-1].seq
    assert takeover[0].at >= held[-1].expires_at  # only after the victim's lease expired
    (finish,) = [e for e in events if isinstance(e, FinishEvent)]
    assert finish.owner == takeover[-1].owner and finish.state in ("verified", "refuted")
    tree = load_tree(run_dir / "tree")
    (ev,) = tree.evidence_of(str(hid))
    assert ev.status == "ok" and ev.metric is not None
    specs = [s for _, s in _specs(run_dir) if s.hypothesis_id == hid]
    assert len(specs) == 1  # the new owner re-attached to the victim's experiment
    notes = [e.detail for e in Journal(run_dir).events() if isinstance(e, DecisionEvent)]
    assert any(n.startswith(f"{victim}: died") for n in notes)


ONLY_WORK = """\
peer-0/work: &work
  - tool_calls: [{name: run_experiment, arguments: {command: "python train.py"}}]
peer-1/work: *work
"""
NOTHING_WRITTEN = (
    """\
peer-0/propose:
  - tool_calls:
      - {name: propose, arguments: {title: "Tune the model", description: "Better.", tags: [m]}}
peer-1/propose: []
peer-0/critique: &critique
  - tool_calls: [{name: critique, arguments: {accept: true, note: "Worth a run."}}]
peer-1/critique: *critique
"""
    + ONLY_WORK
)


def _two_peers_on_friedman(tmp_path: Path, script: str, *overrides: str) -> Path:
    """A finished decentralized run of two scripted peers on a regression task."""
    path = tmp_path / "peers.yaml"
    path.write_text(script)
    cfg = load_config(
        overrides=[
            f"models.default=scripted:{path}",
            "sandbox.kind=local",
            "mode=decentralized",
            "peers=2",
            "budget.wall_minutes=3",
            *overrides,
        ]
    )
    run_dir = create_run("friedman-regression", cfg, root=tmp_path / "runs")
    execute_run(run_dir, cfg)
    m = read_manifest(run_dir)
    assert m.status == "finished", m.status_note
    return run_dir


def test_a_peer_that_writes_nothing_still_runs_a_working_program(
    own_ray: None, tmp_path: Path
) -> None:
    """A peer's hypothesis starts from a working program (the framework's baseline before
    any champion): a peer that runs it without writing a line, on a regression task whose
    shape no script was written for, gets a verified champion and a valid graded submission,
    not a dead end."""
    run_dir = _two_peers_on_friedman(tmp_path, NOTHING_WRITTEN)
    tree = load_tree(run_dir / "tree")
    assert tree.champion is not None and tree.champion.metric is not None
    area = next((run_dir / "agent" / "peers").glob("*/*/train.py"))
    assert "def make_model" in area.read_text()  # the framework's program, preloaded
    grade = json.loads((run_dir / "grade.json").read_text())
    assert grade["valid"] and grade["score"] < 2.0, grade  # the baseline's RMSE (~1.4)


def test_steered_peers_propose_and_critique_by_rule_and_ask_the_model_only_for_work(
    own_ray: None, tmp_path: Path
) -> None:
    """With steering on (a small model), a peer's proposals are the standard changes, its
    critiques a rule, and each change is made before the model is asked: the script holds no
    proposal, no critique and no code, yet the tree shows proposals titled by the standard
    changes, each critiqued by the other peer before it ran, each run's program holds its
    change, and the run ends with a valid graded submission."""
    from aiscientist.agents.ideas import IDEAS

    run_dir = _two_peers_on_friedman(tmp_path, ONLY_WORK, "models.steering=true")
    events = _events(run_dir)
    proposals = {e.id: e for e in events if isinstance(e, ProposeEvent)}
    titles = {i.title for i in IDEAS}
    assert len(proposals) >= 2 and all(p.title in titles for p in proposals.values())
    critiques = [e for e in events if isinstance(e, CritiqueEvent)]
    assert critiques and all(c.by != proposals[c.id].author for c in critiques)
    for c in critiques:  # two peers may propose one change at once: the later is a repeat
        assert c.note.startswith("not a repeat" if c.accept else "a repeat of"), c
    accepted = {c.id for c in critiques if c.accept}
    started = {e.id for e in events if isinstance(e, StartEvent)}
    assert started and started <= accepted  # critiqued before compute
    ran = [proposals[h].title for h in started]
    assert len(ran) == len(set(ran)), "one standard change ran twice"
    for h in started:  # the script only runs train.py: the change was made for it
        idea = next(i for i in IDEAS if i.title == proposals[h].title)
        code = next((run_dir / "agent" / "peers").glob(f"*/{h}/train.py")).read_text()
        assert idea.code.strip() in code, h
    grade = json.loads((run_dir / "grade.json").read_text())
    assert grade["valid"], grade
