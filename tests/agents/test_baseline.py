"""The framework's baseline program works on task shapes the project was not built around:
regression with categorical and missing features, many-class labels, one probability column
per class, binary AUC, several binary targets. Each program runs for real on generated data
and its submission is graded by the task's own grader."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from aiscientist.agents.baseline import baseline_program, kind_of
from aiscientist.grading.competition import grade_competition
from aiscientist.tasks import load_task


def make_task(root: Path, metric: str, lower: bool, shape: str, seed: int = 0) -> Path:
    """A small improve task in MLE-bench layout of the given ``shape``."""
    rng = np.random.default_rng(seed)
    n = 600
    x = rng.normal(size=(n, 5))
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(5)])
    frame["colour"] = rng.choice(["red", "green", "blue"], n)
    frame.loc[rng.random(n) < 0.1, "f1"] = np.nan
    signal = x[:, 0] * 2 + np.sin(3 * x[:, 2]) + (frame["colour"] == "red") * 1.5
    frame.insert(0, "row_id", np.arange(10_000, 10_000 + n))
    if shape == "regression":
        labels = pd.DataFrame({"price": signal * 10 + 50 + rng.normal(size=n)})
        answers = labels
    elif shape == "many-labels":
        cut = np.quantile(signal, [0.2, 0.4, 0.6, 0.8])
        names = np.array(["alpha", "beta", "gamma", "delta", "epsilon"])
        labels = pd.DataFrame({"species": names[np.searchsorted(cut, signal)]})
        answers = labels
    elif shape == "per-class-probability":
        cut = np.quantile(signal, [0.33, 0.66])
        cls = np.array(["low", "mid", "high"])[np.searchsorted(cut, signal)]
        labels = pd.DataFrame({"grade": cls})
        answers = pd.DataFrame({c: (cls == c).astype(int) for c in ("high", "low", "mid")})
    elif shape == "binary-probability":
        labels = pd.DataFrame({"churn": (signal + rng.normal(size=n) > 0.5).astype(int)})
        answers = labels
    else:  # several binary targets
        labels = pd.DataFrame(
            {
                "toxic": (signal > 0.3).astype(int),
                "rude": (x[:, 1] + x[:, 3] > 0).astype(int),
            }
        )
        answers = labels
    tr, te = slice(0, 450), slice(450, n)
    d = root / f"{shape}-{metric}"
    (d / "public").mkdir(parents=True)
    (d / "private").mkdir()
    pd.concat([frame[tr], labels[tr]], axis=1).to_csv(d / "public" / "train.csv", index=False)
    frame[te].to_csv(d / "public" / "test.csv", index=False)
    ans = pd.concat([frame[["row_id"]][te], answers[te]], axis=1)
    ans.to_csv(d / "private" / "answers.csv", index=False)
    sample = ans.copy()
    for c in sample.columns[1:]:
        sample[c] = 0
    sample.to_csv(d / "public" / "sample_submission.csv", index=False)
    (d / "description.md").write_text(f"# {shape}\nPredict the target; scored by {metric}.\n")
    config = {
        "id": d.name,
        "name": d.name,
        "kind": "improve",
        "description": "description.md",
        "dataset": {
            "answers": "private/answers.csv",
            "sample_submission": "public/sample_submission.csv",
        },
        "grader": {"name": metric},
        "lower_is_better": lower,
        "id_column": "row_id",
        "target_columns": list(answers.columns),
    }
    (d / "config.yaml").write_text(yaml.safe_dump(config))
    return d


CASES = [
    ("rmse", True, "regression", 8.0),
    ("accuracy", False, "many-labels", 0.5),
    ("multi-class-log-loss", True, "per-class-probability", 0.8),
    ("auc", False, "binary-probability", 0.8),
    ("mean-column-wise-roc-auc", False, "several-binary", 0.75),
]


@pytest.mark.parametrize(("metric", "lower", "shape", "good"), CASES)
def test_the_baseline_runs_and_scores_on_every_shape(
    tmp_path: Path, metric: str, lower: bool, shape: str, good: float
) -> None:
    task_dir = make_task(tmp_path, metric, lower, shape)
    work = tmp_path / "work"
    work.mkdir()
    (work / "train.py").write_text(baseline_program(metric))
    out = subprocess.run(
        [sys.executable, "train.py"],
        cwd=work,
        env={**os.environ, "TASK_DIR": str(task_dir), "SEED": "3"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert "val_score" in (work / "metrics.json").read_text()
    grade = grade_competition(load_task(task_dir), work / "submission.csv")
    assert grade.valid, grade.error
    assert grade.score is not None
    assert (grade.score <= good) if lower else (grade.score >= good), (metric, grade.score)


def test_kinds_follow_the_metric() -> None:
    assert kind_of("rmse") == "regression" and kind_of("mae") == "regression"
    assert kind_of("accuracy") == "labels" and kind_of("qwk") == "labels"
    assert kind_of("auc") == "probability" and kind_of("mlogloss") == "probability"
