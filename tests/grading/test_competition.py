"""The competition grader on real task directories: scores, medals, and every way a
submission can be invalid (reported, never raised)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import msgspec
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss

from aiscientist.grading import check_submission, grade_competition
from aiscientist.grading.command import grade_run, read_manifest
from aiscientist.messages import RunManifest, TaskRef
from aiscientist.tasks import Task, load_task


@pytest.fixture(scope="module")
def cancer() -> Task:
    return load_task("tabular-cancer")


def _answers(task: Task) -> pd.DataFrame:
    assert task.answers is not None
    return pd.read_csv(task.answers)


def test_perfect_submission_scores_one_and_wins_gold(cancer: Task, tmp_path: Path) -> None:
    sub = tmp_path / "s.csv"
    _answers(cancer).to_csv(sub, index=False)
    g = grade_competition(cancer, sub)
    assert g.valid and g.score == 1.0 and g.medal == "gold" and g.above_median is True
    assert g.num_teams == 312 and g.error == ""


def test_shuffled_rows_and_column_order_score_the_same(cancer: Task, tmp_path: Path) -> None:
    ans = _answers(cancer)
    flipped = ans.copy()
    flipped.loc[:9, "target"] = 1 - flipped.loc[:9, "target"]
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    flipped.to_csv(a, index=False)
    flipped.sample(frac=1, random_state=0)[["target", "id"]].to_csv(b, index=False)
    ga, gb = grade_competition(cancer, a), grade_competition(cancer, b)
    assert ga.score == pytest.approx(1 - 10 / len(ans)) and gb.score == ga.score


def test_constant_sample_submission_earns_nothing(cancer: Task) -> None:
    assert cancer.sample_submission is not None
    g = grade_competition(cancer, cancer.sample_submission)
    assert g.valid and g.score is not None and g.score < 0.7
    assert g.medal is None and g.above_median is False


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda df: df.rename(columns={"target": "label"}), r"missing columns 'target'"),
        (lambda df: df.assign(extra=1), r"unexpected columns 'extra'"),
        (lambda df: df.iloc[:-3], r"rows, expected .*ids missing from the submission"),
        (lambda df: pd.concat([df, df.iloc[:1]]), r"rows, expected.*duplicate ids"),
        (lambda df: df.assign(id=df["id"] + 100000), r"ids not in the sample submission"),
        (lambda df: df.assign(target=np.where(df.index < 2, np.nan, df["target"])), r"NaN"),
    ],
)
def test_invalid_submissions_name_the_problem(
    cancer: Task,
    tmp_path: Path,
    mutate,
    message: str,  # noqa: ANN001
) -> None:
    sub = tmp_path / "s.csv"
    mutate(_answers(cancer)).to_csv(sub, index=False)
    g = grade_competition(cancer, sub)
    assert not g.valid and g.score is None and g.medal is None
    assert re.search(message, g.error), g.error


def test_missing_and_unreadable_submissions(cancer: Task, tmp_path: Path) -> None:
    g = grade_competition(cancer, tmp_path / "none.csv")
    assert not g.valid and "does not exist" in g.error
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "not a readable CSV" in grade_competition(cancer, empty).error


def test_non_numeric_prediction_for_numeric_metric_is_invalid(tmp_path: Path) -> None:
    task = load_task("friedman-regression")
    sub = _answers(task).astype({"target": object})
    sub.loc[0, "target"] = "high"
    path = tmp_path / "s.csv"
    sub.to_csv(path, index=False)
    g = grade_competition(task, path)
    assert not g.valid and "non-numeric" in g.error


def test_check_submission_empty_for_valid(cancer: Task) -> None:
    assert cancer.sample_submission is not None and cancer.answers is not None
    assert check_submission(cancer.answers, cancer.sample_submission) == []


def _multiclass_task(root: Path, answers: pd.DataFrame) -> Task:
    (root / "public").mkdir(parents=True)
    (root / "private").mkdir()
    (root / "description.md").write_text("three classes")
    pd.DataFrame({"id": answers["id"], "a": 1 / 3, "b": 1 / 3, "c": 1 / 3}).to_csv(
        root / "public" / "sample_submission.csv", index=False
    )
    answers.to_csv(root / "private" / "answers.csv", index=False)
    (root / "config.yaml").write_text("id: mc\ngrader:\n  name: multi-class-log-loss\n")
    return load_task(root)


def test_multiclass_log_loss_with_label_answers(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    labels = rng.choice(["a", "b", "c"], 50)
    task = _multiclass_task(tmp_path / "mc", pd.DataFrame({"id": range(50), "label": labels}))
    assert task.lower_is_better and task.target_columns == ("a", "b", "c")
    probs = rng.dirichlet(np.ones(3), 50)
    sub = pd.DataFrame(probs, columns=["a", "b", "c"])
    sub.insert(0, "id", range(50))
    sub.to_csv(tmp_path / "s.csv", index=False)
    g = grade_competition(task, tmp_path / "s.csv")
    assert g.valid and g.medal is None and g.above_median is None
    assert g.score == pytest.approx(log_loss(labels, probs, labels=["a", "b", "c"]), rel=1e-6)


def _run_dir(tmp_path: Path, task: Task) -> Path:
    run = tmp_path / "run"
    (run / "submission").mkdir(parents=True)
    manifest = RunManifest(
        run_id="run-1",
        task=TaskRef(kind=task.kind, name=task.name, source=str(task.root)),
        config={},
    )
    (run / "run.json").write_bytes(msgspec.json.encode(manifest))
    return run


def test_grade_run_improve_writes_grade_json(cancer: Task, tmp_path: Path) -> None:
    run = _run_dir(tmp_path, cancer)
    _answers(cancer).to_csv(run / "submission" / "submission.csv", index=False)
    summary = grade_run(run)
    assert summary["valid"] is True and summary["score"] == 1.0 and summary["medal"] == "gold"
    on_disk = json.loads((run / "grade.json").read_text())
    assert on_disk["score"] == 1.0 and on_disk["metric"] == "accuracy"
    assert on_disk["gold_threshold"] is not None
    assert not list(run.glob(".grade.json.*"))  # no temp file left behind


def test_grade_run_without_submission_is_invalid_not_an_error(cancer: Task, tmp_path: Path) -> None:
    run = _run_dir(tmp_path, cancer)
    summary = grade_run(run)
    assert summary["valid"] is False and "does not exist" in str(summary["error"])
    assert json.loads((run / "grade.json").read_text())["valid"] is False


def test_read_manifest_errors_name_the_file(tmp_path: Path) -> None:
    from aiscientist.errors import UserError

    with pytest.raises(UserError, match="no run.json"):
        read_manifest(tmp_path)
    (tmp_path / "run.json").write_text("{")
    with pytest.raises(UserError, match="run.json .* is corrupt"):
        read_manifest(tmp_path)
    shutil.rmtree(tmp_path)
