"""Generate the bundled offline tasks under ``src/aiscientist/tasks/bundled/``.

Deterministic: data comes from scikit-learn's bundled datasets or its generators with fixed
seeds, and leaderboards are drawn from fixed-seed distributions anchored on scores that
simple and strong models really reach on the split. Nothing is downloaded. Rerun with::

    .venv/bin/python scripts/make_bundled_tasks.py

Leaderboard format (``leaderboard.csv``): ``teamName,score,submissionDate``, sorted best
first, as MLE-bench's leaderboards are; only ``score`` is read by the grader.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, make_friedman1

BUNDLED = Path(__file__).resolve().parents[1] / "src" / "aiscientist" / "tasks" / "bundled"


def _leaderboard(
    rng: np.random.Generator,
    n_teams: int,
    best: float,
    median: float,
    worst: float,
    lower_is_better: bool,
    decimals: int = 5,
    quantum: float | None = None,
    top_power: float = 1.6,
) -> pd.DataFrame:
    """Scores spread from ``best`` through ``median`` to ``worst`` (a skewed, long tail).

    ``top_power`` shapes the top half: above 1 the leaders crowd near ``best``.
    """
    u = np.sort(rng.uniform(0.0, 1.0, n_teams))
    # Piecewise map: top half concentrated near best..median, bottom half stretches to worst.
    lo = u[u <= 0.5] / 0.5
    hi = (u[u > 0.5] - 0.5) / 0.5
    top = best + (median - best) * lo**top_power
    bottom = median + (worst - median) * hi**2.5
    scores = np.concatenate([top, bottom])
    if quantum is not None:  # e.g. accuracy on 171 rows only takes values k/171
        scores = np.round(scores / quantum) * quantum
    scores = np.round(scores, decimals)
    scores = np.sort(scores) if lower_is_better else np.sort(scores)[::-1]
    days = rng.integers(0, 90, n_teams)
    dates = pd.Timestamp("2024-01-01") + pd.to_timedelta(days, unit="D")
    return pd.DataFrame(
        {
            "teamName": [f"team-{i:04d}" for i in rng.permutation(n_teams)],
            "score": scores,
            "submissionDate": dates.strftime("%Y-%m-%d"),
        }
    )


def _write_improve(
    name: str,
    train: pd.DataFrame,
    test: pd.DataFrame,
    answers: pd.DataFrame,
    sample: pd.DataFrame,
    config: str,
    description: str,
    leaderboard: pd.DataFrame,
) -> None:
    root = BUNDLED / name
    (root / "public").mkdir(parents=True, exist_ok=True)
    (root / "private").mkdir(parents=True, exist_ok=True)
    train.to_csv(root / "public" / "train.csv", index=False, float_format="%.6g")
    test.to_csv(root / "public" / "test.csv", index=False, float_format="%.6g")
    sample.to_csv(root / "public" / "sample_submission.csv", index=False)
    answers.to_csv(root / "private" / "answers.csv", index=False, float_format="%.6g")
    leaderboard.to_csv(root / "leaderboard.csv", index=False)
    (root / "config.yaml").write_text(config)
    (root / "description.md").write_text(description)


def _split(n: int, test_frac: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    perm = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_frac))
    return np.sort(perm[n_test:]), np.sort(perm[:n_test])


def make_tabular_cancer() -> None:
    data = load_breast_cancer()
    cols = [c.replace(" ", "_") for c in data.feature_names]
    df = pd.DataFrame(data.data, columns=cols)
    df.insert(0, "id", np.arange(len(df)) + 1000)
    df["target"] = data.target
    tr, te = _split(len(df), 0.3, seed=6)
    train = df.iloc[tr].reset_index(drop=True)
    test = df.iloc[te].drop(columns="target").reset_index(drop=True)
    answers = df.iloc[te][["id", "target"]].reset_index(drop=True)
    sample = pd.DataFrame({"id": answers["id"], "target": 1})
    # Scaled logistic regression reaches 0.982 on this split, gradient boosting 0.965.
    lb = _leaderboard(
        np.random.default_rng(61), 312, 1.0, 0.959, 0.626, False, quantum=1 / len(answers)
    )
    config = """\
