"""``mode: aide``: AIDE's search policy, and whole scripted runs on every bundled improve task
(a real ``aiscientist batch`` on a local Ray, real sandboxed experiments, real grading)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest
import yaml
from runtime_harness import REPO, cli_env, ray_tmpdir

from aiscientist.agents.aide import AideNode, choose, extract_code
from aiscientist.agents.baseline import baseline_program
from aiscientist.config import load_config
from aiscientist.hypotheses.store import load_tree
from aiscientist.tasks import list_bundled, load_task

IMPROVE = [n for n in list_bundled() if load_task(n).kind == "improve"]


def _node(i: int, action: str = "draft", score: float | None = 0.5, **kw: object) -> AideNode:
    return AideNode(id=f"node-{i}", action=action, exp_id=f"exp-{i}", score=score, **kw)  # type: ignore[arg-type]


def test_policy_drafts_first_then_debugs_a_buggy_leaf_or_improves_the_best() -> None:
    cfg = load_config(overrides=["search.drafts=2", "search.debug_prob=0.5"])
    rng = random.Random(0)
    assert choose([], cfg, False, rng) == ("draft", None)
    one = [_node(1, score=0.7)]
    assert choose(one, cfg, False, rng)[0] == "draft"
    two = [*one, _node(2, score=None, error="Traceback")]
    picks = {choose(two, cfg, False, random.Random(s))[0] for s in range(20)}
    assert picks == {"debug", "improve"}  # a coin flip between the two
    for s in range(20):
        action, node = choose(two, cfg, False, random.Random(s))
        assert node is not None
        assert node.id == ("node-2" if action == "debug" else "node-1")
    # greedy in the task's direction; a node already debugged to the limit is left alone
    three = [_node(1, score=0.7), _node(2, score=0.3), _node(3, "debug", None, debug_depth=3)]
    assert choose(three, cfg, False, random.Random(1)) == ("improve", three[0])
    assert choose(three, cfg, True, random.Random(1)) == ("improve", three[1])
    # no good node: back to drafting
    bad = [_node(1, score=None), _node(2, score=None, debug_depth=3)]
    never = load_config(overrides=["search.drafts=2", "search.debug_prob=0"])
    assert choose(bad, never, False, rng) == ("draft", None)


def test_code_is_the_longest_block_and_a_reply_without_one_is_refused() -> None:
    plan, code = extract_code(
        "Use more trees.\n```python\nx = 1\n```\n```python\nimport os\ny = 2\n```"
    )
    assert plan == "Use more trees." and code == "import os\ny = 2\n"
    # a reply cut off at its length limit still yields its (unfinished) program
    assert extract_code("Plan.\n```python\nimport os\nx = (")[1] == "import os\nx = (\n"
    with pytest.raises(ValueError, match="no ```python"):
        extract_code("I would use a random forest.")


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("aide")
    tasks = []
    for name in IMPROVE:
        good = baseline_program(load_task(name).metric)
        script = root / f"{name}.yaml"
        replies = [
            f"Start from the working program.\n```python\n{good}```",
            "Add a feature.\n```python\nimport nonexistent_module_for_the_test\n```",
            f"The import fails: drop it.\n```python\n# fixed\n{good}```",
        ]
        script.write_text(yaml.safe_dump({"aide": replies}))
        tasks.append({"task": name, "model": f"scripted:{script}"})
    spec = {
        "concurrency": 2,
        "workspace": str(root / "runs"),
        "set": [
            "mode=aide",
            "sandbox.kind=local",
            "search.drafts=1",
            "search.debug_prob=1.0",
            "limits.orchestrator_steps=3",
        ],
        "tasks": tasks,
    }
    (root / "batch.yaml").write_text(yaml.safe_dump(spec))
    out = subprocess.run(
        [sys.executable, "-m", "aiscientist.cli", "batch", str(root / "batch.yaml")],
        capture_output=True,
        text=True,
        timeout=1200,
        env=cli_env(ray_tmpdir()),
        cwd=REPO,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    runs = {}
    for d in (root / "runs").iterdir():
        if (d / "run.json").is_file():
            runs[json.loads((d / "run.json").read_text())["task"]["name"]] = d
    return runs


@pytest.mark.parametrize("task", IMPROVE)
def test_an_aide_run_drafts_improves_debugs_and_submits_on_every_bundled_task(
    batch: dict[str, Path], task: str
) -> None:
    run_dir = batch[task]
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["status"] == "finished", manifest["note"]
    assert manifest["grade"]["valid"], manifest["grade"]
    nodes = [
        msgspec.json.decode(
            (run_dir / "agent/aide" / f"node-{i}/node.json").read_bytes(), type=AideNode
        )
        for i in (1, 2, 3)
    ]
    assert [n.action for n in nodes] == ["draft", "improve", "debug"]
    assert nodes[0].score is not None and nodes[1].score is None and nodes[2].score is not None
    assert nodes[1].parent == "node-1" and nodes[2].parent == "node-2"
    assert (
        "nonexistent_module_for_the_test"
        in nodes[1].error
        + (run_dir / "agent/experiments" / nodes[1].exp_id / "run.log").read_text()
    )
    # every node is a hypothesis on the run's tree, linked to the node it came from
    tree = load_tree(run_dir / "tree")
    h2, h3 = tree.hypothesis(nodes[1].hypothesis_id), tree.hypothesis(nodes[2].hypothesis_id)
    assert h2.parent == nodes[0].hypothesis_id and h3.parent == nodes[1].hypothesis_id
    assert tree.champion is not None
    # the verified scores, not the code's, decide; the submission is the best node's output
    result = json.loads(
        (run_dir / "agent/experiments" / nodes[0].exp_id / "result.json").read_text()
    )
    assert result["verified_score"] == nodes[0].score
    assert (run_dir / "submission" / "submission.csv").is_file()
    good = [n for n in nodes if n.score is not None]
    lower = load_task(task).lower_is_better
    best = (min if lower else max)(good, key=lambda n: (n.score, n.id))
    adopted = (run_dir / "submission" / "train.py").read_text()
    assert adopted == (run_dir / "agent/aide" / best.id / "train.py").read_text()
