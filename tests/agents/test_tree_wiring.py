"""Experiments recorded on the hypothesis tree (no Ray): hypothesis per experiment, evidence,
the champion gate, lessons, champion adoption, and lessons in specialists' prompts.

Real run directory, real sandboxed experiments, real tree store on disk; the only stand-in is
the scripted model.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from aiscientist.agents.specialists import Specialist
from aiscientist.agents.tree_tools import LocalTree, TreeRecorder, adopt_champion, task_tag
from aiscientist.config import SandboxConfig, load_config
from aiscientist.errors import ToolError, WorkspaceError
from aiscientist.experiments.executor import execute_experiment
from aiscientist.experiments.tools import best_experiment
from aiscientist.hypotheses.champion import ChampionGate
from aiscientist.hypotheses.events import LessonNode
from aiscientist.hypotheses.store import TreeStore, load_tree
from aiscientist.messages import Budget, Delegation, ExperimentSpec
from aiscientist.models.scripted import ScriptedModel
from aiscientist.runtime.driver import create_run
from aiscientist.workspace.view import WorkspaceView

SANDBOX = SandboxConfig(kind="local")
# The experiment's score is 0.5 + SCORE_STEP * $SCORE, so each test picks its measurements.
TRAIN = (
    "import json, os\n"
    "score = 0.5 + 0.1 * float(os.environ.get('SCORE', '0')) + 0.001 * int(os.environ['SEED'])\n"
    "json.dump({'val_score': score}, open('metrics.json', 'w'))\n"
    "open('submission.csv', 'w').write(f'id,target\\n1,{score}\\n')\n"
)


@pytest.fixture
def run(tmp_path: Path) -> Path:
    # the scores here are what train.py reports (the gate's wiring, not validation)
    cfg = load_config(overrides=["sandbox.kind=local", "experiments.dev_fraction=0"])
    run_dir = create_run("tabular-cancer", cfg, root=tmp_path / "runs")
    (run_dir / "submission" / "train.py").write_text(TRAIN)
    return run_dir


def recorder(
    run_dir: Path, lesson: list[str] | None = None, noise: float = 0.0
) -> tuple[TreeRecorder, TreeStore]:
    store = TreeStore(run_dir / "tree")
    model = None
    if lesson is not None:
        model = ScriptedModel(lesson, name="scripted#lesson")
    rec = TreeRecorder(
        LocalTree(store.tree),
        WorkspaceView(run_dir, "experimentation"),
        ChampionGate(noise_threshold=noise),
        owner="experimentation",
        tags=(task_tag("tabular-cancer"),),
        lesson_model=model,
    )
    return rec, store


def experiment(rec: TreeRecorder, run_dir: Path, score: int, seed: int = 0, repeat: str = ""):  # type: ignore[no-untyped-def]
    spec = ExperimentSpec(
        command=f"SCORE={score} python train.py",
        description=f"variant {score}",
        seed=seed,
        outputs=("submission.csv", "metrics.json"),
    )
    hid = rec.hypothesis_for(spec, "orchestrator", "delegation d1: run it", repeat=repeat)
    spec = msgspec.structs.replace(spec, hypothesis_id=hid)
    result = execute_experiment(str(run_dir), spec, SANDBOX)
    assert result.status == "ok", result.summary
    return hid, result


def test_each_experiment_is_a_critiqued_hypothesis_with_evidence_and_lesson(run: Path) -> None:
    rec, store = recorder(run, lesson=["Variant 3 beats the baseline by a wide margin."])
    hid, result = experiment(rec, run, score=3)
    node = store.tree.hypothesis(hid)
    assert node.state == "running" and node.author == "experimentation"
    assert [(c.by, c.accept) for c in node.critiques] == [("orchestrator", True)]
    assert "delegation d1" in node.critiques[0].note

    line = rec.record(result)
    assert "champion gate: accept" in line
    node = store.tree.hypothesis(hid)
    assert node.state == "verified"
    (ev,) = store.tree.evidence_of(hid)
    assert ev.metric == pytest.approx(0.8) and ev.exp_id == result.exp_id and ev.status == "ok"
    paths = [p.path for p in ev.artifacts]
    assert f"agent/experiments/{result.exp_id}/result.json" in paths
    assert any(p.endswith("run.log") for p in paths)
    assert store.tree.champion is not None and store.tree.champion.evidence_id == ev.id
    (lesson,) = store.tree.lessons()
    assert lesson.text.startswith("Variant 3") and lesson.evidence_ids == (ev.id,)
    # the framework's numbers follow the model's words
    assert lesson.text.endswith("(measured: score 0.8, champion 0.8; gate accept)"), lesson.text

    version = store.tree.version
    assert rec.record(result) == line  # a repeated wait adds nothing
    assert store.tree.version == version
    store.close()
    assert load_tree(run / "tree").same_as(store.tree)


def test_submission_gets_the_champion_not_the_latest_attempt(run: Path) -> None:
    rec, store = recorder(run)
    good, r_good = experiment(rec, run, score=4)
    rec.record(r_good)
    worse, r_worse = experiment(rec, run, score=1)
    line = rec.record(r_worse)
    assert "champion gate: reject" in line
    assert store.tree.hypothesis(worse).state == "refuted"
    assert store.tree.champion is not None and store.tree.champion.hypothesis_id == good
    assert store.tree.lessons() == []  # no lesson model: lessons are skipped, nothing blocks

    view = WorkspaceView(run, "implementation")
    tree = LocalTree(store.tree)
    assert best_experiment(view, tree) == r_good.exp_id
    assert adopt_champion(WorkspaceView(run, "runtime"), tree) == r_good.exp_id
    sub = run / "submission"
    assert (sub / "submission.csv").read_text() == f"id,target\n1,{0.5 + 0.4}\n"
    assert not (sub / "metrics.json").exists()


def test_small_gain_waits_for_a_confirming_seed(run: Path) -> None:
    rec, store = recorder(run, noise=0.05)
    base, r_base = experiment(rec, run, score=0)
    rec.record(r_base)
    small, r1 = experiment(rec, run, score=0, seed=20)  # +0.02: under the noise threshold
    assert "champion gate: confirm" in rec.record(r1)
    assert store.tree.hypothesis(small).state == "running"
    again, r2 = experiment(rec, run, score=0, seed=30, repeat=small)
    assert again == small
    assert "champion gate: accept" in rec.record(r2)
    assert store.tree.hypothesis(small).state == "verified"
    champ = store.tree.champion
    assert champ is not None and champ.hypothesis_id == small and champ.seeds == (20, 30)


def test_exhausted_lesson_script_is_skipped(run: Path) -> None:
    rec, store = recorder(run, lesson=[])
    hid, result = experiment(rec, run, score=2)
    assert "lesson" not in rec.record(result)
    assert store.tree.lessons() == []


def test_specialists_see_relevant_lessons_in_their_task(run: Path, tmp_path: Path) -> None:
    store = TreeStore(run / "tree")
    hid = store.tree.propose("x", author="experimentation", tags=(task_tag("tabular-cancer"),))
    store.tree.add_lesson(
        LessonNode(id="", text="Scaling features did not help.", tags=(task_tag("tabular-cancer"),))
    )
    store.tree.add_lesson(LessonNode(id="", text="Unrelated task lesson.", tags=("task:other",)))
    assert hid
    script = tmp_path / "s.yaml"
    script.write_text(json.dumps({"helper": [{"content": "ok"}]}))
    cfg = load_config(overrides=[f"models.default=scripted:{script}", "sandbox.kind=local"])
    spec = Specialist("helper", run, cfg, ScriptedModel.from_file(script, "helper"), None, None)
    spec.tree = LocalTree(store.tree)
    d = Delegation(id="del-1", role="helper", instruction="look around", budget=Budget(steps=1))
    spec.handle(d)
    transcript = (run / "journal/transcripts/helper/del-1.jsonl").read_text().splitlines()
    task = json.loads(transcript[1])["content"]
    assert "Scaling features did not help." in task
    assert "Unrelated task lesson." not in task


def test_peer_critiques_only_others_proposals_and_never_runs_an_uncritiqued_one(
    run: Path, tmp_path: Path
) -> None:
    from aiscientist.agents.peer import Peer

    store = TreeStore(run / "tree")
    theirs = store.tree.propose("their idea", author="peer-1")
    mine = store.tree.propose("my idea", author="peer-0")
    # peer-1 has left the run: nobody else can critique peer-0's proposal
    state = run / "agent" / "peers" / "peer-1" / "state.json"
    state.parent.mkdir(parents=True)
    state.write_text(json.dumps({"state": "exited"}))
    script = tmp_path / "s.yaml"
    reject = {"name": "critique", "arguments": {"accept": False, "note": "already tried"}}
    script.write_text(json.dumps({"peer-0/critique": [{"tool_calls": [reject]}]}))
    cfg = load_config(overrides=[f"models.default=scripted:{script}", "sandbox.kind=local"])
    peer = Peer(
        "peer-0",
        run,
        cfg,
        ScriptedModel.from_file(script, "peer-0"),
        LocalTree(store.tree),
        None,  # type: ignore[arg-type]  # no experiment service: running anything would fail
        peers=("peer-0", "peer-1"),
    )
    outcome = peer.run()
    assert outcome.status == "ok" and outcome.ran == []
    t = store.tree
    assert [(c.by, c.accept) for c in t.hypothesis(theirs).critiques] == [("peer-0", False)]
    assert t.hypothesis(theirs).state == "abandoned"
    assert t.hypothesis(mine).critiques == ()  # never critiqued by its own author
    assert t.hypothesis(mine).state == "abandoned"
    assert "no other active peer" in t.hypothesis(mine).note
    assert not list((run / "agent" / "experiments").glob("*/spec.json"))
    assert json.loads((run / "agent/peers/peer-0/state.json").read_text())["state"] == "exited"


def test_peer_writes_stay_in_its_own_area(run: Path) -> None:
    from aiscientist.agents.peer_tools import scoped_write_tools
    from aiscientist.agents.workspace_tools import WriteArgs

    area = "agent/peers/peer-0/hyp-1"
    write = scoped_write_tools(WorkspaceView(run, "peer"), SANDBOX, area, "peer-0")[0]
    assert "wrote agent/peers/peer-0/hyp-1/train.py" in write.fn(
        WriteArgs(path="train.py", content="x")
    )
    for bad in ("../../peer-1/hyp-2/train.py", "../x.py"):
        with pytest.raises((ToolError, WorkspaceError)):  # both go back to the model
            write.fn(WriteArgs(path=bad, content="y"))
    # other regions' names are only folders inside the area
    write.fn(WriteArgs(path="submission/train.py", content="z"))
    assert (run / area / "submission" / "train.py").read_text() == "z"
    assert not (run / "submission" / "train.py").read_text().startswith("z")
    assert not (run / "agent/peers/peer-1").exists()


def test_lessons_cross_runs_through_the_opt_in_store(run: Path, tmp_path: Path) -> None:
    from aiscientist.agents.tree_tools import import_lessons, lessons_block
    from aiscientist.hypotheses.lessons import LessonStore

    store = LessonStore(tmp_path / "lessons")
    rec, first = recorder(run, lesson=["Variant 2 is a solid baseline; tune it next."])
    rec.store, rec.family, rec.run_id = store, "tabular-cancer", run.name
    hid, result = experiment(rec, run, score=2)
    rec.record(result)
    (stored,) = store.load("tabular-cancer")
    assert stored.text.startswith("Variant 2") and stored.source == run.name

    later = LocalTree(TreeStore(tmp_path / "later-run" / "tree").tree)
    assert len(import_lessons(later, store, "tabular-cancer")) == 1
    assert import_lessons(later, store, "tabular-cancer") == []  # once only
    block = lessons_block(later, (task_tag("tabular-cancer"),))
    assert "Variant 2 is a solid baseline" in block
