"""Reference models and leaderboard lines for the bundled tasks with headroom.

Each task is scored offline on its hidden test set by:

- **default** references: sklearn models on the raw columns with default settings (constant
  or prior, scaled linear/logistic model, RandomForest, HistGradientBoosting = the model of
  ``aiscientist.agents.baseline``), categorical columns as integer codes;
- **strong** references: a model on engineered features (the ratios, periodic terms,
  interactions or group statistics the description hints at), or augmentation for digits.

With ``Δ`` = |strong - best default|, the leaderboard's best score is the strong reference,
bronze sits at best default + Δ/2, the median at best default - Δ (so the best default model
is above the median but far from a medal), and the worst at the constant predictor. The
generator checks the lines it drew and refuses a leaderboard whose bronze a default model
reaches.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from make_bundled_tasks import _leaderboard
from sklearn.ensemble import (
    HistGradientBoostingClassifier,
    HistGradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from aiscientist.agents.baseline import baseline_program
from aiscientist.grading.competition import grade_competition
from aiscientist.grading.medals import thresholds
from aiscientist.tasks import load_task
from aiscientist.tasks.metrics import get_metric

Fit = Callable[[pd.DataFrame, np.ndarray, pd.DataFrame], np.ndarray]
"""(train features, train labels, test features) -> predictions in the metric's shape."""


@dataclass(frozen=True)
class Reference:
    name: str
    fit: Fit
    default: bool
    """A default model on raw columns: the bronze line must lie beyond its score."""


def _codes(train: pd.DataFrame, test: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Categorical columns as integer codes over train and test, as the baseline encodes."""
    both = pd.concat([train, test])
    for c in both.columns:
        if not pd.api.types.is_numeric_dtype(both[c]):
            both[c] = both[c].astype("category").cat.codes.astype(float)
    return both.iloc[: len(train)], both.iloc[len(train) :]


def model(make: Callable[[], object], out: str, engineer: Callable | None = None) -> Fit:
    """A reference: ``make()`` fit on (engineered) coded features; ``out`` picks the output."""

    def fit(train: pd.DataFrame, y: np.ndarray, test: pd.DataFrame) -> np.ndarray:
        if engineer is not None:
            train, test = engineer(train), engineer(test)
        x_tr, x_te = _codes(train, test)
        model = make()
        model.fit(x_tr, y)  # type: ignore[attr-defined]
        if out == "proba1":
            return model.predict_proba(x_te)[:, 1]  # type: ignore[attr-defined]
        if out == "proba":
            return model.predict_proba(x_te)  # type: ignore[attr-defined]
        return np.asarray(model.predict(x_te))  # type: ignore[attr-defined]

    return fit


def constant(out: str) -> Fit:
    def fit(train: pd.DataFrame, y: np.ndarray, test: pd.DataFrame) -> np.ndarray:
        n = len(test)
        if out == "proba":
            prior = np.bincount(y) / len(y)
            return np.tile(prior, (n, 1))
        if out == "label":
            return np.full(n, np.bincount(y).argmax())
        if out == "median":
            return np.full(n, float(np.median(y)))
        return np.full(n, float(np.mean(y)))

    return fit


def logistic() -> object:
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000))


def ridge() -> object:
    return make_pipeline(StandardScaler(), Ridge())


def rf_classifier() -> object:
    return RandomForestClassifier(n_estimators=200, n_jobs=2, random_state=0)


def rf_regressor() -> object:
    return RandomForestRegressor(n_estimators=200, n_jobs=2, random_state=0)


def defaults(kind: str) -> list[Reference]:
    """Constant, linear, RandomForest and the baseline's HistGradientBoosting."""
    if kind == "regression":
        return [
            Reference("mean", constant("mean"), False),
            Reference("ridge", model(ridge, "value"), True),
            Reference("random-forest", model(rf_regressor, "value"), True),
            Reference("baseline", model(lambda: HistGradientBoostingRegressor(), "value"), True),
        ]
    out = {"binary": "proba1", "multi": "proba", "labels": "label"}[kind]
    return [
        Reference("constant", constant("mean" if kind == "binary" else out), False),
        Reference("logistic", model(logistic, out), True),
        Reference("random-forest", model(rf_classifier, out), True),
        Reference("baseline", model(lambda: HistGradientBoostingClassifier(), out), True),
    ]


def place_lines(
    name: str,
    metric: str,
    references: list[Reference],
    train: pd.DataFrame,
    y_train: np.ndarray,
    test: pd.DataFrame,
    y_test: np.ndarray,
    n_teams: int,
    seed: int,
    quantum: float | None = None,
) -> pd.DataFrame:
    """Score every reference on the hidden test set and draw a leaderboard from them."""
    m = get_metric(metric)
    scores = {r.name: m(y_test, r.fit(train, y_train, test)) for r in references}
    sign = -1.0 if m.lower_is_better else 1.0  # multiply to make "better" larger
    default = max((scores[r.name] for r in references if r.default), key=lambda s: sign * s)
    strong = max((scores[r.name] for r in references if not r.default), key=lambda s: sign * s)
    worst = min(scores.values(), key=lambda s: sign * s)
    delta = sign * (strong - default)
    if delta <= 0:
        raise RuntimeError(f"{name}: no headroom: strong {strong:.4f}, default {default:.4f}")
    best, bronze_at, median = strong, default + sign * delta / 2, default - sign * delta
    if sign * (median - worst) <= 0:
        raise RuntimeError(f"{name}: median {median:.4f} is not better than worst {worst:.4f}")
    # top half of the board is best + (median - best) * lo**power, lo = 2u for the u-th
    # fraction from the top; choose power so the 100th team (bronze, 250-999 teams) is there.
    if not 250 <= n_teams < 1000:
        raise ValueError("n_teams must be in 250-999, where bronze is the 100th team")
    lo = 2 * 100 / (n_teams + 1)
    power = math.log((bronze_at - best) / (median - best)) / math.log(lo)
    board = _leaderboard(
        np.random.default_rng(seed),
        n_teams,
        best,
        median,
        worst,
        m.lower_is_better,
        quantum=quantum,
        top_power=power,
    )
    gold, silver, bronze, med = thresholds(board["score"].tolist(), m.lower_is_better)
    reached = [k for k, r in ((r.name, r) for r in references) if r.default]
    reached = [k for k in reached if sign * scores[k] >= sign * bronze]
    if reached:
        raise RuntimeError(f"{name}: default models {reached} reach bronze {bronze:.4f}")
    shown = ", ".join(f"{k} {v:.4f}" for k, v in scores.items())
    print(f"{name} ({metric}, {len(train)}+{len(test)} rows): {shown}")
    print(f"  lines: gold {gold:.4f} silver {silver:.4f} bronze {bronze:.4f} median {med:.4f}")
    return board


def check_baseline(name: str) -> None:
    """Run ``baseline_program`` on the written task and print its grade (the table above)."""
    task = load_task(name)
    with tempfile.TemporaryDirectory() as work:
        (Path(work) / "train.py").write_text(baseline_program(task.metric))
        env = {**os.environ, "TASK_DIR": str(task.root), "SEED": "0", "OMP_NUM_THREADS": "1"}
        subprocess.run([sys.executable, "train.py"], cwd=work, env=env, check=True)
        grade = grade_competition(task, Path(work) / "submission.csv")
    print(
        f"  baseline_program: {grade.score:.4f} (medal {grade.medal}, bronze "
        f"{grade.bronze_threshold:.4f}, above median {grade.above_median})"
    )
    if grade.medal is not None:
        raise RuntimeError(f"{name}: the default baseline earns {grade.medal}")