id: tabular-cancer
name: Tabular Cancer (breast cancer diagnosis)
kind: improve
competition_type: simple
awards_medals: true
description: description.md
dataset:
  answers: private/answers.csv
  sample_submission: public/sample_submission.csv
grader:
  name: accuracy
lower_is_better: false
id_column: id
target_columns: [target]
"""
    description = """\
# Tabular Cancer

Predict whether a breast mass is benign or malignant from 30 numeric features computed from a
digitised image of a fine needle aspirate (the Wisconsin Diagnostic Breast Cancer data, as
bundled with scikit-learn).

## Data

- `public/train.csv`: `id`, 30 feature columns, and `target` (1 = benign, 0 = malignant).
- `public/test.csv`: `id` and the same 30 feature columns, without `target`.
- `public/sample_submission.csv`: the submission format.

## Evaluation

Submissions are scored by **accuracy** (fraction of test rows whose predicted `target` equals
the true label). Higher is better.

## Submission format

A CSV file `submission.csv` with a header and one row per test `id`:

```
id,target
1003,1
1010,0
...
```

`target` must be 0 or 1. Every test `id` must appear exactly once.
"""
    _write_improve("tabular-cancer", train, test, answers, sample, config, description, lb)


def make_friedman_regression() -> None:
    x, y = make_friedman1(n_samples=2000, n_features=10, noise=1.0, random_state=7)
    df = pd.DataFrame(x, columns=[f"x{i}" for i in range(10)])
    df.insert(0, "id", np.arange(len(df)))
    df["target"] = y
    tr, te = _split(len(df), 0.25, seed=7)
    train = df.iloc[tr].reset_index(drop=True)
    test = df.iloc[te].drop(columns="target").reset_index(drop=True)
    answers = df.iloc[te][["id", "target"]].reset_index(drop=True)
    sample = pd.DataFrame({"id": answers["id"], "target": float(train["target"].mean())})
    # Predicting the mean gives RMSE 5.0, ridge 2.59, gradient boosting 1.39, cubic features +
    # ridge 1.22; the noise floor is 1.0.
    lb = _leaderboard(np.random.default_rng(71), 184, 1.045, 1.45, 4.95, True)
    config = """\
id: friedman-regression
name: Friedman Regression
kind: improve
competition_type: simple
awards_medals: true
description: description.md
dataset:
  answers: private/answers.csv
  sample_submission: public/sample_submission.csv
grader:
  name: root-mean-squared-error
lower_is_better: true
id_column: id
target_columns: [target]
"""
    description = """\
# Friedman Regression

Predict a continuous `target` from ten features `x0`..`x9`, each uniform on [0, 1]. Some
features matter, some are noise, and the relation is nonlinear with interactions. The target
carries Gaussian noise, so a perfect model does not reach zero error.

## Data

- `public/train.csv`: `id`, `x0`..`x9`, `target` (1500 rows).
- `public/test.csv`: `id`, `x0`..`x9` (500 rows).
- `public/sample_submission.csv`: the submission format (every prediction the train mean).

## Evaluation

**Root mean squared error** between predicted and true `target`. Lower is better.

## Submission format

`submission.csv` with columns `id,target`, one row per test `id`, numeric predictions.
"""
    _write_improve("friedman-regression", train, test, answers, sample, config, description, lb)


def _interaction_target(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    logit = (
        3.0 * np.sign(x[:, 0] * x[:, 1])
        + 2.5 * np.sin(2.5 * x[:, 2]) * np.cos(2.0 * x[:, 3])
        + 2.0 * ((x[:, 4] > 0.3) & (x[:, 5] < -0.2))
        - 1.5 * (np.abs(x[:, 6]) > 1.2)
        + 0.3 * x[:, 7]
        - 0.2
    )
    p = 1.0 / (1.0 + np.exp(-1.6 * logit))
    return (rng.uniform(size=len(p)) < p).astype(int)


def make_interaction_classification() -> None:
    rng = np.random.default_rng(8)
    n, d = 3000, 20
    x = rng.normal(size=(n, d))
    y = _interaction_target(x, rng)
    df = pd.DataFrame(x, columns=[f"f{i:02d}" for i in range(d)])
    df.insert(0, "id", np.arange(n) + 50000)
    df["target"] = y
    tr, te = _split(n, 0.3, seed=8)
    train = df.iloc[tr].reset_index(drop=True)
    test = df.iloc[te].drop(columns="target").reset_index(drop=True)
    answers = df.iloc[te][["id", "target"]].reset_index(drop=True)
    sample = pd.DataFrame({"id": answers["id"], "target": 0.5})
    # Logistic regression reaches 0.54 AUC, random forest 0.85, gradient boosting 0.94, and
    # gradient boosting on the right engineered features 0.98.
    lb = _leaderboard(np.random.default_rng(81), 1240, 0.984, 0.91, 0.50, False)
    config = """\
