"""Framework-owned validation: the dev split, the verified score, and what stays hidden.

Real run directories (``create_run``), real sandboxed experiments, the task's own grader. The
programs are the framework's baseline (honest) and a cheat that prints a perfect val_score.
"""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pandas as pd
import pytest

from aiscientist.agents.baseline import baseline_program
from aiscientist.config import SandboxConfig, load_config
from aiscientist.errors import RegionPermissionError
from aiscientist.experiments.board import best_by_score
from aiscientist.experiments.executor import execute_experiment
from aiscientist.messages import ExperimentSpec
from aiscientist.runtime.driver import create_run
from aiscientist.tasks import list_bundled, load_task
from aiscientist.tasks.synthetic import SHAPES, make_task
from aiscientist.workspace.view import WorkspaceView

SANDBOX = SandboxConfig(kind="local")
IMPROVE = [n for n in list_bundled() if load_task(n).kind == "improve"]

CHEAT = """\
import json, os, shutil
# claims a perfect score, predicts nothing useful (the sample submission as is)
shutil.copy(os.path.join(os.environ["TASK_DIR"], "public", "sample_submission.csv"),
            "submission.csv")
json.dump({"val_score": %r}, open("metrics.json", "w"))
"""


def _run(tmp_path: Path, task: str | Path, **overrides: str) -> Path:
    sets = ["sandbox.kind=local", *(f"{k}={v}" for k, v in overrides.items())]
    return create_run(task, load_config(overrides=sets), root=tmp_path / "runs")


def _experiment(run_dir: Path, exp_id: str, program: str, seed: int = 0):  # type: ignore[no-untyped-def]
    (run_dir / "submission" / "train.py").write_text(program)
    spec = ExperimentSpec(
        command="python train.py",
        description=exp_id,
        seed=seed,
        outputs=("submission.csv", "metrics.json"),
        timeout_s=300,
    )
    return execute_experiment(str(run_dir), spec, SANDBOX)


def test_dev_split_is_recorded_stratified_and_kept_from_agents(tmp_path: Path) -> None:
    run_dir = _run(tmp_path, "tabular-cancer")
    split = json.loads((run_dir / "dev" / "split.json").read_text())
    assert split["strategy"] == "stratified" and split["seed"] == 0
    public = pd.read_csv(run_dir / "task" / "public" / "train.csv")
    view_train = pd.read_csv(run_dir / "dev" / "view" / "public" / "train.csv")
    view_test = pd.read_csv(run_dir / "dev" / "view" / "public" / "test.csv")
    answers = pd.read_csv(run_dir / "dev" / "private" / "answers.csv")
    assert len(view_train) + len(answers) == len(public)
    assert set(view_test["id"]) == set(answers["id"])
    assert not set(view_train["id"]) & set(answers["id"])
    assert "target" not in view_test.columns
    # stratified: the dev rows keep the class balance of the training rows
    dev_share = answers["target"].mean()
    assert abs(dev_share - public["target"].mean()) < 0.03
    # seeded: another run with the same seed holds out the same rows, another seed others
    again = pd.read_csv(_run(tmp_path, "tabular-cancer") / "dev" / "private" / "answers.csv")
    other = pd.read_csv(
        _run(tmp_path, "tabular-cancer", **{"experiments.dev_seed": "7"})
        / "dev/private/answers.csv"
    )
    assert list(again["id"]) == list(answers["id"])
    assert list(other["id"]) != list(answers["id"])
    view = WorkspaceView(run_dir, "implementation")
    with pytest.raises(RegionPermissionError, match="hidden"):
        view.read_text("dev/private/answers.csv")
    assert "dev/private/answers.csv" not in view.list(".")
    assert "dev/view/public/test.csv" in view.list(".")


@pytest.mark.parametrize("task", IMPROVE)
def test_a_fake_score_never_beats_an_honest_one_on_a_bundled_task(
    tmp_path: Path, task: str
) -> None:
    run_dir = _run(tmp_path, task)
    t = load_task(task)
    honest = _experiment(run_dir, "exp-honest", baseline_program(t.metric))
    cheat = _experiment(run_dir, "exp-cheat", CHEAT % (0.0 if t.lower_is_better else 1.0))
    assert honest.status == "ok" and cheat.status == "ok", (honest.summary, cheat.summary)
    # both numbers are kept; ranking uses the verified one
    assert honest.verified_score is not None and honest.reported_score is not None
    assert honest.score == honest.verified_score
    assert cheat.reported_score == (0.0 if t.lower_is_better else 1.0)
    assert cheat.verified_score is not None  # a valid submission, graded as what it is
    assert best_by_score([honest, cheat], t.lower_is_better) == (honest.exp_id, honest.score)
    assert "differs from the verified" in cheat.summary
    stored = json.loads((run_dir / "agent/experiments" / cheat.exp_id / "result.json").read_text())
    assert stored["reported_score"] == cheat.reported_score
    assert stored["verified_score"] == cheat.verified_score


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_the_baseline_is_verified_on_every_task_shape(tmp_path: Path, shape: str) -> None:
    run_dir = _run(tmp_path, make_task(tmp_path, shape))
    metric, lower = SHAPES[shape]
    result = _experiment(run_dir, "exp-1", baseline_program(metric))
    assert result.status == "ok", result.summary
    assert result.verified_score is not None, result.summary
    assert result.reported_score is not None
    # the code's own held-out number and ours measure the same thing on different rows
    assert abs(result.verified_score - result.reported_score) <= 0.5 * max(
        abs(result.reported_score), 0.2
    ), result.summary


