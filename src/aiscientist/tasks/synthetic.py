"""Small improve tasks of a chosen shape, generated offline (MLE-bench layout).

Shapes for tests and for ``scripts/bench/quality.py``, some of which no bundled task has: a
regression with a categorical and a partly missing feature, many-class labels, one
probability column per class, a binary probability, several binary targets. Deterministic
for a seed; no leaderboard (no medals), unlike the bundled tasks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import yaml

SHAPES = {
    "regression": ("rmse", True),
    "many-labels": ("accuracy", False),
    "per-class-probability": ("multi-class-log-loss", True),
    "binary-probability": ("auc", False),
    "several-binary": ("mean-column-wise-roc-auc", False),
}
"""Each shape with the metric it is scored by and whether lower is better."""


def make_task(root: Path, shape: str, seed: int = 0, rows: int = 600) -> Path:
    """A task of ``shape`` (a key of ``SHAPES``) under ``root``; returns its directory."""
    metric, lower = SHAPES[shape]
    rng = np.random.default_rng(seed)
    n = rows
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
    tr, te = slice(0, n * 3 // 4), slice(n * 3 // 4, n)
    d = root / f"synthetic-{shape}"
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