id: interaction-classification
name: Hidden Interactions
kind: improve
competition_type: simple
awards_medals: true
description: description.md
dataset:
  answers: private/answers.csv
  sample_submission: public/sample_submission.csv
grader:
  name: auc-roc
lower_is_better: false
id_column: id
target_columns: [target]
"""
    description = """\
# Hidden Interactions

Binary classification on 20 anonymised numeric features `f00`..`f19`. The label depends on
the features through interactions and thresholds, not additively; most features are noise.
A linear model barely beats chance here, so feature engineering and model choice matter.

## Data

- `public/train.csv`: `id`, `f00`..`f19`, `target` (0 or 1), 2100 rows.
- `public/test.csv`: `id`, `f00`..`f19`, 900 rows.
- `public/sample_submission.csv`: the submission format.

## Evaluation

**Area under the ROC curve** between the predicted probability that `target` is 1 and the
true label. Higher is better.

## Submission format

`submission.csv` with columns `id,target`, one row per test `id`; `target` is a probability
(or any score that ranks rows) for class 1.
"""
    _write_improve(
        "interaction-classification", train, test, answers, sample, config, description, lb
    )


def _node(
    node_id: str,
    requirements: str,
    weight: int,
    subs: list[dict] | None = None,
    category: str | None = None,
    fine: str | None = None,
) -> dict:
    return {
        "id": node_id,
        "requirements": requirements,
        "weight": weight,
        "sub_tasks": subs or [],
        "task_category": category,
        "finegrained_task_category": fine,
    }


def make_rff_ridge_rubric() -> None:
    """The PaperBench rubric of the bundled replicate task (its paper.md is hand-written)."""
    cd, ce, ra = "Code Development", "Code Execution", "Result Analysis"
    data_fine, method_fine = "Data Processing & Preparation", "Method Implementation"
    setup_fine, eval_fine = "Experimental Setup", "Evaluation, Metrics & Benchmarking"
    log_fine = "Logging, Analysis & Presentation"
    leaf = _node
    rubric = _node(
        "rff-ridge",
        "The paper's RFF-ridge results on Friedman-1 are reproduced",
        1,
        [
            _node(
                "data",
                "The data set and split follow Section 1",
                1,
                [
                    leaf(
                        "data-generate",
                        "The code generates the data with make_friedman1(n_samples=2000, "
                        "n_features=10, noise=1.0, random_state=0).",
                        1,
                        category=cd,
                        fine=data_fine,
                    ),
                    leaf(
                        "data-split",
                        "The code uses the first 1500 rows as the training set and the "
                        "last 500 rows as the test set, without shuffling.",
                        1,
                        category=cd,
                        fine=data_fine,
                    ),
                ],
            ),
            _node(
                "baselines",
                "The three baselines of Section 2 are implemented and run",
                2,
                [
                    leaf(
                        "baseline-mean",
                        "The code implements the mean predictor: every test "
                        "prediction is the mean of the training targets.",
                        1,
                        category=cd,
                        fine=method_fine,
                    ),
                    leaf(
                        "baseline-ridge",
                        "The code fits linear ridge regression with alpha=1.0 and an "
                        "intercept on the raw features.",
                        1,
                        category=cd,
                        fine=method_fine,
                    ),
                    leaf(
                        "baseline-krr",
                        "The code fits exact kernel ridge regression with an RBF kernel, "
                        "gamma=0.25 and alpha=0.01.",
                        1,
                        category=cd,
                        fine=method_fine,
                    ),
                    leaf(
                        "baseline-run",
                        "Running reproduce.sh trains and evaluates all three baselines "
                        "and prints their test RMSE.",
                        1,
                        category=ce,
                        fine=eval_fine,
                    ),
                ],
            ),
            _node(
                "rff",
                "Ridge on random Fourier features is implemented as in Section 2",
                4,
                [
                    leaf(
                        "rff-weights",
                        "W has shape (10, D) with entries drawn i.i.d. from a normal "
                        "distribution with variance 2*gamma (standard deviation sqrt(2*gamma)), "
                        "gamma=0.25.",
                        2,
                        category=cd,
                        fine=method_fine,
                    ),
                    leaf(
                        "rff-offsets",
                        "The offsets b are drawn uniformly from [0, 2*pi).",
                        1,
                        category=cd,
                        fine=method_fine,
                    ),
                    leaf(
                        "rff-map",
                        "The feature map is z(x) = sqrt(2/D) * cos(x W + b).",
                        2,
                        category=cd,
                        fine=method_fine,
                    ),
                    leaf(
                        "rff-shared",
                        "The same W and b transform both the training and the test inputs.",
                        1,
                        category=cd,
                        fine=method_fine,
                    ),
                    leaf(
                        "rff-ridge-fit",
                        "A ridge regression with alpha=0.01 and an intercept is fit on "
                        "the training features and evaluated on the test features.",
                        1,
                        category=cd,
                        fine=method_fine,
                    ),
                    leaf(
                        "rff-grid",
                        "The code runs D in {50, 200, 1000, 4000}, each with the seeds "
                        "0, 1, 2, 3, 4, and aggregates mean and standard deviation of the "
                        "test RMSE.",
                        1,
                        category=cd,
                        fine=setup_fine,
                    ),
                    leaf(
                        "rff-run",
                        "Running reproduce.sh completes RFF ridge for all four values of D "
                        "and all five seeds without errors.",
                        2,
                        category=ce,
                        fine=setup_fine,
                    ),
                    leaf(
                        "rff-results-file",
                        "Running reproduce.sh writes results.json with the test "
                        "RMSE of every model in Table 1.",
                        1,
                        category=ce,
                        fine=log_fine,
                    ),
                ],
            ),
            _node(
                "results",
                "The reproduced numbers support the paper's findings",
                4,
                [
                    leaf(
                        "result-ridge",
                        "The reproduced linear ridge test RMSE is 2.64 within 0.1.",
                        1,
                        category=ra,
                        fine=eval_fine,
                    ),
                    leaf(
                        "result-krr",
                        "The reproduced exact kernel ridge test RMSE is 1.25 within 0.05.",
                        1,
                        category=ra,
                        fine=eval_fine,
                    ),
                    leaf(
                        "result-monotone",
                        "The reproduced mean RFF test RMSE decreases monotonically "
                        "as D grows from 50 to 4000.",
                        2,
                        category=ra,
                        fine=eval_fine,
                    ),
                    leaf(
                        "result-half",
                        "At D=1000 the reproduced mean RFF test RMSE is at most 55% of "
                        "the reproduced linear ridge test RMSE.",
                        2,
                        category=ra,
                        fine=eval_fine,
                    ),
                    leaf(
                        "result-close-to-krr",
                        "At D=4000 the reproduced mean RFF test RMSE is within "
                        "5% of the reproduced exact kernel ridge test RMSE.",
                        2,
                        category=ra,
                        fine=eval_fine,
                    ),
                ],
            ),
        ],
    )
    path = BUNDLED / "rff-ridge" / "rubric.json"
    path.write_text(json.dumps(rubric, indent=2) + "\n")


MAKERS = {
    "tabular-cancer": make_tabular_cancer,
    "friedman-regression": make_friedman_regression,
    "interaction-classification": make_interaction_classification,
    "rff-ridge": make_rff_ridge_rubric,
}


def main() -> None:
    # The tasks with headroom live beside this script; they import its helpers.
    from bundled_headroom_tasks import MAKERS as HEADROOM
    from bundled_references import check_baseline

    MAKERS.update(HEADROOM)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="tasks to generate (default: all)")
    parser.add_argument(
        "--check-baseline",
        action="store_true",
        help="then run aiscientist's baseline_program on each improve task and print its grade",
    )
    args = parser.parse_args()
    for name in args.names or list(MAKERS):
        MAKERS[name]()
        print(f"wrote {BUNDLED / name}")
        if args.check_baseline and name != "rff-ridge":
            check_baseline(name)


if __name__ == "__main__":
    main()