SEARCH = """\
import json, os, sys
fingerprint = os.environ["FP"].replace("|", "\\n")  # dev answer lines, in their order
roots = sys.argv[1:]
found, opened = [], 0
for root in roots:
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            try:
                text = open(p, errors="replace").read(5_000_000)
            except OSError:
                continue
            opened += 1
            if fingerprint in text or f == "answers.csv":
                found.append(p)
json.dump({"found": found, "opened": opened}, open("found.json", "w"))
open("submission.csv", "w").write(open(os.path.join(os.environ["TASK_DIR"], "public",
                                                  "sample_submission.csv")).read())
"""


def test_an_experiment_cannot_read_the_dev_labels(tmp_path: Path) -> None:
    from aiscientist.tasks import BUNDLED_DIR

    run_dir = _run(tmp_path, "tabular-cancer")
    lines = (run_dir / "dev/private/answers.csv").read_text().splitlines()[1:]
    # six consecutive answer lines with both classes: a block no other file holds
    start = next(i for i in range(len(lines)) if len({x[-1] for x in lines[i : i + 6]}) > 1)
    answers = lines[start : start + 6]
    (run_dir / "submission" / "train.py").write_text(SEARCH)
    roots = [str(run_dir), str(BUNDLED_DIR), str(tmp_path)]
    spec = ExperimentSpec(
        command=f"FP='{'|'.join(answers)}' python train.py " + " ".join(roots),
        outputs=("found.json",),
        timeout_s=120,
    )
    result = execute_experiment(str(run_dir), spec, SANDBOX)
    assert result.status == "ok", result.summary
    d = run_dir / "agent/experiments" / result.exp_id
    for work in ("work", "work-dev"):
        report = json.loads((d / work / "found.json").read_text())
        assert report["opened"] > 3, report  # it did look around the run directory
        assert report["found"] == [], (work, report["found"])


FOREST = """\
import json, os
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
task = os.environ["TASK_DIR"]
train = pd.read_csv(f"{task}/public/train.csv")
test = pd.read_csv(f"{task}/public/test.csv")
features = [c for c in test.columns if c != "id"]
model = RandomForestClassifier(n_estimators=3, max_depth=3, random_state=int(os.environ["SEED"]))
model.fit(train[features], train["target"])
pd.DataFrame({"id": test["id"], "target": model.predict(test[features])}).to_csv(
    "submission.csv", index=False)
json.dump({"val_score": 0.9}, open("metrics.json", "w"))
"""


def test_two_seeds_give_two_verified_scores_and_the_gate_measures_their_spread(
    tmp_path: Path,
) -> None:
    from aiscientist.agents.tree_tools import LocalTree, TreeRecorder
    from aiscientist.hypotheses.champion import ChampionGate, measured_noise
    from aiscientist.hypotheses.store import TreeStore

    run_dir = _run(tmp_path, "tabular-cancer")
    store = TreeStore(run_dir / "tree")
    rec = TreeRecorder(
        LocalTree(store.tree),
        WorkspaceView(run_dir, "experimentation"),
        ChampionGate(noise_threshold=None),
        owner="experimentation",
    )
    (run_dir / "submission" / "train.py").write_text(FOREST)
    results, hid = [], ""
    for seed in range(4):
        spec = ExperimentSpec(command="python train.py", seed=seed, outputs=("submission.csv",))
        hid = rec.hypothesis_for(spec, "orchestrator", "small forest", repeat=hid)
        spec = msgspec.structs.replace(spec, hypothesis_id=hid)
        results.append(execute_experiment(str(run_dir), spec, SANDBOX))
        rec.record(results[-1], owner="experimentation")
    scores = [r.verified_score for r in results]
    assert all(s is not None for s in scores), [r.summary for r in results]
    assert len(set(scores)) > 1, scores  # the seed reaches the code
    assert measured_noise(store.tree) == pytest.approx(max(scores) - min(scores))  # type: ignore[type-var,operator]
    store.close()
    from aiscientist.report.status import run_status

    spread = f"{max(scores) - min(scores):.4g}"  # type: ignore[type-var,operator]
    assert ("gate noise", f"{spread} (measured over seeds)") in run_status(run_dir).rows()


def test_a_task_with_a_group_column_holds_out_whole_groups(tmp_path: Path) -> None:
    run_dir = _run(tmp_path, "crop-yield-sites")
    split = json.loads((run_dir / "dev" / "split.json").read_text())
    assert split["strategy"] == "group" and split["group_column"] == "site_id"
    train = pd.read_csv(run_dir / "dev/view/public/train.csv")
    dev = pd.read_csv(run_dir / "dev/view/public/test.csv")
    assert len(dev) > 0 and not set(train["site_id"]) & set(dev["site_id"])
